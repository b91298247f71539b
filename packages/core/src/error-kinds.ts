/** The kinds of error, and the one kind -> HTTP status table the server answers with and clients decode. */
export const ERROR_KINDS = [
  'invalid', // 400: the request or file is malformed
  'unauthorized', // 401
  'forbidden', // 403
  'not_found', // 404
  'conflict', // 409: the state moved under the caller (stale parent, ambiguous prefix, raced label)
  'unprocessable', // 422: well-formed but not allowed by the domain (e.g. rollback to a sha never held)
  'too_large', // 413
  'internal', // 500
  'timeout', // 408: the body did not arrive in time
  'unsupported_media_type', // 415
  'rate_limited', // 429, with Retry-After
  'unavailable', // 503, with Retry-After
] as const;
export type ErrorKind = (typeof ERROR_KINDS)[number];

/** The one kind -> HTTP status table: the server answers with it, clients decode with its inverse. */
export const STATUS_BY_KIND: Readonly<Record<ErrorKind, number>> = {
  invalid: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  timeout: 408,
  conflict: 409,
  too_large: 413,
  unsupported_media_type: 415,
  unprocessable: 422,
  rate_limited: 429,
  internal: 500,
  unavailable: 503,
};

/** Kinds whose answers carry `Retry-After` (seconds): the request may be sent again as it was, later. */
export const RETRY_AFTER_KINDS: ReadonlySet<ErrorKind> = new Set<ErrorKind>(['rate_limited', 'unavailable']);

const KIND_BY_STATUS: ReadonlyMap<number, ErrorKind> = new Map(
  Object.entries(STATUS_BY_KIND).map(([kind, status]) => [status, kind as ErrorKind]),
);

/** The kind of an HTTP error status; a status no kind has (e.g. a proxy's 502) is `internal`. */
export const kindForStatus = (status: number): ErrorKind => KIND_BY_STATUS.get(status) ?? 'internal';
