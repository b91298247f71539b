/**
 * A bounded concurrency gate for ingestion: at most `maxActive` requests are processed at once and at
 * most `maxQueued` wait (before their bodies are read); anything beyond is refused at once, so the
 * caller answers 429 with Retry-After instead of letting every request, prompt resolution included,
 * slow down behind an unbounded backlog.
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

  /** A promise of the release function, or undefined when the gate is full (refuse the request). */
  tryAcquire(): Promise<() => void> | undefined {
    if (this.#active < this.maxActive) {
      this.#active += 1;
      return Promise.resolve(this.#releaser());
    }
    if (this.#waiting.length >= this.maxQueued) return undefined;
    return new Promise((resolve) => this.#waiting.push(() => resolve(this.#releaser())));
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
