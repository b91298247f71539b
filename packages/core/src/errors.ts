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
] as const;
export type ErrorKind = (typeof ERROR_KINDS)[number];

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

export class PromptopsError extends Error {
  /** `instanceof PromptopsError` holds across copies of core; subclasses keep the ordinary check. */
  static override [Symbol.hasInstance](value: unknown): boolean {
    if (this !== PromptopsError) return Function.prototype[Symbol.hasInstance].call(this, value);
    return typeof value === 'object' && value !== null && (value as { [BRAND]?: unknown })[BRAND] === true;
  }

  readonly [BRAND] = true;
  readonly code: string;
  readonly kind: ErrorKind;
  readonly details: Readonly<Record<string, unknown>> | undefined;
  readonly issues: readonly FieldIssue[] | undefined;
  readonly fix: string | undefined;

  constructor(kind: ErrorKind, code: string, message: string, options: ErrorOptions = {}) {
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
