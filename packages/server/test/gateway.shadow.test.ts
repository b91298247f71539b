import { describe, expect, it } from 'vitest';
import { ShadowRunner } from '../src/gateway/shadow.js';
import { waitFor } from './support/wait.js';

/** Shadow calls are bounded: at most `concurrency` run, `queue` wait, and the rest are dropped and counted. */
describe('the gateway shadow runner', () => {
  it('runs at most `concurrency` at once, queues up to `queue`, drops and counts the rest', async () => {
    const runner = new ShadowRunner({ concurrency: 1, queue: 1 });
    const releases: (() => void)[] = [];
    const job = () => new Promise<void>((resolve) => releases.push(resolve));
    expect(runner.submit(job)).toBe(true);
    expect(runner.submit(job)).toBe(true);
    expect(runner.submit(job)).toBe(false);
    expect(runner.stats).toMatchObject({ running: 1, queued: 1, dropped: 1 });
    // The job starts on a later turn, never inside submit (the caller's path).
    expect(releases).toHaveLength(0);
    await waitFor(() => releases.length === 1, 'the first job to start');
    releases[0]!();
    await waitFor(() => releases.length === 2, 'the queued job to start');
    releases[1]!();
    await runner.idle();
    expect(runner.stats).toEqual({ running: 0, queued: 0, done: 2, dropped: 1, failed: 0 });
  });

  it('counts a failed shadow call and goes on', async () => {
    const errors: unknown[] = [];
    const runner = new ShadowRunner({ concurrency: 2, queue: 0 }, (error) => errors.push(error));
    runner.submit(() => Promise.reject(new Error('upstream down')));
    runner.submit(() => Promise.resolve());
    await runner.idle();
    expect(runner.stats).toMatchObject({ done: 1, failed: 1, dropped: 0 });
    expect(errors).toHaveLength(1);
  });
});
