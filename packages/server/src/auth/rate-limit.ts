/**
 * Failed authentication attempts, counted per key id and per client address in fixed windows, in this
 * process's memory (each replica counts its own). A key id or address with `maxFailures` failures in
 * the current window is refused (429) until the window ends, successes included: an attacker cannot
 * learn from a blocked address whether a guess was right. Successful requests add nothing, and other
 * key ids and addresses are unaffected.
 */
export interface AuthRateLimitOptions {
  /** Failures per client address per window (default 20). */
  readonly maxFailuresPerAddress?: number;
  /** Failures per key id per window (default 10). */
  readonly maxFailuresPerKey?: number;
  /** Window length (default 60 s). */
  readonly windowMs?: number;
  /** Most tracked key ids plus addresses (default 100,000); the oldest windows are dropped first. */
  readonly maxEntries?: number;
}

interface Window {
  start: number;
  failures: number;
}

export class AuthFailureLimiter {
  readonly #windows = new Map<string, Window>();
  readonly #perAddress: number;
  readonly #perKey: number;
  readonly #windowMs: number;
  readonly #maxEntries: number;

  constructor(options: AuthRateLimitOptions = {}) {
    this.#perAddress = options.maxFailuresPerAddress ?? 20;
    this.#perKey = options.maxFailuresPerKey ?? 10;
    this.#windowMs = options.windowMs ?? 60_000;
    this.#maxEntries = options.maxEntries ?? 100_000;
  }

  /** Seconds until the caller may try again, or 0 when neither the key id nor the address is blocked. */
  retryAfterSeconds(keyId: string | null, address: string, now: number): number {
    // The common case, checked on every request: nobody has failed lately.
    if (this.#windows.size === 0) return 0;
    const byAddress = this.#blockedFor(`a:${address}`, this.#perAddress, now);
    const byKey = keyId === null ? 0 : this.#blockedFor(`k:${keyId}`, this.#perKey, now);
    return Math.max(byAddress, byKey);
  }

  recordFailure(keyId: string | null, address: string, now: number): void {
    this.#count(`a:${address}`, now);
    if (keyId !== null) this.#count(`k:${keyId}`, now);
  }

  #blockedFor(id: string, max: number, now: number): number {
    const window = this.#windows.get(id);
    if (window === undefined || window.failures < max) return 0;
    const left = window.start + this.#windowMs - now;
    return left > 0 ? Math.ceil(left / 1000) : 0;
  }

  #count(id: string, now: number): void {
    const window = this.#windows.get(id);
    if (window !== undefined && now - window.start < this.#windowMs) {
      window.failures += 1;
      return;
    }
    this.#windows.delete(id);
    if (this.#windows.size >= this.#maxEntries) this.#prune(now);
    this.#windows.set(id, { start: now, failures: 1 });
  }

  /** Drops ended windows; if none ended, the oldest (insertion order is window start order). */
  #prune(now: number): void {
    for (const [id, window] of this.#windows) {
      if (now - window.start >= this.#windowMs) this.#windows.delete(id);
    }
    while (this.#windows.size >= this.#maxEntries) this.#windows.delete(this.#windows.keys().next().value as string);
  }
}
