import type { CheckedCode, KindOfCode } from './error-catalogue.js';

/**
 * Errors as data. Every failure the domain can report has a stable `code`, a `kind` that the HTTP
 * edge maps to a status, a message that names the value and the fix, and optional structured details.
 */
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

export interface FieldIssue {
  /** JSON-pointer-like path, e.g. `messages[0].content` or `variables.user_name.type`. */
  readonly path: string;
  readonly message: string;
}

export interface ErrorOptions {
  readonly details?: Readonly<Record<string, unknown>>;
  readonly issues?: readonly FieldIssue[];
  readonly fix?: string;
}

/** Marks every PromptopsError, whichever copy of core made it (the CLI's bundle holds its own copy). */
const BRAND = Symbol.for('promptops.error');

/**
 * `C` is inferred from the code argument: a code literal must be catalogued, and the kind given beside
 * it must be the catalogue's (both compile errors otherwise); a code known only at run time passes.
 */
export class PromptopsError<C extends string = string> extends Error {
  /** `instanceof PromptopsError` holds across copies of core; subclasses keep the ordinary check. */
  static override [Symbol.hasInstance](value: unknown): boolean {
    if (this !== PromptopsError) return Function.prototype[Symbol.hasInstance].call(this, value);
    return typeof value === 'object' && value !== null && (value as { [BRAND]?: unknown })[BRAND] === true;
  }

  readonly [BRAND] = true;
  readonly code: C;
  readonly kind: ErrorKind;
  readonly details: Readonly<Record<string, unknown>> | undefined;
  readonly issues: readonly FieldIssue[] | undefined;
  readonly fix: string | undefined;

  constructor(kind: KindOfCode<C>, code: C & CheckedCode<C>, message: string, options: ErrorOptions = {}) {
    super(message);
    this.name = 'PromptopsError';
    this.kind = kind;
    this.code = code;
    this.details = options.details;
    this.issues = options.issues;
    this.fix = options.fix;
  }

  toJSON(): Record<string, unknown> {
    return {
      code: this.code,
      message: this.message,
      ...(this.fix === undefined ? {} : { fix: this.fix }),
      ...(this.issues === undefined ? {} : { issues: this.issues }),
      ...(this.details === undefined ? {} : { details: this.details }),
    };
  }
}

export const isPromptopsError = (value: unknown): value is PromptopsError => value instanceof PromptopsError;

/** Formats field issues as one readable block, one issue per line. */
export const formatIssues = (issues: readonly FieldIssue[]): string =>
  issues.map((issue) => `  - ${issue.path || '(root)'}: ${issue.message}`).join('\n');
