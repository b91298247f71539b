import { PromptopsError, type ErrorOptions, type FieldIssue } from './error-base.js';
import { ERROR_KINDS, kindForStatus, type ErrorKind } from './error-kinds.js';
import type { CheckedCode, ErrorCode, KindOfCode } from './error-catalogue.js';

/**
 * Errors from an HTTP answer: every client (CLI, SDK, dashboard) decodes the server's
 * `{ error: { code, message, fix, issues, details } }`, its status and `Retry-After` here, alike.
 */

export interface ApiErrorOptions extends ErrorOptions {
  /** Default: the status's kind. */
  readonly kind?: ErrorKind | undefined;
  /** `Retry-After` in seconds, when the answer carried one. */
  readonly retryAfterSeconds?: number | undefined;
}

/** An error the server answered, with its HTTP status and, for a 429 or 503, when to try again. */
export class ApiError<C extends string = string> extends PromptopsError<C> {
  readonly status: number;
  readonly retryAfterSeconds: number | undefined;

  constructor(status: number, code: C & CheckedCode<C>, message: string, options: ApiErrorOptions = {}) {
    // The kind follows the answer's status, whatever the catalogue says of the code.
    super((options.kind ?? kindForStatus(status)) as KindOfCode<C>, code, message, options);
    this.name = 'ApiError';
    this.status = status;
    this.retryAfterSeconds = options.retryAfterSeconds;
  }
}

/** `Retry-After`: delay-seconds or an HTTP date, as whole seconds from `nowMs`; undefined when absent or unreadable. */
export const parseRetryAfter = (header: string | null | undefined, nowMs = Date.now()): number | undefined => {
  const text = header?.trim() ?? '';
  if (text === '') return undefined;
  if (/^\d+$/.test(text)) return Number(text);
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.max(0, Math.ceil((at - nowMs) / 1000));
};

export interface HttpErrorAnswer {
  readonly status: number;
  /** The body as received: its text, or its JSON already parsed (undefined when there was none). */
  readonly body: unknown;
  /** The `Retry-After` header as received. */
  readonly retryAfter?: string | null | undefined;
}

export interface HttpErrorContext {
  /** Prefixed to the message, e.g. `GET /api/v1/snapshot` gives `GET /api/v1/snapshot: <message>`. */
  readonly what?: string | undefined;
  /** The code when the body is no promptops error (e.g. a proxy's page). Default: `http_<status>`. */
  readonly fallbackCode?: ErrorCode | undefined;
  /** The message then. Default: the body's first 200 characters, else `HTTP <status>`. */
  readonly fallbackMessage?: string | undefined;
  /** The fix then. Default: none. */
  readonly fallbackFix?: string | undefined;
  /** For an HTTP-date `Retry-After`. */
  readonly nowMs?: number | undefined;
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const parsed = (body: unknown): unknown => {
  if (typeof body !== 'string') return body;
  try {
    return JSON.parse(body) as unknown;
  } catch {
    return undefined;
  }
};

const issuesOf = (value: unknown): FieldIssue[] | undefined =>
  Array.isArray(value)
    ? value.filter(isRecord).map((issue) => ({ path: String(issue.path ?? ''), message: String(issue.message ?? '') }))
    : undefined;

/**
 * The error an HTTP answer reports, as an `ApiError`: the server's code, message, fix, issues and
 * details when the body is a promptops error, else the context's fallbacks; the kind follows the status
 * (a body's own valid `kind` wins); `retryAfterSeconds` comes from the `Retry-After` header.
 */
export const errorFromHttpAnswer = (answer: HttpErrorAnswer, context: HttpErrorContext = {}): ApiError => {
  const { status } = answer;
  const data = parsed(answer.body);
  const body = isRecord(data) && isRecord(data.error) ? data.error : undefined;
  const retryAfterSeconds = parseRetryAfter(answer.retryAfter, context.nowMs);
  const prefix = context.what === undefined ? '' : `${context.what}: `;
  const common = retryAfterSeconds === undefined ? {} : { retryAfterSeconds };
  if (body === undefined || typeof body.code !== 'string') {
    const text = typeof answer.body === 'string' ? answer.body.trim().slice(0, 200) : '';
    const fix = context.fallbackFix;
    return new ApiError(
      status,
      context.fallbackCode ?? `http_${status}`,
      `${prefix}${context.fallbackMessage ?? (text === '' ? `HTTP ${status}` : text)}`,
      { ...common, ...(fix === undefined ? {} : { fix }) },
    );
  }
  const kind =
    typeof body.kind === 'string' && (ERROR_KINDS as readonly string[]).includes(body.kind)
      ? (body.kind as ErrorKind)
      : undefined;
  const issues = issuesOf(body.issues);
  return new ApiError(
    status,
    body.code,
    `${prefix}${typeof body.message === 'string' ? body.message : `HTTP ${status}`}`,
    {
      ...common,
      ...(kind === undefined ? {} : { kind }),
      ...(typeof body.fix === 'string' ? { fix: body.fix } : {}),
      ...(issues === undefined ? {} : { issues }),
      ...(isRecord(body.details) ? { details: body.details } : {}),
    },
  );
};
