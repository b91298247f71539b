import type { TraceStore } from './store.js';
import { rollupRetentionDaysFromEnv } from './store/rollups.js';

/**
 * Trace retention: every replica runs this job; deleting is idempotent, so several replicas at once only
 * share the work. Each statement deletes at most `batchSize` rows and the job pauses between statements,
 * so ingestion (which needs the same write lock on SQLite) is never held up for long.
 *
 * The metrics rollups outlive the raw traces: minute rows are kept `PROMPTOPS_ROLLUP_MINUTE_RETENTION_DAYS`
 * (default 35) and hour rows `PROMPTOPS_ROLLUP_RETENTION_DAYS` (default 400), deleted by the same pass.
 * The job also keeps the rollups up: from a second after start, the backfill (the traces stored before
 * rollups existed) in short steps until it is done, and the fold of hour rollups from minute ones for the
 * hours that are over or got late data, checked every minute. Both are short transactions that replicas
 * run side by side safely (storage's `backfillTraceRollups`, `foldTraceRollups`).
 */

const DAY_MS = 86_400_000;
const MINUTE_MS = 60_000;
const HOUR_MS = 3_600_000;

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
  /** Minute rollups older than this are deleted. Default `PROMPTOPS_ROLLUP_MINUTE_RETENTION_DAYS`, else 35. */
  readonly minuteRollupDays?: number;
  /** Hour rollups older than this are deleted. Default `PROMPTOPS_ROLLUP_RETENTION_DAYS`, else 400. */
  readonly rollupDays?: number;
  /** Traces per backfill step (default 2,000); the first step comes after `backfillFirstRunMs` (default 1 s). */
  readonly backfillBatchSize?: number;
  readonly backfillFirstRunMs?: number;
  /** How often the rollups' fold looks for hours to fold once it has none (default one minute). */
  readonly foldIntervalMs?: number;
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

export type RetentionStorage = Pick<TraceStore, 'deleteTracesBefore'> &
  Partial<Pick<TraceStore, 'deleteRollupsBefore' | 'backfillTraceRollups' | 'foldTraceRollups'>>;

export const startRetention = (
  storage: RetentionStorage,
  options: RetentionOptions & { readonly now?: () => number; readonly onError?: (error: unknown) => void } = {},
): RetentionJob => {
  const days = options.days ?? retentionDaysFromEnv();
  const rollupDays = {
    minutes: options.minuteRollupDays ?? rollupRetentionDaysFromEnv().minutes,
    hours: options.rollupDays ?? rollupRetentionDaysFromEnv().hours,
  };
  const batchSize = options.batchSize ?? 5000;
  const pauseMs = options.pauseMs ?? 50;
  const intervalMs = options.intervalMs ?? 3_600_000;
  const now = options.now ?? Date.now;
  let stopped = false;
  let running: Promise<number> | undefined;
  let timer: NodeJS.Timeout | undefined;

  /** Calls `step` until it deletes less than a batch (or the job stops), pausing between calls. */
  const drain = async (step: () => Promise<number>): Promise<number> => {
    let total = 0;
    for (;;) {
      const deleted = await step();
      total += deleted;
      if (deleted < batchSize || stopped) return total;
      await new Promise((resolve) => setTimeout(resolve, pauseMs));
    }
  };

  /** Answers the traces deleted. */
  const pass = async (): Promise<number> => {
    const at = now();
    const total = await drain(() => storage.deleteTracesBefore(at - days * DAY_MS, batchSize));
    const { deleteRollupsBefore } = storage;
    if (deleteRollupsBefore !== undefined && !stopped) {
      const rollups = storage as Required<RetentionStorage>;
      await drain(() => rollups.deleteRollupsBefore(MINUTE_MS, at - rollupDays.minutes * DAY_MS, batchSize));
      await drain(() => rollups.deleteRollupsBefore(HOUR_MS, at - rollupDays.hours * DAY_MS, batchSize));
    }
    return total;
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

  // The rollups' upkeep: backfill steps until done, then folds; soon again while there was work, else
  // after the fold interval. A failure is reported and retried at the next interval.
  let upkeepTimer: NodeJS.Timeout | undefined;
  let upkeeping: Promise<void> | undefined;
  let backfilled = false;
  const backfillBatch = options.backfillBatchSize ?? 2000;
  const foldIntervalMs = options.foldIntervalMs ?? 60_000;
  const FOLDS_PER_TICK = 20;
  const tick = async (): Promise<boolean> => {
    if (!backfilled && storage.backfillTraceRollups !== undefined) {
      backfilled = (await storage.backfillTraceRollups(backfillBatch)).done;
      if (!backfilled) return true;
    }
    if (storage.foldTraceRollups === undefined) return false;
    return (await storage.foldTraceRollups(now(), FOLDS_PER_TICK)) === FOLDS_PER_TICK;
  };
  const upkeep = (delay: number): void => {
    if (stopped || (storage.backfillTraceRollups === undefined && storage.foldTraceRollups === undefined)) return;
    upkeepTimer = setTimeout(() => {
      upkeeping = tick()
        .then(
          (more) => upkeep(more ? pauseMs : foldIntervalMs),
          (error: unknown) => {
            options.onError?.(error);
            upkeep(foldIntervalMs);
          },
        )
        .finally(() => {
          upkeeping = undefined;
        });
    }, delay);
    upkeepTimer.unref();
  };
  upkeep(options.backfillFirstRunMs ?? 1000);

  return {
    runOnce,
    async stop() {
      stopped = true;
      if (timer !== undefined) clearTimeout(timer);
      if (upkeepTimer !== undefined) clearTimeout(upkeepTimer);
      await running?.catch(() => undefined);
      await upkeeping;
    },
  };
};
