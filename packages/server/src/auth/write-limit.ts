import { PromptopsError } from '@promptops/core';
import type { Permission } from './permissions.js';
import { RateLimitedError } from './rate-limited.js';
import { FixedWindows, positiveInteger } from './windows.js';

/**
 * Writes per API key in fixed windows, in this process's memory: each replica counts its own, so behind a
 * load balancer over N replicas a key may make up to N times the limit. Writes are every method but
 * GET/HEAD/OPTIONS on a guarded route, except trace ingestion and scores (`traces:write`), which have
 * their own gate and come from production traffic, and gateway calls (`gateway:call`), which change nothing.
 */
export interface WriteRateLimitOptions {
  /** Writes per key per window (default 1,200). */
  readonly maxWrites?: number;
  /** Window length (default 60 s). */
  readonly windowMs?: number;
  /** Most tracked keys (default 100,000); the oldest windows are dropped first. */
  readonly maxEntries?: number;
}

export const DEFAULT_WRITES_PER_MINUTE = 1200;

const READS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** Whether a request to a route with this permission counts as a write. */
export const isLimitedWrite = (method: string, permission: Permission | undefined): boolean =>
  !READS.has(method) &&
  permission !== undefined &&
  permission !== 'public' &&
  permission !== 'traces:write' &&
  permission !== 'gateway:call';

export class WriteRateLimitedError extends RateLimitedError {
  constructor(retryAfterSeconds: number, maxWrites: number, windowMs: number) {
    const windowSeconds = Math.ceil(windowMs / 1000);
    super(
      'too_many_writes',
      `too many writes with this key: at most ${maxWrites} per ${windowSeconds} s`,
      retryAfterSeconds,
      {
        fix: `wait ${retryAfterSeconds} s, then retry (reads are not limited; the server's --write-rate-limit sets the limit)`,
        details: { maxWrites, windowSeconds },
      },
    );
    this.name = 'WriteRateLimitedError';
  }
}

export class WriteRateLimiter {
  readonly #windows: FixedWindows;
  readonly #max: number;

  constructor(options: WriteRateLimitOptions = {}) {
    this.#max = positiveInteger('maxWrites', options.maxWrites ?? DEFAULT_WRITES_PER_MINUTE);
    this.#windows = new FixedWindows(
      positiveInteger('windowMs', options.windowMs ?? 60_000),
      positiveInteger('maxEntries', options.maxEntries ?? 100_000),
    );
  }

  /** Counts a write for the key and returns 0, or, past the limit, the seconds until its window ends. */
  take(keyId: string, now: number): number {
    if (this.#windows.count(keyId, now) >= this.#max) return this.#windows.secondsLeft(keyId, now);
    this.#windows.add(keyId, now);
    return 0;
  }

  /** The error for a refused write. */
  refusal(retryAfterSeconds: number): WriteRateLimitedError {
    return new WriteRateLimitedError(retryAfterSeconds, this.#max, this.#windows.windowMs);
  }
}

/** `--write-rate-limit` / `PROMPTOPS_WRITE_RATE_LIMIT`: writes per minute per key, 0 for no limit. */
export const parseWriteRateLimit = (text: string, source: string): number => {
  const value = text.trim();
  if (!/^[0-9]{1,9}$/.test(value)) {
    throw new PromptopsError(
      'invalid',
      'invalid_write_rate_limit',
      `${source} must be a whole number of writes per minute per key (got "${text}")`,
      { fix: `use e.g. ${DEFAULT_WRITES_PER_MINUTE} (the default), or 0 for no limit` },
    );
  }
  return Number(value);
};

/** The limiter options for a number of writes per minute per key; false for 0 (no limit). */
export const writesPerMinute = (perMinute: number): WriteRateLimitOptions | false =>
  perMinute === 0 ? false : { maxWrites: perMinute, windowMs: 60_000 };
