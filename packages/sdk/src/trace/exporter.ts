import { PromptopsError } from '@promptops/core/errors';
import { httpError, toPromptopsError } from '../errors.js';
import type { Http, PostResult } from '../http.js';
import { backoffDelay, sleep, unref } from '../timers.js';
import { onBeforeExit } from './exit-hook.js';
import { ItemQueue, type QueueItem } from './queue.js';
import { isSuccess, neverDelivered, retryAfterMs, retryableStatus } from './retry.js';

/**
 * Sends queued events to `POST /api/v1/ingest` in batches (by count, bytes and time) and scores to
 * `POST /api/v1/traces/:id/scores`, one delivery at a time, in order. The queue is bounded: when full,
 * new items are dropped and counted rather than growing memory or blocking the app. Failures that may
 * pass (network, 429, 5xx) are retried with capped, jittered backoff; a 429's Retry-After is honoured.
 * Resending events is safe after an ambiguous failure: the server is idempotent on event id.
 */

export interface ExporterConfig {
  readonly batchSize: number;
  readonly maxBatchBytes: number;
  readonly flushIntervalMs: number;
  readonly maxQueueSize: number;
  readonly requestTimeoutMs: number;
  readonly initialDelayMs: number;
  readonly maxDelayMs: number;
  /** Attempts per batch for network errors and 5xx (429s wait as told and do not count). */
  readonly maxAttempts: number;
  readonly flushTimeoutMs: number;
  readonly flushOnExit: boolean;
}

export interface TraceStats {
  /** Held in memory: waiting, or being sent. */
  readonly queued: number;
  /** Stored by the server (accepted, or already there from an earlier attempt). */
  readonly sent: number;
  /** Lost without the server refusing them: the queue was full, retries ran out, or close() timed out. */
  readonly dropped: number;
  /** Refused as invalid: by the SDK before queueing, or by the server (per item or whole request). */
  readonly rejected: number;
  /** Requests sent again after a failure. */
  readonly retries: number;
}

interface IngestAnswer {
  readonly accepted?: unknown;
  readonly duplicates?: unknown;
  readonly rejected?: readonly { index?: number; id?: string; issues?: { path?: string; message?: string }[] }[];
}

/** `{"events":[` + `]}`. */
const ENVELOPE_BYTES = 13;

type Outcome = 'done' | { readonly retry: true; readonly delayMs?: number; readonly counts: boolean };

export class TraceExporter {
  private readonly queue = new ItemQueue();
  /** UTF-8 bytes of the events waiting (a full batch's worth is sent without waiting for the timer). */
  private waitingBytes = 0;
  private inFlight = 0;
  private sent = 0;
  private dropped = 0;
  private rejected = 0;
  private retries = 0;
  /** Items enqueued so far, and items settled (sent, rejected or dropped) so far: FIFO, so flush waits on a count. */
  private enqueued = 0;
  private settled = 0;
  private readonly waiters = new Set<{ readonly target: number; readonly resolve: (done: boolean) => void }>();
  private due = false;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private draining: Promise<void> | undefined;
  private state: 'open' | 'closing' | 'closed' = 'open';
  private closing: Promise<void> | undefined;
  /** Aborts requests at the final stop. */
  private readonly stopper = new AbortController();
  /** Cuts backoff sleeps short: at stop, and on exit (no timer may hold the process). */
  private readonly waker = new AbortController();
  private exiting = false;
  private unhookExit: (() => void) | undefined;
  private lastReported = '';

  constructor(
    private readonly http: Http,
    private readonly config: ExporterConfig,
    private readonly report: (error: PromptopsError) => void,
  ) {}

  stats(): TraceStats {
    return {
      queued: this.queue.length + this.inFlight,
      sent: this.sent,
      dropped: this.dropped,
      rejected: this.rejected,
      retries: this.retries,
    };
  }

  /** Queues an item, or drops and counts it when the queue is full or the exporter closed. Never throws. */
  enqueue(item: QueueItem): boolean {
    if (this.state === 'closed') {
      this.dropped += 1;
      this.problem(new PromptopsError('invalid', 'client_closed', 'trace() after close(): the event was dropped'));
      return false;
    }
    if (this.queue.length + this.inFlight >= this.config.maxQueueSize) {
      this.dropped += 1;
      this.problem(
        new PromptopsError(
          'internal',
          'trace_queue_full',
          `the trace queue is full (${this.config.maxQueueSize} items); new events are dropped until it drains`,
          {
            fix: 'check that the server is reachable and accepts the key; raise traces.maxQueueSize if bursts are normal',
          },
        ),
      );
      return false;
    }
    this.queue.push(item);
    this.enqueued += 1;
    if (item.kind === 'event') this.waitingBytes += item.bytes + 1;
    if (this.config.flushOnExit && this.unhookExit === undefined) this.unhookExit = onBeforeExit(() => this.onExit());
    if (this.batchReady()) this.pump();
    else this.arm();
    return true;
  }

  /** Counts an item refused before it was queued (invalid input) and reports why. */
  refuse(error: PromptopsError): void {
    this.rejected += 1;
    this.problem(error);
  }

  /**
   * Resolves true once everything queued before the call is settled (sent, rejected or dropped), or false
   * after `timeoutMs` (the items stay queued and keep being retried). Never rejects.
   */
  flush(timeoutMs = this.config.flushTimeoutMs): Promise<boolean> {
    const target = this.enqueued;
    if (this.settled >= target) return Promise.resolve(true);
    return new Promise((resolve) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const waiter = {
        target,
        resolve: (done: boolean) => {
          if (!this.waiters.delete(waiter)) return;
          if (timer !== undefined) clearTimeout(timer);
          resolve(done);
        },
      };
      this.waiters.add(waiter);
      if (Number.isFinite(timeoutMs)) timer = unref(setTimeout(() => waiter.resolve(false), timeoutMs));
      this.pump();
    });
  }

  /** Flushes (up to flushTimeoutMs), then stops: what is still queued is dropped and counted. */
  close(): Promise<void> {
    if (this.closing !== undefined) return this.closing;
    this.state = 'closing';
    this.closing = (async () => {
      await this.flush();
      this.state = 'closed';
      if (this.timer !== undefined) clearTimeout(this.timer);
      this.timer = undefined;
      this.stopper.abort(new PromptopsError('invalid', 'client_closed', 'the client was closed'));
      this.waker.abort();
      this.unhookExit?.();
      await this.draining;
      this.settle(this.queue.clear(), 'dropped');
      this.waitingBytes = 0;
    })();
    return this.closing;
  }

  // ---- scheduling -------------------------------------------------------------------------------

  private batchReady(): boolean {
    return this.queue.length >= this.config.batchSize || this.waitingBytes >= this.config.maxBatchBytes;
  }

  /** The flush-interval timer: started by the first item that waits, unref'd. */
  private arm(): void {
    if (this.timer !== undefined || this.state === 'closed') return;
    this.timer = unref(
      setTimeout(() => {
        this.timer = undefined;
        this.due = true;
        this.pump();
      }, this.config.flushIntervalMs),
    );
  }

  private pump(): void {
    if (this.draining !== undefined || this.state === 'closed') return;
    this.draining = this.drain();
  }

  /** Sends while there is something worth sending: a full batch, a due timer, a flush, close or exit. */
  private async drain(): Promise<void> {
    // Never settle synchronously: pump() must have stored this promise before the finally clears it.
    await Promise.resolve();
    try {
      while (this.queue.length > 0 && this.state !== 'closed') {
        const eager = this.due || this.waiters.size > 0 || this.exiting || this.state === 'closing';
        if (!eager && !this.batchReady()) break;
        await this.sendNext();
      }
    } catch (error) {
      this.settle(this.inFlight, 'dropped'); // never expected; the items must not stay in flight forever
      this.problem(toPromptopsError(error, 'trace_export_failed'));
    } finally {
      this.draining = undefined;
      this.due = false;
      if (this.queue.length > 0 && this.state !== 'closed') {
        if (this.waiters.size > 0 || this.exiting || this.state === 'closing') this.pump();
        else this.arm();
      }
    }
  }

  private onExit(): void {
    // The loop ran dry: send what is left now, without backoff sleeps (their timers could not hold the process).
    this.exiting = true;
    this.waker.abort();
    this.pump();
  }

  private settle(count: number, as: 'sent' | 'dropped' | 'rejected'): void {
    if (count === 0) return;
    this[as] += count;
    this.settled += count;
    // Settled items leave the in-flight count at once: a flush() that resolves here sees it current.
    this.inFlight = Math.max(0, this.inFlight - count);
    for (const waiter of [...this.waiters]) if (this.settled >= waiter.target) waiter.resolve(true);
  }

  // ---- delivery ---------------------------------------------------------------------------------

  private async sendNext(): Promise<void> {
    const head = this.queue.shift()!;
    if (head.kind === 'score') {
      this.inFlight = 1;
      return this.deliverScore(head);
    }
    const batch = [head];
    let bytes = ENVELOPE_BYTES + head.bytes;
    for (let next = this.queue.peek(); next?.kind === 'event'; next = this.queue.peek()) {
      if (batch.length >= this.config.batchSize || bytes + 1 + next.bytes > this.config.maxBatchBytes) break;
      batch.push(next);
      bytes += 1 + next.bytes;
      this.queue.shift();
    }
    this.waitingBytes = Math.max(0, this.waitingBytes - (bytes - ENVELOPE_BYTES + 1));
    this.inFlight = batch.length;
    await this.deliverBatch(batch);
  }

  private async deliverBatch(batch: readonly Extract<QueueItem, { kind: 'event' }>[]): Promise<void> {
    const body = `{"events":[${batch.map((item) => item.json).join(',')}]}`;
    await this.withRetries(
      `POST /api/v1/ingest (${batch.length} events)`,
      () => this.http.post('/api/v1/ingest', body, this.stopper.signal, this.config.requestTimeoutMs),
      (result) => this.ingestOutcome(result, batch.length),
      // Events are idempotent on their id: any failure may be resent.
      () => true,
      (as) => this.settle(batch.length, as),
    );
  }

  private async deliverScore(item: Extract<QueueItem, { kind: 'score' }>): Promise<void> {
    const path = `/api/v1/traces/${encodeURIComponent(item.eventId)}/scores`;
    await this.withRetries(
      `POST ${path}`,
      () => this.http.post(path, item.json, this.stopper.signal, this.config.requestTimeoutMs),
      (result) => {
        if (isSuccess(result)) {
          this.settle(1, 'sent');
          return 'done';
        }
        // A score has no idempotency key: resend only what the server surely did not process.
        if (result.status === 429 || result.status === 503) return this.retryAfter(result, result.status === 503);
        this.settle(1, result.status >= 500 ? 'dropped' : 'rejected');
        this.problem(httpError(result.status, result.text, `POST ${path}`));
        return 'done';
      },
      neverDelivered,
      (as) => this.settle(1, as),
    );
  }

  /** Per-item results: accepted and duplicates are stored, `rejected` items are counted, never resent. */
  private ingestOutcome(result: PostResult, count: number): Outcome {
    if (retryableStatus(result.status)) {
      this.problem(httpError(result.status, result.text, `POST /api/v1/ingest (${count} events)`));
      return this.retryAfter(result, result.status !== 429);
    }
    let answer: IngestAnswer | undefined;
    try {
      answer = JSON.parse(result.text) as IngestAnswer;
    } catch {
      answer = undefined;
    }
    const rejectedItems: IngestAnswer['rejected'] = Array.isArray(answer?.rejected) ? answer.rejected : undefined;
    if (isSuccess(result) || (result.status === 400 && rejectedItems !== undefined)) {
      const rejected = isSuccess(result) ? Math.min(count, rejectedItems?.length ?? 0) : count;
      this.settle(count - rejected, 'sent');
      this.settle(rejected, 'rejected');
      const first = rejectedItems?.[0];
      if (first !== undefined) {
        const issues = (first.issues ?? []).map((issue) => `${issue.path || '(root)'} ${issue.message ?? ''}`);
        this.problem(
          new PromptopsError(
            'invalid',
            'trace_rejected',
            `the server rejected ${rejected} of ${count} trace events; first: ${first.id ?? `#${first.index}`}: ${issues.join('; ')}`,
            { fix: 'see docs/api.md (Traces) for the event limits' },
          ),
        );
      } else {
        this.lastReported = ''; // delivered cleanly: the next problem is news
      }
      return 'done';
    }
    // Any other 4xx (bad key, role, malformed, too large) would fail the same way again.
    this.settle(count, 'rejected');
    const error = httpError(result.status, result.text, `POST /api/v1/ingest (${count} events)`);
    this.problem(
      result.status === 401 || result.status === 403
        ? new PromptopsError(error.kind, error.code, error.message, {
            fix: 'tracing needs a key with traces:write (editor); pass it as createClient({ traces: { apiKey } })',
          })
        : error,
    );
    return 'done';
  }

  /**
   * Another try, after the server's Retry-After when it sent one (429, and 503 too), plus a little jitter
   * so many clients refused together do not return together. A 429 is the server pacing us, not a
   * failure: it does not count toward maxAttempts.
   */
  private retryAfter(result: PostResult, counts: boolean): Outcome {
    const delayMs = retryAfterMs(result.retryAfter, Date.now());
    return delayMs === undefined
      ? { retry: true, counts }
      : { retry: true, counts, delayMs: delayMs + Math.random() * Math.min(1000, delayMs * 0.1) };
  }

  /**
   * Sends until `outcome` says done, a failure is not worth retrying, the attempts run out, or the
   * exporter stops; every path settles the items exactly once.
   */
  private async withRetries(
    what: string,
    send: () => Promise<PostResult>,
    outcome: (result: PostResult) => Outcome,
    resendAfterFailure: (error: PromptopsError) => boolean,
    settle: (as: 'dropped' | 'rejected') => void,
  ): Promise<void> {
    let failures = 0;
    for (let attempt = 1; ; attempt += 1) {
      let next: Outcome;
      let failure: PromptopsError | undefined;
      try {
        next = outcome(await send());
      } catch (error) {
        if (this.stopper.signal.aborted) return settle('dropped');
        failure = toPromptopsError(error);
        if (!resendAfterFailure(failure)) {
          settle('dropped');
          return this.problem(
            new PromptopsError('internal', 'score_not_delivered', `${what}: ${failure.message}`, {
              fix: 'the score may or may not have been stored (scores have no idempotency key, so it is not resent)',
            }),
          );
        }
        next = { retry: true, counts: true };
      }
      if (next === 'done') return;
      if (next.counts) failures += 1;
      if (failure !== undefined) this.problem(failure);
      if (failures >= this.config.maxAttempts || this.state === 'closed' || (this.exiting && !next.counts)) {
        settle('dropped');
        return this.problem(
          new PromptopsError('internal', 'trace_delivery_failed', `${what}: gave up after ${attempt} attempts`, {
            fix: 'check that the promptops server is reachable; traces.retry.maxAttempts sets the attempts',
          }),
        );
      }
      this.retries += 1;
      // While exiting no timer may hold the process: network errors and 5xx are retried at once.
      if (!this.exiting) {
        const delay =
          next.delayMs ??
          backoffDelay(failures, this.config.initialDelayMs, this.config.maxDelayMs) + this.config.initialDelayMs / 2;
        await sleep(delay, this.waker.signal);
      }
      if ((this.state as string) === 'closed') return settle('dropped'); // close() may have run during the sleep
    }
  }

  /** Reports through onError, once until the problem changes (a long outage is one report). */
  private problem(error: PromptopsError): void {
    const key = `${error.code}:${error.message}`;
    if (key === this.lastReported) return;
    this.lastReported = key;
    this.report(error);
  }
}
