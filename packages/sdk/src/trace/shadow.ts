import { BoundedQueue } from '@promptops/core/bounded-queue';
import { PromptopsError } from '@promptops/core/errors';

/**
 * Shadow calls (a shadow rollout's candidate run on a copy of a call) start after the caller has its
 * answer, at most `concurrency` at once with at most `maxQueue` waiting; under more pressure a new one is
 * dropped and counted, never delayed into the app's own traffic. The same bounds as the gateway's.
 */

export interface ShadowOptions {
  /** Shadow calls running at once (default 2). */
  readonly concurrency?: number;
  /** Shadow calls waiting for a slot; beyond it new ones are dropped and counted (default 50). */
  readonly maxQueue?: number;
}

export interface ShadowStats {
  readonly running: number;
  readonly queued: number;
  /** Run to the end (the candidate's answer or error recorded). */
  readonly done: number;
  /** Not run: every slot busy and the queue full, or the client closed. */
  readonly dropped: number;
  /** Could not be run or recorded (a bug or a bad request body; reported through onError). */
  readonly failed: number;
}

/** Where a promptops client keeps its runner, for `instrumentOpenAI` (shared bounds and counters). */
export const SHADOW = Symbol.for('promptops.shadowRunner');

export const SHADOW_DEFAULTS = { concurrency: 2, maxQueue: 50 } as const;

const count = (value: unknown, name: string, fallback: number, min: number): number => {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
    throw new PromptopsError('invalid', 'invalid_options', `shadow.${name} must be an integer >= ${min}`, {
      fix: `pass shadow.${name} (default ${fallback}), or shadow: false to run no shadow calls`,
    });
  }
  return value;
};

export class ShadowRunner {
  readonly #queue: BoundedQueue;

  constructor(options: ShadowOptions = {}, onError?: (error: unknown) => void) {
    this.#queue = new BoundedQueue({
      concurrency: count(options.concurrency, 'concurrency', SHADOW_DEFAULTS.concurrency, 1),
      maxQueued: count(options.maxQueue, 'maxQueue', SHADOW_DEFAULTS.maxQueue, 0),
      // Never on the caller's path: the job starts on a later turn of the event loop.
      defer: (run) => setTimeout(run, 0),
      onError,
    });
  }

  stats(): ShadowStats {
    return this.#queue.stats();
  }

  /** Runs `job` when a slot is free; false when it was dropped (every slot busy and the queue full). */
  submit(job: () => Promise<void>): boolean {
    return this.#queue.submit(job);
  }

  /** Resolves when nothing runs or waits. */
  idle(): Promise<void> {
    return this.#queue.idle();
  }

  /** No new shadow calls; those waiting are dropped, those running finish. */
  close(): Promise<void> {
    return this.#queue.close();
  }
}
