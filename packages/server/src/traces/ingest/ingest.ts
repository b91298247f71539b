import type { SqlDialect } from '../../storage/dialect.js';
import type { TraceStore } from '../store.js';
import { ingestEvents } from './batching.js';
import {
  batchEvents,
  encodeIngestResult,
  parseJsonBody,
  validateAllEvents,
  type EncodedIngestResult,
  type IngestResult,
} from './body.js';
import { TraceWriterUnavailableError, type TraceWriter } from './writer.js';

/**
 * `POST /api/v1/ingest` from the body's bytes to the answer's, by one of three paths:
 * - the writer thread (writer.ts: SQLite files and PostgreSQL) parses, validates and inserts the body;
 * - PostgreSQL: a body of a few events is handled here, on the main thread's pool (`insertOnPool`);
 * - no writer thread (a SQLite memory database, which has no second connection): here, in slices
 *   (batching.ts), through the store's `insertTraces`.
 */

export interface TraceIngest {
  /**
   * A whole body (JSON bytes, already inflated), parsed, validated and inserted; the answer comes back
   * encoded. The bytes may be moved to the writer thread: the caller must not use them afterwards.
   * Rejects with the PromptopsError of a malformed batch, and TraceWriterUnavailableError (503) when the
   * database cannot take the batch now.
   */
  ingestBody(projectId: number, body: Uint8Array, nowMs: number, createdAtMs: number): Promise<EncodedIngestResult>;
  /**
   * Events already parsed (OTLP's), validated item by item and inserted on the main thread in short
   * transactions of the dialect's chunk (batching.ts); `createdAtMs` is read per chunk.
   */
  ingestEvents(
    projectId: number,
    events: readonly unknown[],
    nowMs: number,
    createdAtMs: () => number,
  ): Promise<IngestResult>;
}

/**
 * PostgreSQL: a body this small (an SDK's flush of a few calls) with at most this many events is parsed,
 * validated and inserted on the main thread, as one statement on its pool (atomic on its own: no BEGIN and
 * COMMIT), instead of two hops to the writer thread and back. The work this adds to the main thread is
 * bounded (~0.1 ms at most), and so is its share of the pool, which prompt resolution needs too: beyond
 * MAX_SMALL_IN_FLIGHT bodies at once, the rest go to the writer. SQLite keeps every body on the writer: its
 * main connection would wait for the writer's lock.
 */
export const SMALL_BODY_BYTES = 16 * 1024;
const SMALL_BATCH_EVENTS = 20;
const MAX_SMALL_IN_FLIGHT = 2;

/** Inserts rows in one statement on the main thread's pool (with rollups, one transaction). */
export type PoolInsert = TraceStore['insertTraces'];

const postgresBodyIngest = (writer: TraceWriter, insertOnPool: PoolInsert): TraceIngest['ingestBody'] => {
  let inFlight = 0;
  return async (projectId, body, nowMs, createdAtMs) => {
    if (body.byteLength > SMALL_BODY_BYTES || inFlight >= MAX_SMALL_IN_FLIGHT)
      return writer.ingestBody(projectId, body, nowMs, createdAtMs);
    const events = batchEvents(parseJsonBody(body));
    if (events.length > SMALL_BATCH_EVENTS) return writer.ingestBody(projectId, body, nowMs, createdAtMs);
    const batch = validateAllEvents(events, nowMs);
    inFlight += 1;
    try {
      const { accepted, duplicates } = await insertOnPool(projectId, batch.rows, createdAtMs);
      return encodeIngestResult({
        accepted,
        duplicates,
        rejected: batch.rejected,
        droppedAttributes: batch.droppedAttributes,
      });
    } catch (error) {
      // Only the database can fail here (the batch is valid): a 503, as when the writer thread's insert fails.
      throw new TraceWriterUnavailableError(
        `the trace insert failed: ${error instanceof Error ? error.message : String(error)}`,
      );
    } finally {
      inFlight -= 1;
    }
  };
};

export const createTraceIngest = (options: {
  readonly dialect: SqlDialect;
  readonly store: Pick<TraceStore, 'insertTraces'>;
  /** SQLite files and PostgreSQL; without one, bodies are ingested on the main thread. */
  readonly writer?: TraceWriter;
  /** Where the main thread's pool may insert beside the writer (PostgreSQL): small bodies go there. */
  readonly insertOnPool?: PoolInsert;
}): TraceIngest => {
  const { dialect, store, writer, insertOnPool } = options;
  const insert: TraceStore['insertTraces'] = (...args) => store.insertTraces(...args);
  const eventsIngest: TraceIngest['ingestEvents'] = (projectId, events, nowMs, createdAtMs) =>
    ingestEvents(insert, dialect.traceInsertChunk, projectId, events, nowMs, createdAtMs);
  if (writer === undefined) {
    return {
      async ingestBody(projectId, body, nowMs, createdAtMs) {
        const events = batchEvents(parseJsonBody(body));
        return encodeIngestResult(await eventsIngest(projectId, events, nowMs, () => createdAtMs));
      },
      ingestEvents: eventsIngest,
    };
  }
  if (insertOnPool !== undefined)
    return { ingestBody: postgresBodyIngest(writer, insertOnPool), ingestEvents: eventsIngest };
  return {
    ingestBody: (projectId, body, nowMs, createdAtMs) => writer.ingestBody(projectId, body, nowMs, createdAtMs),
    ingestEvents: eventsIngest,
  };
};
