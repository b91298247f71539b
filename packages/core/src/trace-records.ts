import type { DeploymentRecord, VersionRecord, VersionSummary } from './records.js';
import type { PromptDiff } from './diff.js';

/** The public JSON shapes of traces, scores and metrics (docs/api.md, "Traces"). */

export type MetricsGroupBy = 'sha' | 'label' | 'arm' | 'tenant';

export interface TraceRecord {
  readonly id: string;
  readonly traceId: string | null;
  readonly spanId: string | null;
  readonly parentSpanId: string | null;
  readonly prompt: {
    readonly name: string;
    readonly version: number | null;
    readonly sha: string | null;
    readonly effectiveSha: string | null;
  } | null;
  readonly label: string | null;
  readonly tenant: string | null;
  /** `unit`: the hash of the call's unit key (rolloutUnitHash), when the caller sent one. */
  readonly rollout: { readonly id: string | null; readonly arm: string | null; readonly unit?: string } | null;
  /** A shadow output's trace: the id of the baseline trace it pairs with (same input, the candidate's output). */
  readonly shadowOf: string | null;
  readonly releaseSha: string | null;
  readonly variables: Record<string, unknown> | null;
  readonly output: string | null;
  readonly model: string | null;
  readonly provider: string | null;
  readonly latencyMs: number | null;
  readonly usage: { readonly inputTokens: number | null; readonly outputTokens: number | null };
  readonly cost: number | null;
  readonly status: 'ok' | 'error';
  readonly error: string | null;
  readonly attributes: Record<string, unknown> | null;
  readonly startedAt: string;
  readonly receivedAt: string;
}

export interface ScoreRecord {
  readonly id: number;
  readonly traceId: string;
  readonly name: string;
  readonly kind: 'thumbs' | 'numeric' | 'label';
  /** thumbs: "up" | "down"; numeric: a number; label: a string. */
  readonly value: string | number | null;
  readonly comment: string | null;
  readonly actor: string;
  readonly createdAt: string;
}

export interface TracePage {
  readonly traces: readonly TraceRecord[];
  readonly nextCursor: string | null;
}

export interface TraceDetail {
  readonly trace: TraceRecord & { readonly scores: ScoreRecord[] };
  /** The version the trace names, when the registry has it. */
  readonly version: VersionRecord | null;
  readonly parent: VersionSummary | null;
  readonly diffToParent: PromptDiff | null;
  /** What the trace's label serves now, and the diff from the trace's version to it. */
  readonly labelNow: {
    readonly label: string;
    readonly version: VersionSummary;
    readonly servesTrace: boolean;
    readonly diff: PromptDiff | null;
  } | null;
  /** When the label still serves the trace's version: where a rollback would take it. */
  readonly rollback: {
    readonly name: string;
    readonly label: string;
    readonly from: { version: number; sha: string };
    readonly to: { version: number; sha: string };
  } | null;
}

export interface MetricsPoint {
  readonly start: string;
  readonly count: number;
  readonly errors: number;
  readonly errorRate: number;
  readonly latencyMs: { readonly p50: number | null; readonly p95: number | null; readonly p99: number | null };
  readonly tokens: { readonly input: number; readonly output: number };
  readonly cost: number;
  readonly score: { readonly mean: number | null; readonly count: number };
  readonly thumbs: { readonly up: number; readonly down: number };
}

export interface MetricsSeries {
  readonly key: string | null;
  /** For `by=sha`: the registry's version number of that sha, when known. */
  readonly version: number | null;
  readonly totals: Omit<MetricsPoint, 'start'>;
  readonly points: MetricsPoint[];
}

export interface MetricsResult {
  readonly name: string;
  readonly by: MetricsGroupBy;
  readonly since: string;
  readonly until: string;
  readonly bucketMs: number;
  readonly series: MetricsSeries[];
  /** Label moves in the window (not `latest`), oldest first. */
  readonly markers: DeploymentRecord[];
}
