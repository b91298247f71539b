import SqliteDatabase from 'better-sqlite3';
import { parentPort, workerData } from 'node:worker_threads';
import { endWorker, startModuleWorker, yieldCpuToMainThread } from '../module-worker.js';

/**
 * SQLite WAL checkpoints on a thread of their own, off the writers' path. By default SQLite checkpoints
 * inside the commit that takes the WAL past 1,000 pages: copying the pages into the database file and two
 * fsyncs, a few milliseconds every few commits of the trace writer. Measured with the ingest ceiling's
 * inserts, that was ~30 % of the insert time (batches of 1,000: 77-80k rows/s with it, 112-117k without),
 * and the tail of the accept path.
 *
 * This thread runs a PASSIVE checkpoint (it never blocks readers or the writer; one that finds another
 * checkpoint running is skipped) soon after each commit: every `BUSY_INTERVAL_MS` while the WAL grows,
 * backing off to `IDLE_INTERVAL_MS` while it does not. Promptly matters: SQLite starts the WAL over only
 * when a writer finds every frame copied, so a checkpoint must finish between two commits; one every
 * 100 ms, overlapping the commits of sustained ingestion, let the WAL grow until the writer's backstop.
 * The trace writer's own automatic checkpoint stays as that backstop at a larger WAL
 * (`WRITER_AUTOCHECKPOINT_PAGES`), so the WAL stays bounded if this thread falls behind or is gone.
 */

/** The trace writer checkpoints itself only past this many WAL pages (~16 MB; SQLite's default is 1,000). */
export const WRITER_AUTOCHECKPOINT_PAGES = 4000;

const BUSY_INTERVAL_MS = 5;
const IDLE_INTERVAL_MS = 500;

interface CheckpointerData {
  readonly file: string;
  /** The longest wait between checkpoints (while nothing is written). */
  readonly idleIntervalMs: number;
}

export interface WalCheckpointer {
  close(): Promise<void>;
}

/** Starts the thread for a SQLite file (in WAL mode). It never keeps the process alive. */
export const startWalCheckpointer = (file: string, idleIntervalMs = IDLE_INTERVAL_MS): WalCheckpointer => {
  const data: CheckpointerData = { file, idleIntervalMs };
  const worker = startModuleWorker(new URL('./wal-checkpointer', import.meta.url), 'runWalCheckpointer', data);
  worker.unref();
  // A thread that cannot open the file ends; the writers' own checkpoints then keep the WAL bounded.
  worker.on('error', () => undefined);
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  return { close: () => endWorker(worker, exited, 'close') };
};

/** The thread's side (run by `startModuleWorker`). */
export const runWalCheckpointer = (): void => {
  const port = parentPort;
  if (port === null) throw new Error('runWalCheckpointer runs on a worker thread');
  const { file, idleIntervalMs } = workerData as CheckpointerData;
  yieldCpuToMainThread();
  const db = new SqliteDatabase(file, { fileMustExist: true });
  db.pragma('synchronous = NORMAL');
  let lastLog = -1;
  let interval = BUSY_INTERVAL_MS;
  let timer: NodeJS.Timeout;
  const round = (): void => {
    try {
      // [{ busy, log, checkpointed }]: `log` is the WAL's frame count, which a commit raises and a restart resets.
      const [result] = db.pragma('wal_checkpoint(PASSIVE)') as { busy: number; log: number }[];
      const log = result?.log ?? -1;
      interval = log !== lastLog ? BUSY_INTERVAL_MS : Math.min(interval * 2, idleIntervalMs);
      lastLog = log;
    } catch {
      // Busy or locked: the next round.
    }
    timer = setTimeout(round, interval);
  };
  timer = setTimeout(round, interval);
  port.once('message', () => {
    clearTimeout(timer);
    db.close();
    port.close();
  });
};
