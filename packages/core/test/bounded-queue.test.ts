import { describe, expect, it } from 'vitest';
import { BoundedQueue } from '../src/bounded-queue.js';

/** The shadow calls' queue shared by the SDK and the gateway: its bounds, counters and close. */

const deferred = () => {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
};

describe('BoundedQueue', () => {
  it('runs at most `concurrency` jobs, queues `maxQueued`, drops and counts the rest', async () => {
    const errors: unknown[] = [];
    const queue = new BoundedQueue({
      concurrency: 1,
      maxQueued: 1,
      defer: (run) => setImmediate(run),
      onError: (error) => errors.push(error),
    });
    const first = deferred();
    expect(queue.submit(() => first.promise)).toBe(true);
    expect(queue.submit(() => Promise.reject(new Error('boom')))).toBe(true);
    expect(queue.submit(() => Promise.resolve())).toBe(false);
    expect(queue.stats()).toEqual({ running: 1, queued: 1, done: 0, dropped: 1, failed: 0 });
    first.resolve();
    await queue.idle();
    expect(queue.stats()).toEqual({ running: 0, queued: 0, done: 1, dropped: 1, failed: 1 });
    expect(errors).toHaveLength(1);
  });

  it('close drops those waiting and refuses new jobs; a job throwing at once counts as failed', async () => {
    const queue = new BoundedQueue({ concurrency: 1, maxQueued: 5, defer: (run) => setImmediate(run) });
    queue.submit(() => {
      throw new Error('sync');
    });
    queue.submit(() => Promise.resolve());
    await queue.close();
    expect(queue.submit(() => Promise.resolve())).toBe(false);
    expect(queue.stats()).toEqual({ running: 0, queued: 0, done: 0, dropped: 2, failed: 1 });
  });
});
