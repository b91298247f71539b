import type { Worker } from 'node:worker_threads';
import { PromptopsError, type ErrorKind, type FieldIssue } from '@promptops/core';
import { endWorker, startModuleWorker } from '../../module-worker.js';
import type { NewTrace } from '../store.js';
import type { EncodedIngestResult } from './body.js';
import { rowParams, splitInserted } from '../store/row-params.js';
import type { TraceWorkerData } from './worker.js';
import type { SqlDialect } from '../../storage/dialect.js';
import { startWalCheckpointer, type WalCheckpointer } from '../../storage/wal-checkpointer.js';

/**
 * Trace inserts, and the parsing and validation of ingest bodies, on a worker thread (worker.ts)
 * with a database connection of its own: SQLite files and PostgreSQL. Ingestion moves hundreds of
 * kilobytes a second; on the main thread, decoding and `JSON.parse` of a 1,000-event body (~8 ms), the
 * validation, and the insert (better-sqlite3 is synchronous; pg serializes parameters and writes them to
 * its socket synchronously) stall every other request, prompt resolution included. The main thread now
 * hands over the body's buffer (transferred, not copied) and gets back the per-item result as JSON bytes
 * (moved too). A call resolves after COMMIT. (On PostgreSQL, bodies of a few events skip the hops: see
 * ingest.ts.)
 */

/** The ingest routes answer this with 503 and Retry-After: the batch may be resent as a whole. */
export class TraceWriterUnavailableError extends PromptopsError {
  constructor(message: string) {
    super('unavailable', 'trace_writer_unavailable', message, {
      fix: 'retry after a moment; event ids make resends idempotent',
    });
    this.name = 'TraceWriterUnavailableError';
  }
}

interface Failure {
  readonly kind: ErrorKind;
  readonly code: string;
  readonly message: string;
  readonly fix?: string;
  readonly issues?: FieldIssue[];
  readonly details?: Record<string, unknown>;
}

type Reply = { readonly id: number } & (
  | { readonly inserted: Uint8Array }
  | { readonly answer: EncodedIngestResult }
  | { readonly failure: Failure }
  | { readonly error: string; readonly fatal?: true }
);

interface Pending {
  readonly worker: Worker;
  resolve(reply: Reply): void;
  reject(error: Error): void;
}

export class TraceWriter {
  #worker: Worker | undefined;
  /** SQLite: checkpoints off the writer's path, from the first call on (wal-checkpointer.ts). */
  #checkpointer: WalCheckpointer | undefined;
  readonly #pending = new Map<number, Pending>();
  #nextId = 0;
  #closed = false;

  /** What the thread receives: the dialect by its name (worker.ts resolves the object). */
  readonly #data: TraceWorkerData;

  constructor(private readonly target: { readonly dialect: SqlDialect } & Omit<TraceWorkerData, 'dialect'>) {
    this.#data = { ...target, dialect: target.dialect.name };
  }

  /** The worker starts on first use (a CLI that never ingests never starts one) and after a crash. */
  #start(): Worker {
    if (this.target.dialect.checkpointsWal) this.#checkpointer ??= startWalCheckpointer(this.target.target);
    const worker = startModuleWorker(new URL('./worker', import.meta.url), 'runTraceWorker', this.#data);
    worker.unref(); // referenced only while a call is pending (see #settle)
    worker.on('message', (reply: Reply) => {
      const pending = this.#pending.get(reply.id);
      // A worker that could not open its database is ending: the next call must start a new one.
      if ('fatal' in reply && this.#worker === worker) this.#worker = undefined;
      if (pending === undefined) return;
      this.#settle(reply.id);
      pending.resolve(reply);
    });
    const fail = (why: string): void => {
      if (this.#worker === worker) this.#worker = undefined;
      // Only this worker's calls: a replacement may already be serving newer ones.
      for (const [id, pending] of this.#pending) {
        if (pending.worker !== worker) continue;
        this.#settle(id);
        pending.reject(new TraceWriterUnavailableError(`the trace writer stopped: ${why}`));
      }
    };
    worker.on('error', (error) => fail(error.message));
    worker.on('exit', (code) => fail(`exit code ${code}`));
    return worker;
  }

  #settle(id: number): void {
    this.#pending.delete(id);
    if (![...this.#pending.values()].some((pending) => pending.worker === this.#worker)) this.#worker?.unref();
  }

  async #call(message: Record<string, unknown>, transfer: ArrayBuffer[] = []): Promise<Reply> {
    if (this.#closed) throw new TraceWriterUnavailableError('the trace writer is closed');
    this.#worker ??= this.#start();
    const worker = this.#worker;
    const id = (this.#nextId += 1);
    const reply = await new Promise<Reply>((resolve, reject) => {
      this.#pending.set(id, { worker, resolve, reject });
      worker.ref();
      worker.postMessage({ id, ...message }, transfer);
    });
    if ('error' in reply) throw new TraceWriterUnavailableError(`the trace insert failed: ${reply.error}`);
    if ('failure' in reply) {
      const { kind, code, message: text, fix, issues, details } = reply.failure;
      throw new PromptopsError(kind, code, text, {
        ...(fix === undefined ? {} : { fix }),
        ...(issues === undefined ? {} : { issues }),
        ...(details === undefined ? {} : { details }),
      });
    }
    return reply;
  }

  /** Inserts in one transaction; resolves after COMMIT with the accepted and duplicate ids, in order. */
  async insert(
    projectId: number,
    traces: readonly NewTrace[],
    createdAtMs: number,
  ): Promise<{ accepted: string[]; duplicates: string[] }> {
    if (traces.length === 0 && !this.#closed) return { accepted: [], duplicates: [] };
    const rows = traces.map((trace) => rowParams(projectId, trace, createdAtMs));
    const reply = await this.#call({ rows });
    if (!('inserted' in reply)) throw new TraceWriterUnavailableError('the trace writer answered out of turn');
    return splitInserted(
      traces.map((trace) => trace.eventId),
      reply.inserted,
    );
  }

  /**
   * An ingest body (`{ events: [...] }` as JSON bytes, already inflated): parsed, validated and inserted on
   * the worker, which answers with the result's JSON. A malformed batch rejects with the PromptopsError the
   * main thread would have thrown. The bytes are moved to the worker: the caller must not use them afterwards.
   */
  async ingestBody(
    projectId: number,
    body: Uint8Array,
    nowMs: number,
    createdAtMs: number,
  ): Promise<EncodedIngestResult> {
    // Moving needs a buffer of its own: Node's pooled small buffers share one ArrayBuffer.
    const owned =
      body.byteOffset === 0 && body.byteLength === body.buffer.byteLength
        ? body
        : Uint8Array.prototype.slice.call(body);
    const reply = await this.#call({ body: owned, projectId, nowMs, createdAtMs }, [owned.buffer as ArrayBuffer]);
    if (!('answer' in reply)) throw new TraceWriterUnavailableError('the trace writer answered out of turn');
    return reply.answer;
  }

  /** Waits for pending calls (they commit), then closes the worker's connection, the thread and the checkpointer. */
  async close(): Promise<void> {
    this.#closed = true;
    const worker = this.#worker;
    this.#worker = undefined;
    if (worker !== undefined) {
      while (this.#pending.size > 0) await new Promise((resolve) => setTimeout(resolve, 5));
      const exited = new Promise((resolve) => worker.once('exit', resolve));
      worker.ref();
      await endWorker(worker, exited, { close: true });
    }
    await this.#checkpointer?.close();
  }
}
