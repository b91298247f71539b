import SqliteDatabase from 'better-sqlite3';
import { parentPort, workerData } from 'node:worker_threads';
import { startModuleWorker, yieldCpuToMainThread } from './module-worker.js';

/**
 * SQLite WAL checkpoints on a thread of their own, off the writers' path. By default SQLite checkpoints
 * inside the commit that takes the WAL past 1,000 pages: copying the pages into the database file and two
 * fsyncs, a few milliseconds every few commits of the trace writer. Measured with the ingest ceiling's
 * inserts, that was ~30 % of the insert time (batches of 1,000: 77-80k rows/s with it, 112-117k without),
 * and the tail of the accept path. This thread runs a PASSIVE checkpoint every `intervalMs` (it never
 * blocks readers or writers; one that finds another checkpoint running is skipped), at a lower priority.
 * The trace writer's own automatic checkpoint stays as a backstop at a larger WAL (`WRITER_AUTOCHECKPOINT_PAGES`),
 * so the WAL stays bounded if this thread falls behind or is gone.
 */

/** The trace writer checkpoints itself only past this many WAL pages (~40 MB; SQLite's default is 1,000). */
export const WRITER_AUTOCHECKPOINT_PAGES = 10_000;

const INTERVAL_MS = 100;

interface CheckpointerData {
  readonly file: string;
  readonly intervalMs: number;
}

export interface WalCheckpointer {
  close(): Promise<void>;
}

/** Starts the thread for a SQLite file (in WAL mode). It never keeps the process alive. */
export const startWalCheckpointer = (file: string, intervalMs = INTERVAL_MS): WalCheckpointer => {
  const data: CheckpointerData = { file, intervalMs };
  const worker = startModuleWorker('wal-checkpointer', 'runWalCheckpointer', data);
  worker.unref();
  // A thread that cannot open the file ends; the writers' own checkpoints then keep the WAL bounded.
  worker.on('error', () => undefined);
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  return {
    close: async () => {
      worker.postMessage('close');
      const timer = setTimeout(() => void worker.terminate(), 2000);
      await exited;
      clearTimeout(timer);
    },
  };
};

/** The thread's side (run by `startModuleWorker`). */
export const runWalCheckpointer = (): void => {
  const port = parentPort;
  if (port === null) throw new Error('runWalCheckpointer runs on a worker thread');
  const { file, intervalMs } = workerData as CheckpointerData;
  yieldCpuToMainThread();
  const db = new SqliteDatabase(file, { fileMustExist: true });
  db.pragma('synchronous = NORMAL');
  const timer = setInterval(() => {
    try {
      db.pragma('wal_checkpoint(PASSIVE)');
    } catch {
      // Busy or locked: the next round.
    }
  }, intervalMs);
  port.once('message', () => {
    clearInterval(timer);
    db.close();
    port.close();
  });
};
