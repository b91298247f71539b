import { PromptopsError } from '@promptops/core/errors';
import { formatRef, parseNameRef, type Snapshot } from '@promptops/core/resolve';
import { SseParser, readEventStream, type SseMessage } from '@promptops/core/sse';
import { readCacheEntry, writeCacheFile } from './cache-file.js';
import { Emitter } from './emitter.js';
import { toPromptopsError } from './errors.js';
import {
  buildFallback,
  defaultsFrom,
  readLockfile,
  verifyLockfile,
  type Fallback,
  type FallbackOptions,
} from './fallback.js';
import { Http, type FetchLike } from './http.js';
import { ResolvedPrompt } from './resolved-prompt.js';
import { Resolver, type GetOptions } from './resolver.js';
import {
  advanceCursor,
  applyLabelEvent,
  applyLabelRulesChange,
  applyOverrideChange,
  applyRolloutChange,
  decodeEventText,
  diffLabels,
  diffRollouts,
  eventOverride,
  eventRollout,
  ingestVersion,
  knownVersion,
  parseFeedEvent,
  type DecodedEvent,
  type FeedEvent,
  type LabelChange,
  type RolloutChange,
} from './snapshot-store.js';
import { SnapshotSource, scopeQuery, type SnapshotScope } from './snapshot-source.js';
import { backoffDelay, linkedAbort, probeUntil, sleep, unref } from './timers.js';
import type { ScoreInput, TraceInput } from './trace/event.js';
import type { TraceStats } from './trace/exporter.js';
import type { SpanLike } from './trace/otel.js';
import { SHADOW, ShadowRunner, type ShadowOptions, type ShadowStats } from './trace/shadow.js';
import { RECORD, Tracer, traceConfig, type Recorder, type TraceOptions } from './trace/tracer.js';

export type Transport = 'sse' | 'poll';

export interface ClientOptions {
  /** The promptops server, e.g. `http://127.0.0.1:4680`. */
  readonly url: string;
  /** Sent as `Authorization: Bearer <key>`; a viewer key is enough. */
  readonly apiKey: string;
  /** What to serve when the registry has nothing (unreachable at start, or a prompt it lacks). */
  readonly fallback?: FallbackOptions;
  /** A file where the last snapshot is kept, so a restarted process serves without the server (Node only). */
  readonly cacheFile?: string;
  /** Only some prompts (a service that uses a few): the snapshot and the change feed hold just these. */
  readonly scope?: SnapshotScope;
  /** Receives every problem the client works around (unreachable server, dropped stream, bad cache file…). */
  readonly onError?: (error: PromptopsError) => void;
  /** `sse` (default): one streaming connection. `poll`: long-polling, for proxies that break streams. */
  readonly transport?: Transport;
  /** How often the whole snapshot is re-fetched as a safety net (default 30 s; 0 turns it off). */
  readonly snapshotCheckIntervalMs?: number;
  /** A fetch implementation (default the global one). */
  readonly fetch?: FetchLike;
  /** Timeout of snapshot and prefetch requests (default 10 s). */
  readonly requestTimeoutMs?: number;
  /**
   * Reconnection backoff (full jitter): first delay bound and cap (default 250 ms and 10 s). While the
   * server is away and the next attempt is further off than `probeIntervalMs`, `GET /healthz` is tried
   * about that often (default 1 s, at a random phase; 0: off) and a 2xx reconnects at once.
   */
  readonly reconnect?: {
    readonly initialDelayMs?: number;
    readonly maxDelayMs?: number;
    readonly probeIntervalMs?: number;
  };
  /** A stream silent for this long (no event, no keepalive) is dropped and reopened (default 45 s). */
  readonly streamIdleTimeoutMs?: number;
  /** Seconds a long-poll waits on the server (transport 'poll'; default 25). */
  readonly pollWaitSeconds?: number;
  /** Tracing: batching, queue bound, retries, flush on exit, OpenTelemetry. `false` records nothing. */
  readonly traces?: TraceOptions | false;
  /**
   * Bounds of shadow calls (`instrumentOpenAI` running a shadow rollout's candidate on a copy of a call,
   * in the background): at most `concurrency` at once (default 2) and `maxQueue` waiting (default 50);
   * beyond, dropped and counted in `shadowStats()`.
   */
  readonly shadow?: ShadowOptions;
  /**
   * Another flag system's say on the label: consulted by `get` when the call names no label, sha or ref
   * (`name` and the call's options). A label to serve, or undefined for the default; synchronous, on
   * every such call. A throw is reported (`resolve_label_failed`) and the default label serves.
   */
  readonly resolveLabel?: (name: string, options: GetOptions) => string | undefined;
}

export interface ChangeEvent extends LabelChange {
  /** The change-feed position that carried it. */
  readonly seq: number;
  /** The deployment kind (`promote`, `rollback`, `push`, …); `snapshot` when found by a snapshot check. */
  readonly kind: string;
}

/** A label's rollout started, stepped, paused or resumed (`rollout` set), or ended (`rollout` null). */
export interface RolloutEvent extends RolloutChange {
  /** The change-feed position that carried it (the snapshot's cursor when found by a snapshot check). */
  readonly seq: number;
}

/** A label's own targeting rules were set (`rules`: how many) or cleared (0), from the change feed. */
export interface LabelRulesEvent {
  readonly name: string;
  readonly label: string;
  readonly rules: number;
  readonly seq: number;
}

export interface ClientEvents extends Record<string, unknown> {
  change: ChangeEvent;
  rollout: RolloutEvent;
  labelRules: LabelRulesEvent;
  error: PromptopsError;
}

export interface ClientStatus {
  readonly state: 'idle' | 'starting' | 'ready' | 'closed';
  /** Where the served snapshot came from: the server, the cache file, or nothing (fallback only). */
  readonly snapshotFrom: 'server' | 'cache' | 'none';
  /** Whether the stream (or long-poll loop) is currently connected. */
  readonly connected: boolean;
  readonly cursor: number;
  readonly lastSyncAt: Date | null;
  readonly lastError: PromptopsError | null;
}

export interface PromptopsClient {
  /**
   * Loads the snapshot (else the cache file, else the fallback), then follows the change feed in the
   * background. Resolves whenever there is something to serve, reporting problems through onError;
   * rejects only when there is nothing at all. Idempotent.
   */
  ready(): Promise<void>;
  /** Synchronous, from memory. `name`, `name@label`, `name@v17` or `name@<sha prefix>`. */
  get(nameOrRef: string, options?: GetOptions): ResolvedPrompt;
  /** The snapshot served now (labels, versions, rollouts): read it, never change it. */
  snapshot(): Snapshot;
  /** Fetches a pinned version the snapshot does not hold and keeps it, so `get` of that pin works. */
  prefetch(ref: string): Promise<ResolvedPrompt>;
  on<K extends keyof ClientEvents>(event: K, listener: (payload: ClientEvents[K]) => void): () => void;
  off<K extends keyof ClientEvents>(event: K, listener: (payload: ClientEvents[K]) => void): void;
  status(): ClientStatus;
  /**
   * Records one LLM call (queued, sent in batches). Returns its event id, for `score()`. Never throws:
   * invalid input is reported through onError and counted as rejected.
   */
  trace(input: TraceInput): string;
  /** Queues a score for a traced call (sent after the event itself). Never throws. */
  score(eventId: string, score: ScoreInput): void;
  /** Sends everything queued so far; true once all of it is settled, false after `timeoutMs` (default traces.flushTimeoutMs, 10 s). */
  flush(options?: { readonly timeoutMs?: number }): Promise<boolean>;
  /** Counters of the trace pipeline: `{ queued, sent, dropped, rejected, retries }`. */
  traceStats(): TraceStats;
  /** Counters of shadow calls: `{ running, queued, done, dropped, failed }`. */
  shadowStats(): ShadowStats;
  /**
   * Flushes traces (up to traces.flushTimeoutMs), aborts every request, clears every timer and flushes
   * the cache file. `get` keeps serving the last state.
   */
  close(): Promise<void>;
}

const DEFAULTS = {
  snapshotCheckIntervalMs: 30_000,
  requestTimeoutMs: 10_000,
  initialDelayMs: 250,
  maxDelayMs: 10_000,
  probeIntervalMs: 1000,
  streamIdleTimeoutMs: 45_000,
  pollWaitSeconds: 25,
} as const;

const invalidOption = (message: string, fix: string): PromptopsError =>
  new PromptopsError('invalid', 'invalid_options', `createClient: ${message}`, { fix });

const normalizeUrl = (text: unknown): string => {
  const url = typeof text === 'string' && URL.canParse(text) ? new URL(text) : undefined;
  if (url === undefined || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
    throw invalidOption(
      `url ${JSON.stringify(text)} is not an http(s) URL`,
      'pass the server URL, e.g. http://127.0.0.1:4680',
    );
  }
  return `${url.origin}${url.pathname}`.replace(/\/+$/, '');
};

const nonNegative = (value: number | undefined, name: string, fallback: number): number => {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw invalidOption(
      `${name} must be a non-negative number`,
      `pass ${name} in milliseconds (or omit it for ${fallback})`,
    );
  }
  return value;
};

/**
 * Whether the server refused this client on purpose (a 4xx such as 401 or 429, or its subscriber limit):
 * then another request's success says nothing about the stream. Anything else (no answer, a timeout, a
 * dropped stream, a 5xx) is an outage that a success elsewhere shows to be over.
 */
const refusedByServer = (problem: PromptopsError): boolean => {
  const status = problem.details?.['status'];
  if (typeof status !== 'number') return false;
  return (status >= 400 && status < 500) || problem.code === 'too_many_subscribers';
};

const NO_OPTIONS: GetOptions = Object.freeze({});

const NO_ANSWER = new Set(['server_unreachable', 'server_timeout', 'stream_disconnected', 'stream_idle']);

/**
 * Whether a failed attempt says the server is away: no answer, a timeout, a dropped or silent stream, or
 * a gateway's 502/503/504 that is not a promptops error. Only then can a /healthz probe tell that it is
 * back; after anything else (a 5xx of the server itself, an event the client refused) the server
 * answers, and probing would only cut the backoff to a second.
 */
const serverAway = (problem: PromptopsError): boolean => {
  const status = problem.details?.['status'];
  if (typeof status !== 'number') return NO_ANSWER.has(problem.code);
  return (status === 502 || status === 503 || status === 504) && problem.code === `http_${status}`;
};

export const createClient = (options: ClientOptions): PromptopsClient => new Client(options);

class Client implements PromptopsClient, Recorder {
  private readonly http: Http;
  private readonly source: SnapshotSource;
  private readonly tracer: Tracer;
  private readonly shadow: ShadowRunner;
  private readonly resolver = new Resolver();
  private readonly emitter: Emitter<ClientEvents>;
  private readonly lifetime = new AbortController();
  private readonly transport: Transport;
  private readonly checkIntervalMs: number;
  private readonly initialDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly probeIntervalMs: number;
  private readonly baseFetch: FetchLike;
  private readonly idleTimeoutMs: number;
  private readonly pollWaitSeconds: number;
  private readonly requestTimeoutMs: number;
  private readonly lockfilePath: string | undefined;
  private readonly defaults: ReturnType<typeof defaultsFrom>;
  private fallback: Fallback;

  private state: ClientStatus['state'] = 'idle';
  private snapshotFrom: ClientStatus['snapshotFrom'] = 'none';
  private connected = false;
  /** True once the snapshot came from this server; until then each (re)connect fetches it first. */
  private synced = false;
  private lastSyncAt: Date | null = null;
  private lastError: PromptopsError | null = null;
  private readyPromise: Promise<void> | undefined;
  private loop: Promise<void> | undefined;
  private checkTimer: ReturnType<typeof setInterval> | undefined;
  private checking = false;
  private streamAbort: ((reason: PromptopsError) => void) | undefined;
  /** Cuts the follow loop's backoff short; set only while it waits out an outage. */
  private wakeFollow: (() => void) | undefined;
  private cacheWrite: Promise<void> | undefined;
  private cacheDirty = false;
  private readonly resolveLabel: ClientOptions['resolveLabel'];

  constructor(private readonly options: ClientOptions) {
    const url = normalizeUrl(options.url);
    if (options.resolveLabel !== undefined && typeof options.resolveLabel !== 'function') {
      throw invalidOption(
        'resolveLabel must be a function (name, options) => label | undefined',
        'pass a function, or omit resolveLabel to serve the default label',
      );
    }
    this.resolveLabel = options.resolveLabel;
    if (typeof options.apiKey !== 'string' || options.apiKey === '') {
      throw invalidOption('apiKey is required', 'pass the API key (e.g. process.env.PROMPTOPS_API_KEY)');
    }
    const transport = options.transport ?? 'sse';
    if (transport !== 'sse' && transport !== 'poll') {
      throw invalidOption(
        `transport must be 'sse' or 'poll', got ${JSON.stringify(transport)}`,
        "use 'sse' (default) or 'poll'",
      );
    }
    this.transport = transport;
    this.checkIntervalMs = nonNegative(
      options.snapshotCheckIntervalMs,
      'snapshotCheckIntervalMs',
      DEFAULTS.snapshotCheckIntervalMs,
    );
    this.initialDelayMs = nonNegative(
      options.reconnect?.initialDelayMs,
      'reconnect.initialDelayMs',
      DEFAULTS.initialDelayMs,
    );
    this.maxDelayMs = nonNegative(options.reconnect?.maxDelayMs, 'reconnect.maxDelayMs', DEFAULTS.maxDelayMs);
    this.probeIntervalMs = nonNegative(
      options.reconnect?.probeIntervalMs,
      'reconnect.probeIntervalMs',
      DEFAULTS.probeIntervalMs,
    );
    this.idleTimeoutMs = nonNegative(options.streamIdleTimeoutMs, 'streamIdleTimeoutMs', DEFAULTS.streamIdleTimeoutMs);
    this.pollWaitSeconds = nonNegative(options.pollWaitSeconds, 'pollWaitSeconds', DEFAULTS.pollWaitSeconds);
    this.requestTimeoutMs = nonNegative(options.requestTimeoutMs, 'requestTimeoutMs', DEFAULTS.requestTimeoutMs);
    const baseFetch: FetchLike = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
    this.baseFetch = baseFetch;
    // Any request that succeeds (snapshot check, prefetch, trace export) shows the server answers again.
    const fetchImpl: FetchLike = async (input, init) => {
      const response = await baseFetch(input, init);
      if (response.ok) this.wakeFollow?.();
      return response;
    };
    this.http = new Http(url, options.apiKey, fetchImpl, this.requestTimeoutMs);
    this.source = new SnapshotSource(this.http, scopeQuery(options.scope));
    const traces = traceConfig(options.traces, this.requestTimeoutMs);
    const traceKey = options.traces === false ? undefined : options.traces?.apiKey;
    this.tracer = new Tracer(
      () => new Http(url, traceKey ?? options.apiKey, fetchImpl, traces.requestTimeoutMs),
      traces,
      (error) => this.notify(error),
    );
    this.shadow = new ShadowRunner(options.shadow ?? {}, (error) =>
      this.notify(toPromptopsError(error, 'internal', 'a shadow call could not be run or recorded')),
    );
    this.emitter = new Emitter((error) =>
      this.report(toPromptopsError(error, 'listener_failed', "a 'change' listener threw")),
    );

    // In-code defaults and a lockfile object are usable at once; a lockfile path is read by ready().
    this.defaults = defaultsFrom(options.fallback?.prompts);
    const lockfile = options.fallback?.lockfile;
    this.lockfilePath = typeof lockfile === 'string' ? lockfile : undefined;
    const lock = lockfile === undefined || typeof lockfile === 'string' ? undefined : verifyLockfile(lockfile);
    this.fallback = buildFallback(lock, this.defaults);
    this.resolver.setFallback(this.fallback);
    this.resolver.outage = () => (this.synced ? undefined : { url: this.http.baseUrl, problem: this.lastError });
  }

  // ---- public API -------------------------------------------------------------------------------

  ready(): Promise<void> {
    if (this.state === 'closed') {
      return Promise.reject(
        new PromptopsError('invalid', 'client_closed', 'ready() after close()', { fix: 'create a new client' }),
      );
    }
    // The OpenTelemetry API (when installed) is loaded alongside, so spans are annotated from the first call.
    this.readyPromise ??= Promise.all([this.start(), this.tracer.ready()]).then(
      () => undefined,
      (error: unknown) => {
        this.readyPromise = undefined; // a later ready() tries again
        throw error;
      },
    );
    return this.readyPromise;
  }

  get(nameOrRef: string, options?: GetOptions): ResolvedPrompt {
    if (this.resolveLabel !== undefined && options?.label === undefined && options?.sha === undefined) {
      const label = this.pickLabel(nameOrRef, options);
      if (label !== undefined) return this.resolver.get(nameOrRef, { ...options, label });
    }
    return this.resolver.get(nameOrRef, options);
  }

  snapshot(): Snapshot {
    return this.resolver.current;
  }

  private pickLabel(nameOrRef: string, options: GetOptions | undefined): string | undefined {
    if (nameOrRef.includes('@')) return undefined; // the ref says what to serve
    try {
      const label = this.resolveLabel!(nameOrRef, options ?? NO_OPTIONS);
      return typeof label === 'string' && label !== '' ? label : undefined;
    } catch (error) {
      const message = `resolveLabel('${nameOrRef}') threw: ${error instanceof Error ? error.message : String(error)}`;
      this.report(new PromptopsError('internal', 'resolve_label_failed', `${message}; the default label served`), true);
      return undefined;
    }
  }

  async prefetch(ref: string): Promise<ResolvedPrompt> {
    const parsed = parseNameRef(ref);
    const refText = formatRef(parsed.ref);
    const path = `/api/v1/prompts/${encodeURIComponent(parsed.name)}/versions/${encodeURIComponent(refText)}`;
    const record = await this.http.json<Record<string, unknown>>(path, this.lifetime.signal);
    const version = ingestVersion(parsed.name, record['sha'], record['version'], record['content'], `GET ${path}`);
    this.resolver.addPin(parsed.name, version);
    const label = parsed.ref.kind === 'label' ? parsed.ref.label : null;
    return new ResolvedPrompt(
      parsed.name,
      version.version,
      version.sha,
      label,
      'base',
      'snapshot',
      this.resolver.releaseSha,
      version.content,
    );
  }

  on<K extends keyof ClientEvents>(event: K, listener: (payload: ClientEvents[K]) => void): () => void {
    return this.emitter.on(event, listener);
  }

  off<K extends keyof ClientEvents>(event: K, listener: (payload: ClientEvents[K]) => void): void {
    this.emitter.off(event, listener);
  }

  status(): ClientStatus {
    return {
      state: this.state,
      snapshotFrom: this.snapshotFrom,
      connected: this.connected,
      cursor: this.resolver.current.cursor,
      lastSyncAt: this.lastSyncAt,
      lastError: this.lastError,
    };
  }

  trace(input: TraceInput): string {
    return this.tracer.trace(input);
  }

  [RECORD](input: TraceInput, span: SpanLike | undefined): string {
    return this.tracer.record(input, span);
  }

  score(eventId: string, score: ScoreInput): void {
    this.tracer.score(eventId, score);
  }

  flush(options?: { readonly timeoutMs?: number }): Promise<boolean> {
    return this.tracer.flush(options?.timeoutMs);
  }

  traceStats(): TraceStats {
    return this.tracer.stats();
  }

  shadowStats(): ShadowStats {
    return this.shadow.stats();
  }

  /** The shadow runner `instrumentOpenAI` uses for this client. */
  get [SHADOW](): ShadowRunner {
    return this.shadow;
  }

  async close(): Promise<void> {
    if (this.state === 'closed') return this.tracer.close();
    await this.shadow.close(); // running shadow calls finish and are recorded before the traces flush
    const traces = this.tracer.close();
    this.state = 'closed';
    this.connected = false;
    if (this.checkTimer !== undefined) clearInterval(this.checkTimer);
    this.checkTimer = undefined;
    this.lifetime.abort(new PromptopsError('invalid', 'client_closed', 'the client was closed'));
    await this.loop?.catch(() => undefined);
    await this.cacheWrite;
    await traces;
  }

  // ---- start-up ---------------------------------------------------------------------------------

  private async start(): Promise<void> {
    this.state = 'starting';
    if (this.lockfilePath !== undefined) {
      try {
        this.fallback = buildFallback(await readLockfile(this.lockfilePath), this.defaults, this.lockfilePath);
        this.resolver.setFallback(this.fallback);
      } catch (error) {
        this.report(toPromptopsError(error));
      }
    }
    if (this.fallback.withoutContent.length > 0) {
      this.report(
        new PromptopsError(
          'invalid',
          'lockfile_not_embedded',
          `the lockfile has no content for: ${this.fallback.withoutContent.join(', ')}`,
          {
            fix: 'generate it with `promptops lock --embed` so the client can serve those prompts without the server',
          },
        ),
      );
    }

    let serverError: PromptopsError | undefined;
    await this.loadCacheFile(); // first: with its ETag the server answers 304 when it is current
    try {
      await this.syncSnapshot();
    } catch (error) {
      if (this.lifetime.signal.aborted) return;
      serverError = toPromptopsError(error);
      this.report(serverError, true); // the follow loop's retries then report it only if it changes
    }
    this.resolver.loaded = true;
    if (!this.resolver.hasContent && serverError !== undefined) {
      this.state = 'idle';
      throw new PromptopsError(
        'internal',
        'nothing_to_serve',
        `${serverError.message}; and there is no cache file or fallback to serve instead`,
        {
          fix: 'start the server, or give createClient a fallback (a lockfile made with `promptops lock --embed`, or in-code prompts)',
          details: { cause: serverError.code },
        },
      );
    }
    if (this.lifetime.signal.aborted) return;
    this.state = 'ready';
    this.loop = this.follow();
    if (this.checkIntervalMs > 0) {
      this.checkTimer = unref(setInterval(() => void this.checkSnapshot(), this.checkIntervalMs));
    }
  }

  private async loadCacheFile(): Promise<void> {
    if (this.options.cacheFile === undefined) return;
    try {
      const cached = await readCacheEntry(this.options.cacheFile, this.http.baseUrl, (etag) =>
        this.source.prefetch(etag, this.lifetime.signal),
      );
      if (cached !== undefined && !this.synced) {
        this.resolver.setSnapshot(cached.snapshot);
        this.source.remember(cached.snapshot, cached.etag);
        this.snapshotFrom = 'cache';
      }
    } catch (error) {
      this.report(toPromptopsError(error));
    }
  }

  // ---- snapshot ---------------------------------------------------------------------------------

  /** Fetches the whole snapshot and installs it (emitting a change per label that moved); 304 keeps ours. */
  private async syncSnapshot(): Promise<void> {
    const previous = this.resolver.current;
    const snapshot = await this.source.fetch(previous, this.lifetime.signal);
    if (this.lifetime.signal.aborted) return;
    this.synced = true;
    this.snapshotFrom = 'server';
    this.lastSyncAt = new Date();
    if (snapshot !== previous) this.install(snapshot, previous);
  }

  private install(snapshot: Snapshot, previous: Snapshot): void {
    this.resolver.setSnapshot(snapshot);
    this.persist();
    if (this.emitter.has('change')) {
      for (const change of diffLabels(previous, snapshot))
        this.emitter.emit('change', { ...change, seq: snapshot.cursor, kind: 'snapshot' });
    }
    if (this.emitter.has('rollout')) {
      for (const change of diffRollouts(previous, snapshot))
        this.emitter.emit('rollout', { ...change, seq: snapshot.cursor });
    }
  }

  /**
   * The safety net: re-fetch the snapshot and install it when its labels differ from ours and it is not
   * behind us (an event we missed or misapplied, another project), or when ours is not the server's yet.
   */
  private async checkSnapshot(): Promise<void> {
    if (this.checking || this.state !== 'ready') return;
    this.checking = true;
    try {
      const current = this.resolver.current;
      const snapshot = await this.source.fetch(current, this.lifetime.signal); // `current` itself on 304
      if (this.lifetime.signal.aborted) return;
      this.lastSyncAt = new Date();
      const differs =
        snapshot.project !== current.project ||
        diffLabels(current, snapshot).length > 0 ||
        diffRollouts(current, snapshot).length > 0;
      if (!this.synced || (differs && snapshot.cursor >= current.cursor)) {
        if (this.synced && snapshot.cursor === current.cursor) {
          const message = `the snapshot check found labels or rollouts that differ at cursor ${current.cursor}; replaced`;
          this.report(new PromptopsError('internal', 'snapshot_drift', message));
        }
        this.synced = true;
        this.snapshotFrom = 'server';
        this.install(snapshot, current);
      } else if (snapshot.cursor > current.cursor) {
        // Same labels, later cursor (audit entries that move no label): only the position moves.
        this.commit(advanceCursor(current, snapshot.cursor), undefined);
      }
    } catch (error) {
      if (!this.lifetime.signal.aborted) this.report(toPromptopsError(error), true);
    } finally {
      this.checking = false;
    }
  }

  // ---- following the change feed ----------------------------------------------------------------

  /** Runs until close(): (re)connects with full-jitter backoff, resuming after the cursor. */
  private async follow(): Promise<void> {
    const signal = this.lifetime.signal;
    let attempt = 0;
    while (!signal.aborted) {
      let connectedThisRound = false;
      let refused = false;
      let away = false;
      try {
        if (!this.synced) await this.syncSnapshot();
        connectedThisRound = this.transport === 'sse' ? await this.streamOnce() : await this.pollOnce();
        if (this.transport === 'sse') this.connected = false; // the server ended the stream
      } catch (error) {
        this.connected = false;
        if (signal.aborted) break;
        const problem = toPromptopsError(error);
        // Our cursor is past the server's newest change: another database, or one restored from a
        // backup. Start over from its snapshot rather than trust what we hold.
        if (problem.code === 'cursor_ahead') this.synced = false;
        refused = refusedByServer(problem);
        away = serverAway(problem);
        this.report(problem, true);
      }
      if (signal.aborted) break;
      if (connectedThisRound) {
        attempt = 0;
        this.lastReported = ''; // the next outage is news again
        if (this.transport === 'poll') continue; // the next long-poll at once
      }
      await this.backoff(backoffDelay(attempt, this.initialDelayMs, this.maxDelayMs), !refused, away);
      attempt += 1;
    }
  }

  /**
   * Waits before the next connection attempt. After an outage (`wakeable`), the wait ends as soon as
   * any other request gets a successful answer: the server is back, so the stream reconnects at once
   * instead of waiting out up to `maxDelayMs`. While the server is `away`, a client with nothing else
   * to send probes it. A refusal by the server (401, 429…) waits it out.
   */
  private async backoff(ms: number, wakeable: boolean, away: boolean): Promise<void> {
    const nap = linkedAbort(this.lifetime.signal);
    if (wakeable) this.wakeFollow = () => nap.abort();
    const probing =
      wakeable && away && this.probeIntervalMs > 0 && ms > this.probeIntervalMs
        ? probeUntil((signal) => this.probeServer(signal), this.probeIntervalMs, nap.signal).then((up) => {
            if (up) nap.abort();
          })
        : undefined;
    try {
      await sleep(ms, nap.signal);
    } finally {
      this.wakeFollow = undefined;
      nap.abort(); // ends the probing (and its request) with the wait
      await probing;
      nap.dispose();
    }
  }

  /**
   * One `GET /healthz`: unauthenticated, no database work on the server. True on a 2xx; a refusal
   * (4xx) or no answer keeps the backoff. Failures are expected while the server is away: not reported.
   */
  private async probeServer(signal: AbortSignal): Promise<boolean> {
    const link = linkedAbort(signal, this.requestTimeoutMs);
    try {
      const response = await this.baseFetch(`${this.http.baseUrl}/healthz`, {
        method: 'GET',
        headers: { accept: 'application/json' },
        signal: link.signal,
      });
      await response.arrayBuffer(); // frees the connection for the stream
      return response.ok;
    } catch {
      return false;
    } finally {
      link.dispose();
    }
  }

  /** One SSE connection, read to its end. Returns whether it got as far as the server's `ready`. */
  private async streamOnce(): Promise<boolean> {
    const cursor = this.resolver.current.cursor;
    const link = linkedAbort(this.lifetime.signal);
    this.streamAbort = (reason) => link.abort(reason);
    let reachedReady = false;
    let lastActivity = Date.now();
    let opened = false;
    let watchdog: ReturnType<typeof setTimeout> | undefined;
    // One timer: first the connect timeout, then the idle watchdog (keepalives count as activity).
    const arm = (ms: number): void => {
      watchdog = unref(
        setTimeout(() => {
          if (!opened) {
            const message = `GET ${this.http.baseUrl}/api/v1/stream did not answer within ${this.requestTimeoutMs} ms`;
            return link.abort(new PromptopsError('internal', 'server_timeout', message));
          }
          const idle = Date.now() - lastActivity;
          if (idle < this.idleTimeoutMs) return arm(this.idleTimeoutMs - idle);
          link.abort(
            new PromptopsError('internal', 'stream_idle', `the change stream was silent for ${idle} ms; reconnecting`),
          );
        }, ms),
      );
    };
    const queue: SseMessage[] = [];
    // The stream's `retry:` field is ignored: reconnection follows the client's own backoff.
    const parser = new SseParser((message) => queue.push(message));
    try {
      arm(this.requestTimeoutMs);
      const response = await this.http.stream(
        `/api/v1/stream?after=${cursor}&catchup=snapshot${this.source.scope}`,
        { accept: 'text/event-stream', 'last-event-id': String(cursor) },
        link.signal,
      );
      opened = true;
      lastActivity = Date.now();
      clearTimeout(watchdog);
      arm(this.idleTimeoutMs);
      await readEventStream(
        response.body!,
        parser,
        () => (lastActivity = Date.now()),
        () => {
          if (queue.length === 0) return undefined;
          const messages = queue.splice(0);
          return (async () => {
            for (const message of messages) {
              if (message.event === 'ready') {
                reachedReady = true;
                this.onStreamReady(message.data, cursor);
              } else if (message.event === 'resync') {
                this.synced = false; // far behind: the server ends the stream; reload the snapshot, resume after it
              } else {
                const pending = this.handleEvent(message.data, 'stream');
                if (pending !== undefined) await pending;
              }
            }
          })();
        },
      );
      return reachedReady;
    } catch (error) {
      // An abort we caused (idle watchdog, cursor went backwards) carries its reason.
      const reason = link.signal.reason as unknown;
      if (!this.lifetime.signal.aborted && link.signal.aborted && reason instanceof PromptopsError) throw reason;
      if (error instanceof PromptopsError || this.lifetime.signal.aborted) throw error;
      const cause =
        error instanceof Error ? ((error.cause as Error | undefined)?.message ?? error.message) : String(error);
      throw new PromptopsError(
        'internal',
        'stream_disconnected',
        `the change stream from ${this.http.baseUrl} dropped: ${cause}; reconnecting`,
      );
    } finally {
      if (watchdog !== undefined) clearTimeout(watchdog);
      this.streamAbort = undefined;
      // Whatever ended the read (a bad event included), the connection must not stay open unread.
      link.abort(new PromptopsError('internal', 'stream_closed', 'the stream was closed by the client'));
      link.dispose();
    }
  }

  /** `sent`: the position this stream asked to start after (a snapshot check may have moved ours on since). */
  private onStreamReady(data: string, sent: number): void {
    this.connected = true;
    this.lastSyncAt = new Date();
    let cursor: unknown;
    try {
      cursor = (JSON.parse(data) as { cursor?: unknown }).cursor;
    } catch {
      cursor = undefined;
    }
    // The server is behind us: another database, or one restored from a backup. Start over from its snapshot.
    if (typeof cursor === 'number' && cursor < sent) {
      this.synced = false;
      this.streamAbort?.(
        new PromptopsError(
          'internal',
          'cursor_regressed',
          `the server's change feed is at ${cursor}, behind ours (${sent}); reloading the snapshot`,
        ),
      );
    }
  }

  /** One long-poll. Returns true when the server answered (so the next poll starts at once). */
  private async pollOnce(): Promise<boolean> {
    const cursor = this.resolver.current.cursor;
    const path = `/api/v1/changes?after=${cursor}&wait=${this.pollWaitSeconds}${this.source.scope}`;
    const body = await this.http.json<{ events?: unknown; cursor?: unknown }>(
      path,
      this.lifetime.signal,
      this.pollWaitSeconds * 1000 + this.requestTimeoutMs,
    );
    this.connected = true;
    this.lastSyncAt = new Date();
    if (typeof body.cursor === 'number' && body.cursor < cursor) {
      this.synced = false; // see onStreamReady
      return true;
    }
    for (const event of Array.isArray(body.events) ? body.events : []) {
      const pending = this.handleEvent(event, 'poll');
      if (pending !== undefined) await pending;
    }
    if (typeof body.cursor === 'number') this.commit(advanceCursor(this.resolver.current, body.cursor), undefined);
    return true;
  }

  /**
   * Applies one event (a JSON string from the stream, or an object from a long-poll). Synchronous when
   * the event carries its content or the version is known; otherwise fetches the version first, and the
   * caller awaits before the next event so order is kept. A failure propagates: the cursor has not
   * moved, so the reconnect replays the event.
   */
  private handleEvent(raw: unknown, origin: 'stream' | 'poll'): Promise<void> | undefined {
    const decoded: DecodedEvent =
      typeof raw === 'string'
        ? decodeEventText(raw, `the ${origin}`)
        : { event: parseFeedEvent(raw), version: undefined };
    const { event } = decoded;
    const snapshot = this.resolver.current;
    if (event.seq <= snapshot.cursor) return undefined; // a replay: already applied
    if (event.type === 'rollout') {
      // From the stream it was checked while decoding; a long-poll's is checked here.
      const rollout =
        'rollout' in decoded ? decoded.rollout : eventRollout(event, `change event ${event.seq}`, snapshot);
      const { snapshot: next, change } = applyRolloutChange(snapshot, event, rollout);
      this.commit(next, event.name);
      if (change !== undefined) this.emitter.emit('rollout', { ...change, seq: event.seq });
      return undefined;
    }
    if (event.type === 'override') {
      const override =
        'override' in decoded && decoded.override !== undefined
          ? decoded.override
          : eventOverride(event, `change event ${event.seq}`, snapshot);
      this.commit(applyOverrideChange(snapshot, event, override), event.name);
      return undefined;
    }
    if (event.type === 'label_rules') {
      this.commit(applyLabelRulesChange(snapshot, event), event.name);
      const rules = Array.isArray(event.rules) ? event.rules.length : 0;
      this.emitter.emit('labelRules', { name: event.name, label: event.label, rules, seq: event.seq });
      return undefined;
    }
    if (event.type !== 'label') {
      this.commit(advanceCursor(snapshot, event.seq), undefined);
      return undefined;
    }
    if (event.sha === null) return this.applyLabel(event, undefined);
    const known = knownVersion(snapshot, event.name, event.sha);
    if (decoded.version !== undefined || known !== undefined || event.content !== undefined) {
      const version =
        decoded.version ??
        ingestVersion(
          event.name,
          event.sha,
          event.version ?? known?.version,
          event.content,
          `change event ${event.seq}`,
          known,
        );
      return this.applyLabel(event, version);
    }
    const path = `/api/v1/prompts/${encodeURIComponent(event.name)}/versions/${event.sha}`;
    return this.http.json<Record<string, unknown>>(path, this.lifetime.signal).then((record) => {
      const version = ingestVersion(event.name, event.sha, record['version'], record['content'], `GET ${path}`);
      return this.applyLabel(event, version);
    });
  }

  private applyLabel(
    event: Extract<FeedEvent, { type: 'label' }>,
    version: ReturnType<typeof ingestVersion> | undefined,
  ): undefined {
    const { snapshot, change } = applyLabelEvent(this.resolver.current, event, version);
    this.commit(snapshot, event.name);
    if (change !== undefined) this.emitter.emit('change', { ...change, seq: event.seq, kind: event.kind });
    return undefined;
  }

  private commit(snapshot: Snapshot, name: string | undefined): void {
    if (snapshot === this.resolver.current) return;
    this.resolver.updateSnapshot(snapshot, name);
    this.persist();
  }

  // ---- cache file and errors --------------------------------------------------------------------

  /** Writes the snapshot to the cache file; bursts coalesce into one write of the latest state. */
  private persist(): void {
    const file = this.options.cacheFile;
    if (file === undefined || !this.synced) return;
    this.cacheDirty = true;
    this.cacheWrite ??= (async () => {
      while (this.cacheDirty) {
        this.cacheDirty = false;
        try {
          const snapshot = this.resolver.current;
          await writeCacheFile(file, this.http.baseUrl, snapshot, this.source.etagOf(snapshot));
        } catch (error) {
          this.report(toPromptopsError(error));
        }
      }
      this.cacheWrite = undefined;
    })();
  }

  private lastReported = '';

  /** Trace pipeline problems: to onError and 'error', without touching status().lastError (the registry's health). */
  private notify(error: PromptopsError): void {
    try {
      this.options.onError?.(error);
    } catch {
      // the app's error handler must not break the client
    }
    this.emitter.emit('error', error);
  }

  /** Reports through onError and the 'error' event. `repeating` errors (retries) are reported once until they change. */
  private report(error: PromptopsError, repeating = false): void {
    this.lastError = error;
    const key = `${error.code}:${error.message}`;
    if (repeating && key === this.lastReported) return;
    this.lastReported = repeating ? key : '';
    try {
      this.options.onError?.(error);
    } catch {
      // the app's error handler must not break the client
    }
    this.emitter.emit('error', error);
  }
}
