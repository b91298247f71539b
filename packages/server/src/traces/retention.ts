import type { Storage } from '../storage/port.js';

/**
 * Trace retention: every replica runs this job; deleting is idempotent, so several replicas at once only
 * share the work. Each statement deletes at most `batchSize` rows and the job pauses between statements,
 * so ingestion (which needs the same write lock on SQLite) is never held up for long.
 *
 * The metrics rollups outlive the raw traces: minute rows are kept `PROMPTOPS_ROLLUP_MINUTE_RETENTION_DAYS`
 * (default 35) and hour rows `PROMPTOPS_ROLLUP_RETENTION_DAYS` (default 400), deleted by the same pass.
 * The job also runs the rollups' backfill (the traces stored before rollups existed), in short steps from
 * a second after start until it is done; its steps take turns across replicas (storage's
 * `backfillTraceRollups`).
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
}

export interface RetentionJob {
  /** One full pass now; resolves with the number of traces deleted. */
  runOnce(): Promise<number>;
  /** Stops the timer and waits for a pass in progress to end (at its next batch). */
  stop(): Promise<void>;
}

const daysFromEnv = (name: string, fallback: number, env: Readonly<Record<string, string | undefined>>): number => {
  const text = env[name];
  if (text === undefined || text.trim() === '') return fallback;
  const days = Number(text);
  if (!Number.isFinite(days) || days <= 0) {
    throw new Error(`${name} must be a positive number of days, not "${text}"`);
  }
  return days;
};

export const retentionDaysFromEnv = (env: Readonly<Record<string, string | undefined>> = process.env): number =>
  daysFromEnv('PROMPTOPS_TRACE_RETENTION_DAYS', 30, env);

/** How long the metrics rollups are kept, per grain. */
export const rollupRetentionDaysFromEnv = (
  env: Readonly<Record<string, string | undefined>> = process.env,
): { minutes: number; hours: number } => ({
  minutes: daysFromEnv('PROMPTOPS_ROLLUP_MINUTE_RETENTION_DAYS', 35, env),
  hours: daysFromEnv('PROMPTOPS_ROLLUP_RETENTION_DAYS', 400, env),
});

export type RetentionStorage = Pick<Storage, 'deleteTracesBefore'> &
  Partial<Pick<Storage, 'deleteRollupsBefore' | 'backfillTraceRollups'>>;

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

  // The rollups' backfill: steps until done; a failed step is retried at the next interval.
  let backfillTimer: NodeJS.Timeout | undefined;
  let backfilling: Promise<void> | undefined;
  const backfillBatch = options.backfillBatchSize ?? 2000;
  const backfill = (delay: number): void => {
    const { backfillTraceRollups } = storage;
    if (stopped || backfillTraceRollups === undefined) return;
    backfillTimer = setTimeout(() => {
      backfilling = backfillTraceRollups
        .call(storage, backfillBatch)
        .then(
          ({ done }) => {
            if (!done) backfill(pauseMs);
          },
          (error: unknown) => {
            options.onError?.(error);
            backfill(intervalMs);
          },
        )
        .finally(() => {
          backfilling = undefined;
        });
    }, delay);
    backfillTimer.unref();
  };
  backfill(options.backfillFirstRunMs ?? 1000);

  return {
    runOnce,
    async stop() {
      stopped = true;
      if (timer !== undefined) clearTimeout(timer);
      if (backfillTimer !== undefined) clearTimeout(backfillTimer);
      await running?.catch(() => undefined);
      await backfilling;
    },
  };
};
