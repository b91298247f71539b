/**
 * One JSON POST to a model API with a timeout, retries on 429 and 5xx (and on network errors and
 * timeouts) with exponential backoff and full jitter, honoring `Retry-After`. Secrets never reach an
 * error message: every text that leaves this module has the given secrets replaced by `[redacted]`.
 */

import { clipWords, flatten } from '@promptops/core';

export interface RetryPolicy {
  /** Per attempt. */
  readonly timeoutMs: number;
  /** Retries after the first attempt. */
  readonly maxRetries: number;
  /** Backoff before retry n (0-based) is uniform in [0, min(maxDelayMs, baseDelayMs * 2^n)] (full jitter). */
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
  /** The longest `Retry-After` honored; a longer one fails the call instead of stalling the run. */
  readonly maxRetryAfterMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  timeoutMs: 60_000,
  maxRetries: 4,
  baseDelayMs: 500,
  maxDelayMs: 20_000,
  maxRetryAfterMs: 60_000,
};

export interface HttpDeps {
  readonly fetch: typeof globalThis.fetch;
  readonly sleep: (ms: number) => Promise<void>;
  readonly random: () => number;
}

export const defaultHttpDeps = (): HttpDeps => ({
  fetch: globalThis.fetch,
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  random: Math.random,
});

export class ProviderError extends Error {
  /** HTTP status of the last attempt, or null (network error, timeout, malformed body). */
  readonly status: number | null;
  readonly attempts: number;
  constructor(message: string, status: number | null, attempts: number) {
    super(message);
    this.name = 'ProviderError';
    this.status = status;
    this.attempts = attempts;
  }
}

export const redact = (text: string, secrets: readonly string[]): string =>
  secrets.reduce((out, secret) => (secret.length >= 4 ? out.split(secret).join('[redacted]') : out), text);

/** `Retry-After`: delay-seconds or an HTTP date; null when absent or unreadable. */
export const retryAfterMs = (header: string | null, now = Date.now()): number | null => {
  if (header === null || header.trim() === '') return null;
  const seconds = Number(header);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const at = Date.parse(header);
  return Number.isNaN(at) ? null : Math.max(0, at - now);
};

export const backoffMs = (attempt: number, policy: RetryPolicy, random: () => number): number =>
  random() * Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** attempt);

/** The start of an error body for a message, cut between words. */
const snippet = (text: string): string => clipWords(flatten(text), 200);

export interface PostJsonRequest {
  /** Shown in errors, e.g. "openai chat completions at http://localhost:8000/v1". */
  readonly what: string;
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: unknown;
  readonly secrets: readonly string[];
  readonly signal?: AbortSignal | undefined;
}

const retryable = (status: number): boolean => status === 429 || status >= 500;

/** POSTs JSON and returns the parsed JSON body of the first 2xx answer. */
export const postJson = async (request: PostJsonRequest, policy: RetryPolicy, deps: HttpDeps): Promise<unknown> => {
  const fail = (message: string, status: number | null, attempts: number): ProviderError =>
    new ProviderError(redact(`${request.what}: ${message}`, request.secrets), status, attempts);
  const body = JSON.stringify(request.body);
  let lastProblem = 'no attempt was made';
  let lastStatus: number | null = null;
  const cancelled = (): boolean => request.signal?.aborted === true;
  for (let attempt = 0; attempt <= policy.maxRetries; attempt += 1) {
    if (cancelled()) throw fail('cancelled', lastStatus, attempt);
    const timeout = AbortSignal.timeout(policy.timeoutMs);
    const signal = request.signal === undefined ? timeout : AbortSignal.any([request.signal, timeout]);
    let wait: number | null = null;
    try {
      const response = await deps.fetch(request.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...request.headers },
        body,
        signal,
      });
      const text = await response.text();
      if (response.ok) {
        try {
          return JSON.parse(text) as unknown;
        } catch {
          throw fail(
            `the answer is not JSON (HTTP ${response.status}): ${snippet(text)}`,
            response.status,
            attempt + 1,
          );
        }
      }
      lastStatus = response.status;
      lastProblem = `HTTP ${response.status}: ${snippet(text)}`;
      if (!retryable(response.status)) throw fail(lastProblem, response.status, attempt + 1);
      const after = retryAfterMs(response.headers.get('retry-after'));
      if (after !== null && after > policy.maxRetryAfterMs) {
        throw fail(
          `${lastProblem} (Retry-After ${Math.round(after / 1000)} s is longer than the ${policy.maxRetryAfterMs / 1000} s allowed)`,
          response.status,
          attempt + 1,
        );
      }
      wait = after;
    } catch (error) {
      if (error instanceof ProviderError) throw error;
      if (cancelled()) throw fail('cancelled', lastStatus, attempt + 1);
      lastStatus = null;
      lastProblem = timeout.aborted
        ? `no answer within ${policy.timeoutMs} ms`
        : `request failed: ${error instanceof Error ? (error.cause instanceof Error ? error.cause.message : error.message) : String(error)}`;
    }
    if (attempt < policy.maxRetries) await deps.sleep(wait ?? backoffMs(attempt, policy, deps.random));
  }
  throw fail(`${lastProblem} (after ${policy.maxRetries + 1} attempts)`, lastStatus, policy.maxRetries + 1);
};
