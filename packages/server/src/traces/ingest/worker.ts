import { parentPort, workerData } from 'node:worker_threads';
import { PromptopsError } from '@promptops/core';
import { encodeIngestResult, validateBatch } from './body.js';
import { yieldCpuToMainThread } from '../../module-worker.js';
import type { IngestResult } from './body.js';
import { openPostgresInserter, openSqliteInserter, type TraceInserter } from './inserters.js';
import { rollupOptionsFromEnv, type RollupOptions } from '../store/rollups.js';
import { rowParams, splitInserted, type RowParams } from '../store/row-params.js';
import { dialectNamed, type Dialect } from '../../storage/dialect.js';

/**
 * The trace writer's thread (started by writer.ts). Messages:
 * - `{ id, rows }`: rows' parameters, already validated (OTLP, the demo, tests) -> `{ id, inserted }`, 1/0 per row;
 * - `{ id, body, projectId, nowMs, createdAtMs }`: an ingest body's bytes, parsed, validated and inserted
 *   here, so the main thread only hands over the buffer -> `{ id, answer }` (the result's JSON, moved), or
 *   `{ id, failure }` when the batch as a whole is malformed (the error's fields, rebuilt as a
 *   PromptopsError by the main thread);
 * - `{ close: true }`.
 * An insert that fails answers `{ id, error }`; a database that cannot be opened answers `fatal: true` too
 * and ends the thread, as does a lost connection.
 */

export interface TraceWorkerData {
  /** By name: a message carries no functions (the thread resolves it with dialectNamed). */
  readonly dialect: Dialect;
  /** The SQLite file, or the PostgreSQL URL. */
  readonly target: string;
  /** Metrics rollups kept in each insert's transaction (../store/rollups.ts); from the environment unless given. */
  readonly rollups?: RollupOptions;
}

/**
 * One transaction per batch: measured on SQLite, committing every 200 rows spent a quarter of this thread's
 * time in BEGIN/COMMIT (the same index pages written again and again). A 1,000-row transaction holds
 * SQLite's write lock for ~15 ms, which a registry write on the main connection may wait for. The same on
 * PostgreSQL.
 */
const ROWS_PER_TRANSACTION = 1000;

const errorText = (error: unknown): string => (error instanceof Error ? error.message : String(error));

type Message =
  | { readonly close: true }
  | { readonly id: number; readonly rows: RowParams[] }
  | {
      readonly id: number;
      readonly body: Uint8Array;
      readonly projectId: number;
      readonly nowMs: number;
      readonly createdAtMs: number;
    };

export const runTraceWorker = async (): Promise<void> => {
  const port = parentPort;
  if (port === null) throw new Error('runTraceWorker runs on a worker thread');
  yieldCpuToMainThread();
  const { target } = workerData as TraceWorkerData;
  const dialect = dialectNamed((workerData as TraceWorkerData).dialect);
  const rollups = (workerData as TraceWorkerData).rollups ?? rollupOptionsFromEnv();
  const inserter: Promise<TraceInserter> = dialect.pick({
    sqlite: () => Promise.resolve().then(() => openSqliteInserter(target, rollups)),
    postgres: () => openPostgresInserter(target, () => process.exit(1), rollups),
  })();
  // A database that cannot be opened fails the calls that wait for it, then ends the thread: the next call
  // starts a new one.
  inserter.catch(() => undefined);

  const ingestBody = async (message: Extract<Message, { body: Uint8Array }>): Promise<IngestResult> => {
    const batch = validateBatch(message.body, message.nowMs);
    const rows = batch.rows.map((row) => rowParams(message.projectId, row, message.createdAtMs));
    const step = ROWS_PER_TRANSACTION;
    const accepted: string[] = [];
    const duplicates: string[] = [];
    const db = await inserter;
    for (let offset = 0; offset < batch.rows.length; offset += step) {
      const inserted = await db.insert(rows.slice(offset, offset + step));
      const chunk = splitInserted(
        batch.rows.slice(offset, offset + step).map((row) => row.eventId),
        inserted,
      );
      accepted.push(...chunk.accepted);
      duplicates.push(...chunk.duplicates);
    }
    return { accepted, duplicates, rejected: batch.rejected, droppedAttributes: batch.droppedAttributes };
  };

  const serve = async (message: Message): Promise<void> => {
    if ('close' in message) {
      await (await inserter.catch(() => undefined))?.close();
      port.close();
      return;
    }
    const db = await inserter.catch((error: unknown) => {
      port.postMessage({ id: message.id, error: `cannot open the database: ${errorText(error)}`, fatal: true });
      return process.exit(1);
    });
    try {
      if ('rows' in message) {
        const inserted = await db.insert(message.rows);
        port.postMessage({ id: message.id, inserted }, [inserted.buffer as ArrayBuffer]);
      } else {
        const answer = encodeIngestResult(await ingestBody(message));
        port.postMessage({ id: message.id, answer }, [answer.json.buffer as ArrayBuffer]);
      }
    } catch (error) {
      if (error instanceof PromptopsError) {
        const { kind, code, message: text, fix, issues, details } = error;
        port.postMessage({ id: message.id, failure: { kind, code, message: text, fix, issues, details } });
      } else {
        port.postMessage({ id: message.id, error: errorText(error) });
      }
    }
  };

  // One call at a time, in order: each is a transaction on the one connection.
  let queue = Promise.resolve();
  port.on('message', (message: Message) => {
    queue = queue.then(() => serve(message));
  });
};
