import type { NewTrace, TraceStore } from '../store.js';
import { validateEvents, type IngestResult } from './body.js';

/**
 * Events ingested on the main thread (OTLP, and every body where there is no writer thread: a SQLite
 * memory database): validated item by item, yielding between slices, then inserted in short
 * transactions of at most `chunk` rows, each committing on its own with a turn of the event loop between
 * them (`chunk`: the dialect's traceInsertChunk): short, so that flattening and copying the rows to the writer thread never holds up prompt
 * resolution for long, and on SQLite a registry write waits little for the lock.
 */

const VALIDATE_SLICE = 250;

/** Gives other requests (prompt resolution) a turn between slices of ingestion work. */
const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

export const ingestEvents = async (
  insert: TraceStore['insertTraces'],
  chunk: number,
  projectId: number,
  events: readonly unknown[],
  nowMs: number,
  createdAtMs: () => number,
): Promise<IngestResult> => {
  const batch = { rows: [] as NewTrace[], rejected: [] as IngestResult['rejected'], droppedAttributes: 0 };
  for (let from = 0; from < events.length; from += VALIDATE_SLICE) {
    if (from > 0) await yieldToEventLoop();
    validateEvents(events, nowMs, batch, from, Math.min(from + VALIDATE_SLICE, events.length));
  }
  const { rows, rejected, droppedAttributes } = batch;
  const accepted: string[] = [];
  const duplicates: string[] = [];
  for (let offset = 0; offset < rows.length; offset += chunk) {
    if (offset > 0) await yieldToEventLoop();
    const result = await insert(projectId, rows.slice(offset, offset + chunk), createdAtMs());
    accepted.push(...result.accepted);
    duplicates.push(...result.duplicates);
  }
  return { accepted, duplicates, rejected, droppedAttributes };
};
