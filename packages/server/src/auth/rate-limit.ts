import { FixedWindows, positiveInteger } from './windows.js';

/**
 * Failed authentication attempts, counted per client address and per key id in fixed windows, in this
 * process's memory (each replica counts its own). An address or key id with its maximum of failures in
 * the current window is blocked until the window ends. A block never refuses a valid key (behind a proxy
 * or NAT one client's failures must not lock out the others): the authenticator answers a blocked
 * address's requests without a usable key, and its failing keys, 429; a failing key only after
 * `failureDelayMs`, which is what slows guessing from one address. A blocked key id is refused without a
 * lookup (it counts only keys that matched nothing, so no valid key can be blocked).
 */
export interface AuthRateLimitOptions {
  /** Failures per client address per window (default 20). */
  readonly maxFailuresPerAddress?: number;
  /** Failures per key id per window (default 10). */
  readonly maxFailuresPerKey?: number;
  /** Window length (default 60 s). */
  readonly windowMs?: number;
  /** How long a failing key from a blocked address waits for its 429 (default windowMs / maxFailuresPerAddress). */
  readonly failureDelayMs?: number;
  /** Most tracked key ids plus addresses (default 100,000); the oldest windows are dropped first. */
  readonly maxEntries?: number;
}

export class AuthFailureLimiter {
  readonly #windows: FixedWindows;
  readonly #perAddress: number;
  readonly #perKey: number;
  readonly failureDelayMs: number;

  constructor(options: AuthRateLimitOptions = {}) {
    this.#perAddress = positiveInteger('maxFailuresPerAddress', options.maxFailuresPerAddress ?? 20);
    this.#perKey = positiveInteger('maxFailuresPerKey', options.maxFailuresPerKey ?? 10);
    const windowMs = positiveInteger('windowMs', options.windowMs ?? 60_000);
    this.#windows = new FixedWindows(windowMs, positiveInteger('maxEntries', options.maxEntries ?? 100_000));
    const delay = options.failureDelayMs ?? Math.ceil(windowMs / this.#perAddress);
    if (!Number.isSafeInteger(delay) || delay < 0) throw new RangeError('failureDelayMs must be an integer >= 0');
    this.failureDelayMs = delay;
  }

  /** Seconds until the address may fail again, or 0 when it is not blocked. */
  addressBlockedFor(address: string, now: number): number {
    return this.#blockedFor(`a:${address}`, this.#perAddress, now);
  }

  /** Seconds until the key id may be tried again, or 0 when it is not blocked. */
  keyBlockedFor(keyId: string | null, now: number): number {
    return keyId === null ? 0 : this.#blockedFor(`k:${keyId}`, this.#perKey, now);
  }

  /** Seconds until neither the key id nor the address is blocked. */
  retryAfterSeconds(keyId: string | null, address: string, now: number): number {
    return Math.max(this.addressBlockedFor(address, now), this.keyBlockedFor(keyId, now));
  }

  /** Counts a failure for the address, and for the key id when one is given (a key that matched nothing). */
  recordFailure(keyId: string | null, address: string, now: number): void {
    this.#windows.add(`a:${address}`, now);
    if (keyId !== null) this.#windows.add(`k:${keyId}`, now);
  }

  #blockedFor(id: string, max: number, now: number): number {
    // The common case, checked on every request: nobody has failed lately.
    if (this.#windows.size === 0 || this.#windows.count(id, now) < max) return 0;
    return this.#windows.secondsLeft(id, now);
  }
}
