import type { Storage } from '../storage/port.js';

/**
 * Trace retention: every replica runs this job; deleting is idempotent, so several replicas at once only
 * share the work. Each statement deletes at most `batchSize` rows and the job pauses between statements,
 * so ingestion (which needs the same write lock on SQLite) is never held up for long.
 */

const DAY_MS = 86_400_000;

export interface RetentionOptions {
  /** Traces that started longer ago are deleted. Default `PROMPTOPS_TRACE_RETENTION_DAYS`, else 30. */
  readonly days?: number;
  /** Rows per DELETE statement (default 5,000). */
  readonly batchSize?: number;
  /** Pause between statements (default 50 ms). */
  readonly pauseMs?: number;
  /** Time between runs (default one hour; the first run comes one minute after start). */
  readonly intervalMs?: number;
  readonly firstRunMs?: number;
}

export interface RetentionJob {
  /** One full pass now; resolves with the number of traces deleted. */
  runOnce(): Promise<number>;
  /** Stops the timer and waits for a pass in progress to end (at its next batch). */
  stop(): Promise<void>;
}

export const retentionDaysFromEnv = (env: Readonly<Record<string, string | undefined>> = process.env): number => {
  const text = env['PROMPTOPS_TRACE_RETENTION_DAYS'];
  if (text === undefined || text.trim() === '') return 30;
  const days = Number(text);
  if (!Number.isFinite(days) || days <= 0) {
    throw new Error(`PROMPTOPS_TRACE_RETENTION_DAYS must be a positive number of days, not "${text}"`);
  }
  return days;
};

export const startRetention = (
  storage: Pick<Storage, 'deleteTracesBefore'>,
  options: RetentionOptions & { readonly now?: () => number; readonly onError?: (error: unknown) => void } = {},
): RetentionJob => {
  const days = options.days ?? retentionDaysFromEnv();
  const batchSize = options.batchSize ?? 5000;
  const pauseMs = options.pauseMs ?? 50;
  const intervalMs = options.intervalMs ?? 3_600_000;
  const now = options.now ?? Date.now;
  let stopped = false;
  let running: Promise<number> | undefined;
  let timer: NodeJS.Timeout | undefined;

  const pass = async (): Promise<number> => {
    const cutoff = now() - days * DAY_MS;
    let total = 0;
    for (;;) {
      const deleted = await storage.deleteTracesBefore(cutoff, batchSize);
      total += deleted;
      if (deleted < batchSize || stopped) return total;
      await new Promise((resolve) => setTimeout(resolve, pauseMs));
    }
  };

  const runOnce = (): Promise<number> => {
    running ??= pass().finally(() => {
      running = undefined;
    });
    return running;
  };

  const schedule = (delay: number): void => {
    if (stopped) return;
    timer = setTimeout(() => {
      runOnce()
        .catch((error: unknown) => options.onError?.(error))
        .finally(() => schedule(intervalMs));
    }, delay);
    // Never keeps the process alive on its own.
    timer.unref();
  };
  schedule(options.firstRunMs ?? 60_000);

  return {
    runOnce,
    async stop() {
      stopped = true;
      if (timer !== undefined) clearTimeout(timer);
      await running?.catch(() => undefined);
    },
  };
};
