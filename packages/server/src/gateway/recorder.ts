/**
 * Gateway traces, recorded through the traces feature's ingestion (the same validation and writer as
 * `POST /api/v1/ingest`), in batches per project, off the caller's path: a call adds its event to a
 * buffer; a timer (or a full batch) writes it. Beyond `maxPending` events waiting, new ones are dropped
 * and counted, so a slow database cannot grow the gateway's memory without bound.
 */

/** Characters of event JSON per batch (a character is at most 3 bytes of UTF-8 here: 3 MiB < 5 MiB). */
const MAX_BATCH_CHARS = 1024 * 1024;

export interface TraceIngestPort {
  ingestBody(projectId: number, body: Uint8Array, nowMs: number, createdAtMs: number): Promise<{ json: Uint8Array }>;
}

export interface RecorderOptions {
  /** Wait at most this long before writing a batch (default 50 ms). */
  readonly flushMs?: number;
  /** Write as soon as a project has this many events (default 500). */
  readonly batch?: number;
  /** Events waiting in all before new ones are dropped (default 20,000). */
  readonly maxPending?: number;
  readonly now?: () => number;
  readonly onError?: (error: unknown) => void;
}

export interface RecorderStats {
  readonly pending: number;
  readonly recorded: number;
  readonly dropped: number;
  readonly failed: number;
}

export class TraceRecorder {
  readonly #ingest: TraceIngestPort;
  readonly #flushMs: number;
  readonly #batch: number;
  readonly #maxPending: number;
  readonly #now: () => number;
  readonly #onError: (error: unknown) => void;
  /** Per project: each event's JSON, and their bytes. */
  readonly #buffers = new Map<number, { events: string[]; bytes: number }>();
  readonly #writing = new Set<Promise<void>>();
  #pending = 0;
  #recorded = 0;
  #dropped = 0;
  #failed = 0;
  #timer: NodeJS.Timeout | undefined;

  constructor(ingest: TraceIngestPort, options: RecorderOptions = {}) {
    this.#ingest = ingest;
    this.#flushMs = options.flushMs ?? 50;
    this.#batch = Math.min(options.batch ?? 500, 1000);
    this.#maxPending = options.maxPending ?? 20_000;
    this.#now = options.now ?? Date.now;
    this.#onError = options.onError ?? (() => undefined);
  }

  get stats(): RecorderStats {
    return { pending: this.#pending, recorded: this.#recorded, dropped: this.#dropped, failed: this.#failed };
  }

  /** Queues one ingest event (the shape `POST /api/v1/ingest` takes). */
  record(projectId: number, event: object): void {
    if (this.#pending >= this.#maxPending) {
      this.#dropped += 1;
      return;
    }
    let buffer = this.#buffers.get(projectId);
    if (buffer === undefined) this.#buffers.set(projectId, (buffer = { events: [], bytes: 0 }));
    const json = JSON.stringify(event);
    buffer.events.push(json);
    buffer.bytes += json.length;
    this.#pending += 1;
    // Well inside an ingest batch's limits (1,000 events, 5 MiB).
    if (buffer.events.length >= this.#batch || buffer.bytes >= MAX_BATCH_CHARS) this.#write(projectId);
    else if (this.#timer === undefined) {
      this.#timer = setTimeout(() => {
        this.#timer = undefined;
        for (const id of [...this.#buffers.keys()]) this.#write(id);
      }, this.#flushMs);
      this.#timer.unref();
    }
  }

  /** Writes everything buffered and waits for every write in flight (shutdown; tests). */
  async flush(): Promise<void> {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    for (const id of [...this.#buffers.keys()]) this.#write(id);
    await Promise.all([...this.#writing]);
  }

  #write(projectId: number): void {
    const buffer = this.#buffers.get(projectId);
    if (buffer === undefined) return;
    this.#buffers.delete(projectId);
    const { events } = buffer;
    const body = Buffer.from(`{"events":[${events.join(',')}]}`);
    const now = this.#now();
    const writing = this.#ingest
      .ingestBody(projectId, body, now, now)
      .then(
        (answer) => {
          const { rejected } = JSON.parse(Buffer.from(answer.json).toString('utf8')) as { rejected: unknown[] };
          this.#recorded += events.length - rejected.length;
          this.#failed += rejected.length;
          // A rejected gateway event is a bug in the gateway, not the caller's: say it once per batch.
          if (rejected.length > 0) this.#onError(new Error(`gateway trace rejected: ${JSON.stringify(rejected[0])}`));
        },
        (error: unknown) => {
          this.#failed += events.length;
          this.#onError(error);
        },
      )
      .finally(() => {
        this.#pending -= events.length;
        this.#writing.delete(writing);
      });
    this.#writing.add(writing);
  }
}
