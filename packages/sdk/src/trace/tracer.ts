import { PromptopsError } from '@promptops/core/errors';
import type { Http } from '../http.js';
import {
  buildEvent,
  invalidInput,
  newEventId,
  scoreIssues,
  utf8Length,
  type IngestEvent,
  type ScoreInput,
  type TraceInput,
} from './event.js';
import { TraceExporter, type ExporterConfig, type TraceStats } from './exporter.js';
import { activeSpan, annotateSpan, loadOtel, spanAttributes, type SpanLike } from './otel.js';

/** `client.trace()` and `client.score()`: input -> validated, serialized queue items; OpenTelemetry attributes. */

export interface TraceOptions {
  /** `false`: trace() and score() record nothing (OpenTelemetry attributes are still set). Default true. */
  readonly enabled?: boolean;
  /** A key with `traces:write` (editor), when the client's own key is a viewer key. Default the client's. */
  readonly apiKey?: string;
  /** Events per request (default 100, at most the server's 1,000). */
  readonly batchSize?: number;
  /** UTF-8 bytes per request (default and at most 5 MiB minus 64 KiB). */
  readonly maxBatchBytes?: number;
  /** How long an event may wait for its batch to fill (default 1000 ms). */
  readonly flushIntervalMs?: number;
  /** Events and scores held in memory at most; beyond it new ones are dropped and counted (default 10,000). */
  readonly maxQueueSize?: number;
  /** Timeout of one ingest or score request (default: the client's requestTimeoutMs, 10 s). */
  readonly requestTimeoutMs?: number;
  /** Backoff for network errors, 429 and 5xx: full jitter between the bounds; attempts per batch (default 200 ms, 30 s, 10). */
  readonly retry?: { readonly initialDelayMs?: number; readonly maxDelayMs?: number; readonly maxAttempts?: number };
  /** How long flush() and close() wait for the queue to be sent (default 10 s). */
  readonly flushTimeoutMs?: number;
  /** Send what is queued when the process is about to exit (Node `beforeExit`; default true). */
  readonly flushOnExit?: boolean;
  /** Set promptops.* / gen_ai.* attributes on the active span when `@opentelemetry/api` is installed (default true). */
  readonly otel?: boolean;
}

export interface TracerConfig extends ExporterConfig {
  readonly enabled: boolean;
  readonly otel: boolean;
}

/** Server limits (docs/api.md): 1,000 events and 5 MiB per request. */
export const SERVER_MAX_EVENTS = 1000;
export const SERVER_MAX_BYTES = 5 * 1024 * 1024;

export const TRACE_DEFAULTS = {
  batchSize: 100,
  maxBatchBytes: SERVER_MAX_BYTES - 64 * 1024,
  flushIntervalMs: 1000,
  maxQueueSize: 10_000,
  initialDelayMs: 200,
  maxDelayMs: 30_000,
  maxAttempts: 10,
  flushTimeoutMs: 10_000,
} as const;

/** The internal entry point instrumentOpenAI uses: record with the span captured when the call started. */
export const RECORD = Symbol('promptops.record');

export interface Recorder {
  [RECORD](input: TraceInput, span: SpanLike | undefined): string;
}

const ENVELOPE_BYTES = 13;

const invalidOption = (name: string, rule: string): PromptopsError =>
  new PromptopsError('invalid', 'invalid_options', `createClient: traces.${name} must be ${rule}`, {
    fix: `pass a valid traces.${name} or omit it for the default`,
  });

const numberOption = (value: unknown, name: string, fallback: number, min: number, max = Infinity): number => {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || Number.isNaN(value) || value < min || value > max) {
    throw invalidOption(name, max === Infinity ? `a number >= ${min}` : `a number between ${min} and ${max}`);
  }
  return value;
};

/** Validates `traces` options (throws `invalid_options`, like createClient's other options). */
export const traceConfig = (options: TraceOptions | false | undefined, requestTimeoutMs: number): TracerConfig => {
  const o: TraceOptions = options === false ? { enabled: false } : (options ?? {});
  if (o.apiKey !== undefined && (typeof o.apiKey !== 'string' || o.apiKey === ''))
    throw invalidOption('apiKey', 'a non-empty string');
  return {
    enabled: o.enabled !== false,
    otel: o.otel !== false,
    flushOnExit: o.flushOnExit !== false,
    batchSize: Math.floor(numberOption(o.batchSize, 'batchSize', TRACE_DEFAULTS.batchSize, 1, SERVER_MAX_EVENTS)),
    maxBatchBytes: numberOption(o.maxBatchBytes, 'maxBatchBytes', TRACE_DEFAULTS.maxBatchBytes, 1024, SERVER_MAX_BYTES),
    flushIntervalMs: numberOption(o.flushIntervalMs, 'flushIntervalMs', TRACE_DEFAULTS.flushIntervalMs, 0),
    maxQueueSize: numberOption(o.maxQueueSize, 'maxQueueSize', TRACE_DEFAULTS.maxQueueSize, 1),
    requestTimeoutMs: numberOption(o.requestTimeoutMs, 'requestTimeoutMs', requestTimeoutMs, 1),
    initialDelayMs: numberOption(o.retry?.initialDelayMs, 'retry.initialDelayMs', TRACE_DEFAULTS.initialDelayMs, 0),
    maxDelayMs: numberOption(o.retry?.maxDelayMs, 'retry.maxDelayMs', TRACE_DEFAULTS.maxDelayMs, 0),
    maxAttempts: numberOption(o.retry?.maxAttempts, 'retry.maxAttempts', TRACE_DEFAULTS.maxAttempts, 1),
    flushTimeoutMs: numberOption(o.flushTimeoutMs, 'flushTimeoutMs', TRACE_DEFAULTS.flushTimeoutMs, 0),
  };
};

export class Tracer {
  private exporter: TraceExporter | undefined;
  private closed = false;

  constructor(
    private readonly makeHttp: () => Http,
    private readonly config: TracerConfig,
    private readonly report: (error: PromptopsError) => void,
  ) {
    if (config.otel) void loadOtel();
  }

  /** Resolves once `@opentelemetry/api` is loaded or known absent. */
  ready(): Promise<unknown> {
    return this.config.otel ? loadOtel() : Promise.resolve();
  }

  trace(input: TraceInput): string {
    return this.record(input, this.config.otel ? activeSpan() : undefined);
  }

  record(input: TraceInput, span: SpanLike | undefined): string {
    let id = typeof input?.id === 'string' ? input.id : '';
    try {
      if (id === '') id = newEventId();
      if (typeof input !== 'object' || input === null) {
        this.refuse(invalidInput('trace', [{ path: '', message: 'must be an object' }]));
        return id;
      }
      const built = buildEvent({ ...input, ...linkIds(input, span) }, id, Date.now());
      if (!built.ok) {
        this.refuse(invalidInput('trace', built.issues));
        return id;
      }
      if (this.config.otel) annotateSpan(span, spanAttributes(built.event));
      if (!this.config.enabled) return id;
      const json = this.serialize(built.event);
      if (json !== undefined) this.queue().enqueue({ kind: 'event', id, json, bytes: utf8Length(json) });
    } catch (error) {
      // Whatever happens here (a throwing getter in the input…) must not reach the app's LLM call.
      this.refuse(new PromptopsError('invalid', 'invalid_trace', `trace dropped: ${String(error)}`));
    }
    return id;
  }

  score(eventId: string, score: ScoreInput): void {
    try {
      const issues = scoreIssues(eventId, score);
      if (issues.length > 0) return this.refuse(invalidInput('score', issues));
      if (!this.config.enabled) return;
      const { kind, value, name, comment } = score;
      const json = JSON.stringify({
        kind,
        value,
        ...(name === undefined ? {} : { name }),
        ...(comment === undefined ? {} : { comment }),
      });
      this.queue().enqueue({ kind: 'score', eventId, json });
    } catch (error) {
      this.refuse(new PromptopsError('invalid', 'invalid_score', `score dropped: ${String(error)}`));
    }
  }

  flush(timeoutMs?: number): Promise<boolean> {
    return this.exporter?.flush(timeoutMs) ?? Promise.resolve(true);
  }

  stats(): TraceStats {
    return this.exporter?.stats() ?? { queued: 0, sent: 0, dropped: 0, rejected: 0, retries: 0 };
  }

  close(): Promise<void> {
    this.closed = true;
    return this.exporter?.close() ?? Promise.resolve();
  }

  private queue(): TraceExporter {
    if (this.exporter === undefined) {
      this.exporter = new TraceExporter(this.makeHttp(), this.config, this.report);
      if (this.closed) void this.exporter.close(); // traced after close(): dropped and counted
    }
    return this.exporter;
  }

  private refuse(error: PromptopsError): void {
    if (this.config.enabled) this.queue().refuse(error);
    else this.report(error);
  }

  /**
   * JSON for the queue. Variables that cannot be serialized (a cycle, a BigInt) or that would make the
   * event larger than a batch are left out, noted in an attribute, rather than losing the call.
   */
  private serialize(event: IngestEvent): string | undefined {
    const limit = this.config.maxBatchBytes - ENVELOPE_BYTES;
    const attempt = (candidate: IngestEvent): string | undefined => {
      try {
        const json = JSON.stringify(candidate);
        return utf8Length(json) <= limit ? json : undefined;
      } catch {
        return undefined;
      }
    };
    const { variables: _variables, attributes, ...rest } = event;
    const json =
      attempt(event) ??
      attempt({
        ...rest,
        attributes: { ...attributes, 'promptops.variables.dropped': 'not serializable, or too large' },
      }) ??
      attempt({ ...rest, attributes: { 'promptops.variables.dropped': 'too large' } });
    if (json === undefined) {
      this.refuse(
        new PromptopsError(
          'invalid',
          'invalid_trace',
          `trace ${event.id} dropped: larger than a batch (${limit} bytes)`,
        ),
      );
    }
    return json;
  }
}

/** The active span's ids, unless the input names its own. */
const linkIds = (input: TraceInput, span: SpanLike | undefined): Pick<TraceInput, 'traceId' | 'spanId'> => {
  if (span === undefined || input.traceId !== undefined) return {};
  const context = span.spanContext();
  return { traceId: context.traceId, spanId: input.spanId ?? context.spanId };
};
