import { BoundedQueue } from '@promptops/core/bounded-queue';

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
  readonly #queue: BoundedQueue;

  constructor(options: { concurrency?: number; queue?: number } = {}, onError?: (error: unknown) => void) {
    this.#queue = new BoundedQueue({
      concurrency: options.concurrency ?? 4,
      maxQueued: options.queue ?? 100,
      // Never on the caller's path: the job starts on a later turn of the event loop.
      defer: (run) => setImmediate(run),
      onError,
    });
  }

  get stats(): ShadowStats {
    return this.#queue.stats();
  }

  /** Runs `job` when a slot is free; false when it was dropped (every slot busy and the queue full). */
  submit(job: () => Promise<void>): boolean {
    return this.#queue.submit(job);
  }

  /** Resolves when nothing runs or waits (shutdown; tests). */
  idle(): Promise<void> {
    return this.#queue.idle();
  }
}
