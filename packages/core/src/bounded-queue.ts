/**
 * A bounded background queue (the SDK's and the gateway's shadow calls): at most `concurrency` jobs
 * run at once with at most `maxQueued` waiting; beyond that a new job is dropped and counted, never
 * delayed into the caller's path. `defer` starts a job on a later turn of the event loop.
 */

export interface BoundedQueueStats {
  readonly running: number;
  readonly queued: number;
  readonly done: number;
  readonly dropped: number;
  readonly failed: number;
}

export interface BoundedQueueOptions {
  readonly concurrency: number;
  readonly maxQueued: number;
  readonly defer: (run: () => void) => void;
  readonly onError?: ((error: unknown) => void) | undefined;
}

export class BoundedQueue {
  readonly #options: BoundedQueueOptions;
  readonly #queue: (() => Promise<void>)[] = [];
  readonly #idle = new Set<() => void>();
  #running = 0;
  #done = 0;
  #dropped = 0;
  #failed = 0;
  #closed = false;

  constructor(options: BoundedQueueOptions) {
    this.#options = options;
  }

  stats(): BoundedQueueStats {
    return {
      running: this.#running,
      queued: this.#queue.length,
      done: this.#done,
      dropped: this.#dropped,
      failed: this.#failed,
    };
  }

  /** Runs `job` when a slot is free; false when it was dropped (every slot busy and the queue full, or closed). */
  submit(job: () => Promise<void>): boolean {
    const busy = this.#running >= this.#options.concurrency;
    if (this.#closed || (busy && this.#queue.length >= this.#options.maxQueued)) {
      this.#dropped += 1;
      return false;
    }
    if (busy) this.#queue.push(job);
    else this.#start(job);
    return true;
  }

  /** Resolves when nothing runs or waits. */
  idle(): Promise<void> {
    if (this.#running === 0 && this.#queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.add(resolve));
  }

  /** No new jobs; those waiting are dropped, those running finish. */
  close(): Promise<void> {
    this.#closed = true;
    this.#dropped += this.#queue.length;
    this.#queue.length = 0;
    return this.idle();
  }

  #start(job: () => Promise<void>): void {
    this.#running += 1;
    this.#options.defer(() => {
      let run: Promise<void>;
      try {
        run = job();
      } catch (error) {
        run = Promise.reject(error);
      }
      run
        .then(
          () => {
            this.#done += 1;
          },
          (error: unknown) => {
            this.#failed += 1;
            this.#options.onError?.(error);
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
