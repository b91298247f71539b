import type { ArmPair, LatencySketch, MetricsGroupBy, RolloutMetrics } from '@promptops/core';

// ---- Traces. Deletable by retention; times are epoch milliseconds. ----

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
  /** The hash of the call's unit key (core's rolloutUnitHash), never the key. Absent means none. */
  readonly rolloutUnit?: string | null;
  /** A shadow output's trace: the event id of the baseline trace it pairs with. Absent means none. */
  readonly shadowOf?: string | null;
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
  readonly rolloutUnit: string | null;
  readonly shadowOf: string | null;
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
  readonly rolloutId?: string;
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
  /** Only the traces of this rollout. */
  readonly rolloutId?: string;
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

/** The metrics rollups' state (store/rollups.ts). */
export interface TraceRollupStatus {
  /** False only where a storage was opened without them (benchmarks). */
  readonly enabled: boolean;
  /** The rows that existed before the rollups, all added: metrics may read rollups. */
  readonly backfilled: boolean;
  /** Trace ids up to this one are the backfill's; `done` of them are added. */
  readonly backfillUntil: number;
  readonly backfillDone: number;
}

/**
 * A rollout's traces per arm ('baseline' and 'candidate'; other arm names are not a rollout's), received at
 * or after a time: core decide()'s `metrics` (error rate per call, mean latency in ms, mean numeric score,
 * thumbs-down share of thumbs) and the calls per arm. `assertion_pass_rate` is absent: the rollouts
 * feature runs the live assertions on `rolloutOutputs`. The shape of rollouts/observations.ts's ArmObservations.
 */
export interface RolloutTraceFigures {
  readonly metrics: RolloutMetrics;
  readonly requests: ArmPair<number>;
  /** Distinct unit hashes per arm (calls without one left out). */
  readonly units: ArmPair<number>;
  /** Calls per arm with no unit hash. */
  readonly unitless: ArmPair<number>;
}

/** One call of a rollout with what the live assertions read. */
export interface RolloutOutputRow {
  readonly id: string;
  readonly arm: 'baseline' | 'candidate';
  readonly output: string | null;
  readonly variables: Record<string, unknown> | null;
}

/** One side of a shadow pair. */
export interface ShadowSide {
  readonly id: string;
  readonly output: string | null;
  readonly status: TraceStatus;
  readonly latencyMs: number | null;
  readonly outputTokens?: number | null;
}

export interface ShadowPairRows {
  /** Every pair of the rollout (a shadow trace whose baseline trace is stored). */
  readonly count: number;
  /** The newest pairs, at most the limit. */
  readonly pairs: {
    /** The baseline call's start (ISO) and variables (the shadow ran on the same). */
    readonly at: string;
    readonly variables: Record<string, unknown> | null;
    readonly baseline: ShadowSide;
    readonly candidate: ShadowSide;
  }[];
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
  /** The rollout scheduler's figures: per arm, the traces received at or after `sinceMs` (epoch ms). */
  rolloutObservations(projectId: number, rolloutId: string, sinceMs: number): Promise<RolloutTraceFigures>;
  /** The rollout's calls received at or after `sinceMs` with outputs and variables, newest `limit` first. */
  rolloutOutputs(projectId: number, rolloutId: string, sinceMs: number, limit: number): Promise<RolloutOutputRow[]>;
  /** A shadow rollout's pairs (baseline trace, its shadow), newest first; the window is on the shadow's receipt. */
  shadowPairs(
    projectId: number,
    rolloutId: string,
    options: { limit: number; sinceMs?: number; untilMs?: number },
  ): Promise<ShadowPairRows>;
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
