import type { DeploymentKind, FieldIssue, LatencySketch, MetricsGroupBy } from '@promptops/core';
import type { EvalStore, EvalTx } from './eval-port.js';
import type { ReviewReads, ReviewTx } from './review-port.js';
import type { AccessReads, AccessTx, ProjectRow, Role } from './access-port.js';

/**
 * The storage port. The registry service talks only to this interface; two adapters implement it
 * (SQLite, the embedded default, and PostgreSQL, for several replicas) and one contract suite
 * (`test/storage.contract.test.ts`) runs against both. Nothing of either database leaks upward.
 *
 * Rows use the domain's words; times are ISO-8601 UTC strings; ids are integers.
 * Versions, deployments and audit entries are append-only, enforced by triggers in both databases.
 */

export type Dialect = 'sqlite' | 'postgres';

// Roles and projects are declared beside the access port (which port.ts extends) and re-exported here.
export { ROLES } from './access-port.js';
export type { ProjectRow, Role } from './access-port.js';

export interface ApiKeyRow {
  readonly id: number;
  readonly projectId: number;
  /** Public, non-secret lookup part of the key (`po_<keyId>_<secret>`). */
  readonly keyId: string;
  /** sha256 hex of the whole key; the key itself is never stored. */
  readonly hash: string;
  readonly role: Role;
  readonly name: string;
  readonly createdBy: string;
  readonly createdAt: string;
  readonly lastUsedAt: string | null;
  readonly revokedAt: string | null;
}

export interface PromptRow {
  readonly id: number;
  readonly projectId: number;
  readonly name: string;
  /** 0 and null before the first version is inserted. */
  readonly headVersion: number;
  readonly headSha: string | null;
  readonly createdAt: string;
  readonly updatedAt: string;
}

export interface VersionRow {
  readonly projectId: number;
  readonly promptId: number;
  readonly name: string;
  readonly version: number;
  readonly sha: string;
  /** The canonical JSON of the content, exactly as hashed. */
  readonly content: string;
  readonly parentSha: string | null;
  readonly author: string;
  readonly message: string;
  readonly createdAt: string;
}

export interface LabelRow {
  readonly promptId: number;
  readonly name: string;
  readonly label: string;
  readonly sha: string;
  readonly version: number;
  readonly updatedAt: string;
  readonly updatedBy: string;
}

/** A label with the content of the version it points at (what an SDK snapshot holds). */
export interface LabeledVersionRow extends LabelRow {
  /** The canonical JSON of the target version's content. */
  readonly content: string;
}

export interface DeploymentRow {
  readonly id: number;
  readonly projectId: number;
  readonly promptId: number;
  readonly name: string;
  readonly label: string;
  readonly fromSha: string | null;
  readonly fromVersion: number | null;
  readonly toSha: string;
  readonly toVersion: number;
  readonly kind: DeploymentKind;
  readonly actor: string;
  readonly reason: string;
  readonly createdAt: string;
}

export interface AuditRow {
  readonly projectId: number;
  readonly seq: number;
  readonly at: string;
  readonly actor: string;
  readonly action: string;
  readonly target: string;
  /** JSON object text. */
  readonly data: string;
  readonly prevHash: string;
  readonly hash: string;
  /** HMAC of the hash with the server's audit key; null when written without one. */
  readonly mac: string | null;
}

export interface NewVersion {
  readonly projectId: number;
  readonly promptId: number;
  readonly version: number;
  readonly sha: string;
  readonly content: string;
  readonly parentSha: string | null;
  readonly author: string;
  readonly message: string;
  readonly createdAt: string;
}

export interface NewDeployment {
  readonly projectId: number;
  readonly promptId: number;
  readonly label: string;
  readonly fromSha: string | null;
  readonly fromVersion: number | null;
  readonly toSha: string;
  readonly toVersion: number;
  readonly kind: DeploymentKind;
  readonly actor: string;
  readonly reason: string;
  readonly createdAt: string;
}

export interface NewAuditEntry {
  readonly projectId: number;
  readonly at: string;
  readonly actor: string;
  readonly action: string;
  readonly target: string;
  readonly data: Readonly<Record<string, unknown>>;
}

export interface Page {
  readonly limit: number;
  /** Exclusive upper bound of the sort key (version number, deployment id, audit seq). */
  readonly before?: number;
}

/** Reads, available both outside and inside a transaction. */
/** Audit log page. A prompt's entries are those whose target is `NAME`, `NAME@vN` or `NAME:label`. */
export interface AuditQuery {
  readonly afterSeq?: number;
  readonly limit: number;
  readonly newestFirst?: boolean;
  readonly beforeSeq?: number;
  readonly actor?: string;
  readonly prompt?: string;
}

export interface RegistryReads extends AccessReads {
  /** Policies, owners, teams and change requests (`review-port.ts`). */
  readonly reviews: ReviewReads;
  getProject(id: number): Promise<ProjectRow | undefined>;
  getProjectByName(name: string): Promise<ProjectRow | undefined>;
  countProjects(): Promise<number>;

  findApiKey(keyId: string): Promise<ApiKeyRow | undefined>;
  listApiKeys(projectId: number): Promise<ApiKeyRow[]>;

  listPrompts(projectId: number): Promise<PromptRow[]>;
  getPrompt(projectId: number, name: string): Promise<PromptRow | undefined>;

  /** Newest first. */
  listVersions(promptId: number, page: Page): Promise<VersionRow[]>;
  getVersionByNumber(promptId: number, version: number): Promise<VersionRow | undefined>;
  getVersionBySha(promptId: number, sha: string): Promise<VersionRow | undefined>;
  /** At most `limit` versions whose sha starts with `prefix` (to detect ambiguity, ask for 2). */
  findVersionsByShaPrefix(promptId: number, prefix: string, limit: number): Promise<VersionRow[]>;
  /** Every version of a project in (prompt id, version) order, for `verify`. */
  streamVersions(projectId: number, batchSize: number): AsyncIterable<VersionRow[]>;

  listLabels(promptId: number): Promise<LabelRow[]>;
  getLabel(promptId: number, label: string): Promise<LabelRow | undefined>;

  /** Oldest first unless paging (then newest first below `before`). */
  listDeployments(promptId: number, options: { label?: string }): Promise<DeploymentRow[]>;

  /** Oldest first (`afterSeq` exclusive), or newest first below `beforeSeq`; optionally one actor's, one prompt's. */
  listAudit(projectId: number, options: AuditQuery): Promise<AuditRow[]>;
  /** The project's newest audit seq, 0 when its log is empty. */
  latestAuditSeq(projectId: number): Promise<number>;
  /**
   * Every label of the project's prompts (only those named, when `names` is given) with its version's
   * content, ordered by (name, label), and the project's newest audit seq, read in one consistent read:
   * every label move the cursor covers is in the labels and none after it is.
   */
  readLabelSnapshot(
    projectId: number,
    options: { names?: readonly string[] },
  ): Promise<{ cursor: number; labels: LabeledVersionRow[] }>;
}

/**
 * Writes; only inside `transaction`. A transaction that changes keys, labels or versions must also
 * `appendAudit`: the project's newest audit seq is the stamp that read caches are validated against.
 */
export interface RegistryTx extends RegistryReads, AccessTx {
  readonly reviews: ReviewTx;
  /** Eval suite versions and runs (`eval-port.ts`), audited in the same transaction. */
  readonly evals: EvalTx;
  createProject(name: string, createdAt: string): Promise<ProjectRow>;
  revokeApiKey(projectId: number, keyId: string, at: string): Promise<boolean>;

  /**
   * Returns the prompt row, creating it (head 0) when missing, and holds a write lock on it until the
   * transaction ends, so concurrent pushes and label moves on one prompt serialize (also across
   * server processes sharing one PostgreSQL).
   */
  lockPrompt(projectId: number, name: string, at: string): Promise<PromptRow>;
  insertVersion(version: NewVersion): Promise<VersionRow>;
  setPromptHead(promptId: number, version: number, sha: string, at: string): Promise<void>;
  /** Upsert of the movable pointer. */
  setLabel(label: {
    promptId: number;
    label: string;
    sha: string;
    version: number;
    updatedAt: string;
    updatedBy: string;
  }): Promise<void>;
  insertDeployment(deployment: NewDeployment): Promise<DeploymentRow>;
  /**
   * Appends to the project's hash chain: locks the chain head, assigns the next seq, links the previous
   * hash and computes this entry's hash (core's `auditHash`), and its HMAC when the storage was opened
   * with an `auditMac`.
   */
  appendAudit(entry: NewAuditEntry): Promise<AuditRow>;
}

/** How `latestAuditSeqSoon` answers: the stamp, or the error of reading it. */
export type StampCallback = (error: Error | null, stamp: number) => void;

export interface Storage extends RegistryReads, TraceStore, EvalStore {
  readonly dialect: Dialect;
  /** Applies pending migrations; safe to call from several processes at once. */
  migrate(): Promise<void>;
  /**
   * Runs `fn` in one transaction (SQLite: BEGIN IMMEDIATE; PostgreSQL: READ COMMITTED with row locks).
   * Rolls back on any throw and rethrows it.
   */
  transaction<T>(fn: (tx: RegistryTx) => Promise<T>): Promise<T>;
  /**
   * Calls `listener` with the project id after each transaction that appended to that project's audit
   * log commits (never after a rollback). In-process only: it lets this process push its own changes
   * at once; other processes learn of them by reading the audit log. Returns the unsubscribe.
   */
  onAuditCommitted(listener: (projectId: number) => void): () => void;
  /**
   * `latestAuditSeq` for the read hot path, where the database allows it (a SQLite file): answered by
   * callback, without a promise, from a read that starts after the call, on a read-only connection of its
   * own (so never inside another caller's open transaction). Calls made in the same turn of the event loop
   * share one read. Undefined elsewhere.
   */
  readonly latestAuditSeqSoon?: (projectId: number, callback: StampCallback) => void;
  /** Best-effort, outside any transaction: records when a key was last used. */
  touchApiKey(keyId: string, at: string): Promise<void>;
  close(): Promise<void>;
}

// ---- Traces (issue 6). Deletable by retention; times are epoch milliseconds. ----

export const TRACE_STATUSES = ['ok', 'error'] as const;
export type TraceStatus = (typeof TRACE_STATUSES)[number];

export const SCORE_KINDS = ['thumbs', 'numeric', 'label'] as const;
export type ScoreKind = (typeof SCORE_KINDS)[number];

/** One trace event as stored; `variables` and `attributes` are JSON object text. */
export interface NewTrace {
  readonly eventId: string;
  readonly traceId: string | null;
  readonly spanId: string | null;
  readonly parentSpanId: string | null;
  readonly promptName: string | null;
  readonly promptVersion: number | null;
  readonly promptSha: string | null;
  readonly effectiveSha: string | null;
  readonly label: string | null;
  readonly tenant: string | null;
  readonly rolloutId: string | null;
  readonly rolloutArm: string | null;
  readonly releaseSha: string | null;
  readonly variables: string | null;
  readonly output: string | null;
  readonly model: string | null;
  readonly provider: string | null;
  readonly latencyMs: number | null;
  readonly inputTokens: number | null;
  readonly outputTokens: number | null;
  readonly cost: number | null;
  readonly status: TraceStatus;
  readonly error: string | null;
  readonly attributes: string | null;
  readonly startedAtMs: number;
}

export interface TraceRow extends NewTrace {
  /** Internal row id (cursor tie-breaker); the public id is `eventId`. */
  readonly id: number;
  readonly projectId: number;
  readonly createdAtMs: number;
}

export interface TraceFilter {
  /** The OpenTelemetry trace id (32 lowercase hex): every span of one trace. */
  readonly traceId?: string;
  readonly promptName?: string;
  readonly promptVersion?: number;
  /** A full sha or a prefix (matched as a range, so the sha index serves it). */
  readonly shaPrefix?: string;
  readonly label?: string;
  readonly tenant?: string;
  readonly rolloutArm?: string;
  readonly status?: TraceStatus;
  /** Inclusive. */
  readonly sinceMs?: number;
  /** Exclusive. */
  readonly untilMs?: number;
}

/** Newest first: the next page starts strictly below this (started_at_ms, id). */
export interface TraceCursor {
  readonly startedAtMs: number;
  readonly id: number;
}

export interface NewScore {
  readonly eventId: string;
  readonly name: string;
  readonly kind: ScoreKind;
  readonly value: number | null;
  readonly stringValue: string | null;
  readonly comment: string | null;
  readonly actor: string;
  readonly createdAtMs: number;
}

export interface ScoreRow extends NewScore {
  readonly id: number;
  readonly projectId: number;
}

export type { MetricsGroupBy };

export interface MetricsQuery {
  readonly promptName: string;
  readonly by: MetricsGroupBy;
  readonly sinceMs: number;
  readonly untilMs: number;
  readonly bucketMs: number;
  /** Most latencies read for percentiles in one query; above it a deterministic 1-in-k sample is read. */
  readonly maxLatencySamples: number;
  /**
   * `auto` (the default): the rollups when they can answer (buckets of whole minutes, rollups kept and
   * backfilled), else the raw rows. `raw` and `rollups` force one (verification, benchmarks); `rollups`
   * rejects buckets that are not whole minutes.
   */
  readonly source?: 'auto' | 'raw' | 'rollups';
}

/** Aggregates of one (group key, time bucket). */
export interface MetricsBucketRow {
  readonly key: string | null;
  readonly bucketStartMs: number;
  readonly count: number;
  readonly errors: number;
  readonly inputTokens: number;
  readonly outputTokens: number;
  readonly cost: number;
  /** The latencies read from raw rows (sampled above the cap), unsorted; empty when read from rollups. */
  readonly latencies: number[];
  /** Every latency of the bucket (or the sample), as a mergeable sketch (core's latency-sketch.ts). */
  readonly latency: LatencySketch;
  /** Sum and mean of numeric and thumbs scores (thumbs: up 1, down 0) and how many there were. */
  readonly scoreSum: number;
  readonly scoreMean: number | null;
  readonly scoreCount: number;
  readonly thumbsUp: number;
  readonly thumbsDown: number;
}

/** The metrics rollups' state (trace-rollups.ts). */
export interface TraceRollupStatus {
  /** False only where a storage was opened without them (benchmarks). */
  readonly enabled: boolean;
  /** The rows that existed before the rollups, all added: metrics may read rollups. */
  readonly backfilled: boolean;
  /** Trace ids up to this one are the backfill's; `done` of them are added. */
  readonly backfillUntil: number;
  readonly backfillDone: number;
}

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

export interface TraceStore {
  /**
   * Inserts a batch in one transaction. An event id the project already has (or that repeats within the
   * batch) is a duplicate and changes nothing. When the promise resolves, every accepted row is committed.
   */
  insertTraces(
    projectId: number,
    traces: readonly NewTrace[],
    createdAtMs: number,
  ): Promise<{ accepted: string[]; duplicates: string[] }>;
  /**
   * A whole `POST /api/v1/ingest` body (JSON bytes), parsed, validated and inserted off the main thread
   * (see trace-writer.ts), where the database has a writer thread (SQLite files, PostgreSQL; on PostgreSQL
   * a body of a few events is inserted on the main thread's pool, see trace-store.ts). The bytes may be
   * moved, so the caller must not use them afterwards; the result comes back encoded. Rejects with the
   * PromptopsError of a malformed batch.
   */
  readonly ingestTraceBody?: (
    projectId: number,
    body: Uint8Array,
    nowMs: number,
    createdAtMs: number,
  ) => Promise<EncodedIngestResult>;
  /** Newest first (started_at_ms, then id, descending). */
  queryTraces(
    projectId: number,
    filter: TraceFilter,
    page: { limit: number; after?: TraceCursor },
  ): Promise<TraceRow[]>;
  getTrace(projectId: number, eventId: string): Promise<TraceRow | undefined>;
  /** Undefined when the project has no trace with that event id. */
  insertScore(projectId: number, score: NewScore): Promise<ScoreRow | undefined>;
  /** Oldest first. */
  listScores(projectId: number, eventId: string): Promise<ScoreRow[]>;
  traceMetrics(projectId: number, query: MetricsQuery): Promise<MetricsBucketRow[]>;
  /**
   * Deletes at most `limit` traces (with their scores) that started before `cutoffMs`, in one short
   * statement per project; returns how many. Call again until it returns less than `limit`. The metrics
   * rollups keep counting them.
   */
  deleteTracesBefore(cutoffMs: number, limit: number): Promise<number>;
  /** Deletes at most `limit` rollup rows of one grain (60,000 or 3,600,000 ms) whose bucket starts before `cutoffMs`. */
  deleteRollupsBefore(grainMs: number, cutoffMs: number, limit: number): Promise<number>;
  /**
   * Adds up to `limit` traces that existed before the rollups (and their scores) to the rollups, in one
   * transaction that also moves the stored watermark, so a crash loses nothing and counts nothing twice.
   * Safe from several processes at once (they take turns). Answers whether the backfill is complete.
   */
  backfillTraceRollups(limit: number): Promise<{ done: boolean; traces: number }>;
  /**
   * Folds up to `limit` marked hours that are over at `nowMs` (each in a transaction of its own) from their
   * minute rollups into their hour rollups; answers how many. Safe from several processes at once.
   */
  foldTraceRollups(nowMs: number, limit: number): Promise<number>;
  traceRollupStatus(): Promise<TraceRollupStatus>;
}
