/**
 * A bounded concurrency gate for ingestion: at most `maxActive` requests are processed at once and at
 * most `maxQueued` wait (with their bodies read); anything beyond is refused at once, so the caller
 * answers 429 with Retry-After instead of letting every request, prompt resolution included, slow down
 * behind an unbounded backlog. A waiter whose signal aborts (its client went away) leaves the queue, so
 * no slot is ever held for a request nobody will release.
 */
export class ConcurrencyGate {
  #active = 0;
  readonly #waiting: (() => void)[] = [];

  constructor(
    readonly maxActive: number,
    readonly maxQueued: number,
  ) {
    if (maxActive < 1 || maxQueued < 0) throw new Error('a gate needs maxActive >= 1 and maxQueued >= 0');
  }

  get active(): number {
    return this.#active;
  }

  get queued(): number {
    return this.#waiting.length;
  }

  /**
   * A promise of the release function, or undefined when the gate is full (refuse the request). The
   * promise rejects with the signal's reason if the signal aborts first; the waiter then holds nothing.
   */
  tryAcquire(signal?: AbortSignal): Promise<() => void> | undefined {
    if (signal?.aborted === true) return Promise.reject(signal.reason as Error);
    if (this.#active < this.maxActive) {
      this.#active += 1;
      return Promise.resolve(this.#releaser());
    }
    if (this.#waiting.length >= this.maxQueued) return undefined;
    return new Promise((resolve, reject) => {
      const onAbort = (): void => {
        const index = this.#waiting.indexOf(grant);
        if (index !== -1) this.#waiting.splice(index, 1);
        reject(signal!.reason as Error);
      };
      const grant = (): void => {
        signal?.removeEventListener('abort', onAbort);
        resolve(this.#releaser());
      };
      this.#waiting.push(grant);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  #releaser(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.#waiting.shift();
      // The slot passes straight to the next waiter; otherwise it frees up.
      if (next !== undefined) next();
      else this.#active -= 1;
    };
  }
}

/**
 * Ingest bodies being read at once, per API key and in all. Bodies are read before the gate admits a
 * request, so slow senders hold only these slots: a key that trickles many bodies is refused its own
 * further reads, while other keys (and other projects) keep ingesting. The total bounds memory.
 */
export class BodyReadLimit {
  #total = 0;
  readonly #byKey = new Map<string, number>();

  constructor(
    readonly maxPerKey: number,
    readonly maxTotal: number,
  ) {
    if (maxPerKey < 1 || maxTotal < 1) throw new Error('body read limits must be at least 1');
  }

  get reading(): number {
    return this.#total;
  }

  /** A release function (idempotent), or undefined when the key or the process is at its limit. */
  tryAcquire(key: string): (() => void) | undefined {
    const held = this.#byKey.get(key) ?? 0;
    if (held >= this.maxPerKey || this.#total >= this.maxTotal) return undefined;
    this.#byKey.set(key, held + 1);
    this.#total += 1;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#total -= 1;
      const left = (this.#byKey.get(key) ?? 1) - 1;
      if (left === 0) this.#byKey.delete(key);
      else this.#byKey.set(key, left);
    };
  }
}
