import { ERROR_KINDS, PromptopsError, type ErrorKind } from '@promptops/core';

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
