import type { CheckedCode, KindOfCode } from './error-catalogue.js';
import type { ErrorKind } from './error-kinds.js';

/**
 * Errors as data. Every failure the domain can report has a stable `code`, a `kind` that the HTTP
 * edge maps to a status, a message that names the value and the fix, and optional structured details.
 */
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
