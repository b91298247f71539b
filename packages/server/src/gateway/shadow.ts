/**
 * Shadow calls (a shadow rollout's candidate run on a copy of a call) happen after the caller has its
 * answer, at most `concurrency` at once, with at most `queue` waiting; under more pressure a new one is
 * dropped and counted, never delayed into the callers' traffic.
 */

export interface ShadowStats {
  readonly running: number;
  readonly queued: number;
  readonly done: number;
  readonly dropped: number;
  readonly failed: number;
}

export class ShadowRunner {
  readonly #concurrency: number;
  readonly #maxQueued: number;
  readonly #queue: (() => Promise<void>)[] = [];
  readonly #idle = new Set<() => void>();
  #running = 0;
  #done = 0;
  #dropped = 0;
  #failed = 0;

  constructor(
    options: { concurrency?: number; queue?: number } = {},
    private readonly onError?: (error: unknown) => void,
  ) {
    this.#concurrency = options.concurrency ?? 4;
    this.#maxQueued = options.queue ?? 100;
  }

  get stats(): ShadowStats {
    return {
      running: this.#running,
      queued: this.#queue.length,
      done: this.#done,
      dropped: this.#dropped,
      failed: this.#failed,
    };
  }

  /** Runs `job` when a slot is free; false when it was dropped (every slot busy and the queue full). */
  submit(job: () => Promise<void>): boolean {
    if (this.#running < this.#concurrency) {
      this.#start(job);
      return true;
    }
    if (this.#queue.length >= this.#maxQueued) {
      this.#dropped += 1;
      return false;
    }
    this.#queue.push(job);
    return true;
  }

  /** Resolves when nothing runs or waits (shutdown; tests). */
  idle(): Promise<void> {
    if (this.#running === 0 && this.#queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.add(resolve));
  }

  #start(job: () => Promise<void>): void {
    this.#running += 1;
    // Never on the caller's path: the job starts on a later turn of the event loop.
    setImmediate(() => {
      job()
        .then(
          () => {
            this.#done += 1;
          },
          (error: unknown) => {
            this.#failed += 1;
            this.onError?.(error);
          },
        )
        .finally(() => {
          this.#running -= 1;
          const next = this.#queue.shift();
          if (next !== undefined) this.#start(next);
          else if (this.#running === 0) {
            const waiting = [...this.#idle];
            this.#idle.clear();
            for (const resolve of waiting) resolve();
          }
        });
    });
  }
}
