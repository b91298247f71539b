import { ERROR_KINDS, PromptopsError, type ErrorKind } from '@promptops/core/errors';

/** Everything the client reports goes out as a PromptopsError, so apps can switch on `code`. */
export const toPromptopsError = (error: unknown, code = 'internal', context?: string): PromptopsError => {
  if (error instanceof PromptopsError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new PromptopsError('internal', code, context === undefined ? message : `${context}: ${message}`);
};

const KIND_BY_STATUS: Readonly<Record<number, ErrorKind>> = {
  400: 'invalid',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  409: 'conflict',
  413: 'too_large',
  422: 'unprocessable',
};

export const kindForStatus = (status: number): ErrorKind => KIND_BY_STATUS[status] ?? 'internal';

interface ErrorBody {
  readonly error?: {
    readonly code?: unknown;
    readonly message?: unknown;
    readonly fix?: unknown;
    readonly kind?: unknown;
  };
}

/** The server's `{ error: { code, message, fix } }` as a PromptopsError; anything else by status. */
export const httpError = (status: number, text: string, what: string): PromptopsError => {
  let body: ErrorBody | undefined;
  try {
    body = JSON.parse(text) as ErrorBody;
  } catch {
    body = undefined;
  }
  const error = body?.error;
  const code = typeof error?.code === 'string' ? error.code : `http_${status}`;
  const message = typeof error?.message === 'string' ? error.message : text.slice(0, 200) || `HTTP ${status}`;
  const kind =
    typeof error?.kind === 'string' && (ERROR_KINDS as readonly string[]).includes(error.kind)
      ? (error.kind as ErrorKind)
      : kindForStatus(status);
  return new PromptopsError(kind, code, `${what}: ${message}`, {
    details: { status },
    ...(typeof error?.fix === 'string' ? { fix: error.fix } : {}),
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
