import { PromptopsError, type ErrorOptions } from '@promptops/core';

/**
 * A request refused by a rate limit: the auth hook answers it 429 with `Retry-After` (seconds) and the
 * usual error body, `details.retryAfterSeconds` included.
 */
export class RateLimitedError extends PromptopsError {
  constructor(
    code: string,
    message: string,
    readonly retryAfterSeconds: number,
    options: ErrorOptions = {},
  ) {
    super('rate_limited', code, message, {
      ...options,
      details: { retryAfterSeconds, ...options.details },
    });
    this.name = 'RateLimitedError';
  }
}
