import { PromptopsError, type FieldIssue } from '@promptops/core';
import type { NewTrace } from '../store.js';
import { MAX_BATCH_EVENTS } from '../limits.js';
import { parseEvent } from '../schemas.js';

/**
 * A `POST /api/v1/ingest` batch from its bytes to storage rows: the one definition of what a batch is,
 * run on the trace writer's thread (worker.ts) and, for a database without one (SQLite in memory) and for
 * PostgreSQL's small bodies, on the main thread (ingest.ts).
 */

/** What an ingest batch came to, item by item (`POST /api/v1/ingest`'s answer). */
export interface IngestResult {
  readonly accepted: string[];
  readonly duplicates: string[];
  readonly rejected: { index: number; id?: string; issues: FieldIssue[] }[];
  /** Entries of `variables` / `attributes` dropped for being hostile or over a limit. */
  readonly droppedAttributes: number;
}

/**
 * An IngestResult as `POST /api/v1/ingest` answers it: its JSON, encoded on the thread that processed the
 * batch. The main thread hands the bytes to the socket and never builds the thousand id strings of a full
 * batch (measured: decoding and serializing them was half of the main thread's allocations during
 * ingestion, and each of its garbage collections pauses prompt resolution).
 */
export interface EncodedIngestResult {
  /** Some event was stored (accepted, or a duplicate of one stored before): 200; otherwise 400. */
  readonly anyStored: boolean;
  /** UTF-8 JSON of the IngestResult. */
  readonly json: Uint8Array;
}

export interface ValidatedBatch {
  readonly rows: NewTrace[];
  readonly rejected: IngestResult['rejected'];
  readonly droppedAttributes: number;
}

/** Plain JSON.parse: a hostile `__proto__` key rejects only its own event, as data (see sanitize.ts). */
export const parseJsonBody = (bytes: Uint8Array): unknown => {
  try {
    return JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8')) as unknown;
  } catch {
    throw new PromptopsError('invalid', 'invalid_json', 'the request body is not valid JSON', {
      fix: 'send a well-formed JSON body',
    });
  }
};

/** `{ events: [...] }` with 1 to MAX_BATCH_EVENTS events, or the error that says what is wrong. */
export const batchEvents = (body: unknown): readonly unknown[] => {
  const events = typeof body === 'object' && body !== null ? (body as { events?: unknown }).events : undefined;
  if (!Array.isArray(events) || events.length === 0) {
    throw new PromptopsError(
      'invalid',
      'invalid_request',
      'the body must be { "events": [ … ] } with at least one event',
      {
        issues: [{ path: 'events', message: 'must be a non-empty array' }],
        fix: 'send { "events": [{ "id": "…", "startedAt": "…", … }] }',
      },
    );
  }
  if (events.length > MAX_BATCH_EVENTS) {
    throw new PromptopsError(
      'too_large',
      'batch_too_large',
      `the batch has ${events.length} events; the limit is ${MAX_BATCH_EVENTS}`,
      {
        fix: `split it into batches of at most ${MAX_BATCH_EVENTS} events (and 5 MiB)`,
        details: { limit: MAX_BATCH_EVENTS },
      },
    );
  }
  return events;
};

/** Validates events `from` to `to` (exclusive) into `into`; each bad event rejects only itself. */
export const validateEvents = (
  events: readonly unknown[],
  nowMs: number,
  into: { rows: NewTrace[]; rejected: IngestResult['rejected']; droppedAttributes: number },
  from = 0,
  to = events.length,
): void => {
  for (let index = from; index < to; index += 1) {
    const parsed = parseEvent(events[index], nowMs);
    if (parsed.ok) {
      into.rows.push(parsed.trace);
      into.droppedAttributes += parsed.dropped;
    } else {
      into.rejected.push({ index, ...(parsed.id === undefined ? {} : { id: parsed.id }), issues: parsed.issues });
    }
  }
};

/** Every event of a batch at once. */
export const validateAllEvents = (events: readonly unknown[], nowMs: number): ValidatedBatch => {
  const batch = { rows: [] as NewTrace[], rejected: [] as IngestResult['rejected'], droppedAttributes: 0 };
  validateEvents(events, nowMs, batch);
  return batch;
};

/** The whole body at once: what the writer thread does with it. */
export const validateBatch = (bytes: Uint8Array, nowMs: number): ValidatedBatch =>
  validateAllEvents(batchEvents(parseJsonBody(bytes)), nowMs);

/** The answer's bytes (a buffer of their own, so a worker can move them to the main thread). */
export const encodeIngestResult = (result: IngestResult): EncodedIngestResult => ({
  anyStored: result.accepted.length + result.duplicates.length > 0,
  json: new TextEncoder().encode(JSON.stringify(result)),
});
