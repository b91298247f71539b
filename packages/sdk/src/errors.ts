import { PromptopsError, errorFromHttpAnswer } from '@promptops/core/errors';

/** Everything the client reports goes out as a PromptopsError, so apps can switch on `code`. */
export const toPromptopsError = (error: unknown, code = 'internal', context?: string): PromptopsError => {
  if (error instanceof PromptopsError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new PromptopsError('internal', code, context === undefined ? message : `${context}: ${message}`);
};

/**
 * The server's `{ error: { code, message, fix } }` as a PromptopsError with `details.status` (core decodes
 * it, as for the CLI and the dashboard); anything else as `http_<status>`.
 */
export const httpError = (status: number, text: string, what: string): PromptopsError => {
  const error = errorFromHttpAnswer({ status, body: text }, { what });
  return new PromptopsError(error.kind, error.code, error.message, {
    details: { status },
    ...(error.fix === undefined ? {} : { fix: error.fix }),
  });
};

/** What the client knows of the registry when a prompt cannot be served: set until a snapshot came from it. */
export interface RegistryOutage {
  readonly url: string;
  /** The last problem the client reported (usually why the snapshot could not be fetched). */
  readonly problem: PromptopsError | null;
}

const UNREACHABLE = new Set(['server_unreachable', 'server_timeout']);

/**
 * A prompt neither the registry nor the fallback can serve, while the registry has not been reached: the
 * cause is the outage plus what the fallback lacks, not a label nobody promoted.
 */
export const notServedWhileOffline = (
  outage: RegistryOutage,
  request: { readonly what: string; readonly name: string; readonly label: string; readonly ref: string | undefined },
  miss: string,
  details: Readonly<Record<string, unknown>>,
): PromptopsError => {
  const problem = outage.problem;
  const server =
    problem === null
      ? `the server ${outage.url} has not answered yet`
      : UNREACHABLE.has(problem.code)
        ? `the server ${outage.url} could not be reached (${problem.message})`
        : `the server ${outage.url} could not be used (${problem.message})`;
  const pin =
    request.ref === undefined
      ? `\`promptops lock --embed --label ${request.label}\` once it has a '${request.label}' version`
      : `\`promptops lock --embed\` while its label serves ${request.name}@${request.ref}`;
  return new PromptopsError(
    'not_found',
    'prompt_not_found',
    `prompt ${request.what} not found: ${server}, and ${miss}`,
    {
      fix: `make the server reachable (check the client's url, e.g. PROMPTOPS_URL, and its key), or ship a lockfile that holds '${request.name}': ${pin}`,
      details: { ...details, server: outage.url, cause: problem?.code ?? null },
    },
  );
};
