import type { DeploymentRecord, PromptDiff, VersionRecord, VersionSummary } from '@promptops/core';

/** The trace shapes of docs/api.md ("Traces"), as the CLI reads them. */

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
  readonly rollout: { readonly id: string | null; readonly arm: string | null } | null;
  readonly releaseSha: string | null;
  readonly variables: Readonly<Record<string, unknown>> | null;
  readonly output: string | null;
  readonly model: string | null;
  readonly provider: string | null;
  readonly latencyMs: number | null;
  readonly usage: { readonly inputTokens: number | null; readonly outputTokens: number | null };
  readonly cost: number | null;
  readonly status: 'ok' | 'error';
  readonly error: string | null;
  readonly attributes: Readonly<Record<string, unknown>> | null;
  readonly startedAt: string;
  readonly receivedAt: string;
}

export interface ScoreRecord {
  readonly id: number;
  readonly traceId: string;
  readonly name: string;
  readonly kind: 'thumbs' | 'numeric' | 'label';
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
  readonly trace: TraceRecord & { readonly scores: readonly ScoreRecord[] };
  readonly version: VersionRecord | null;
  readonly parent: VersionSummary | null;
  readonly diffToParent: PromptDiff | null;
  readonly labelNow: {
    readonly label: string;
    readonly version: VersionSummary;
    readonly servesTrace: boolean;
    readonly diff: PromptDiff | null;
  } | null;
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

export interface MetricsResponse {
  readonly name: string;
  readonly by: 'sha' | 'label' | 'arm';
  readonly since: string;
  readonly until: string;
  readonly bucketMs: number;
  readonly series: readonly {
    readonly key: string | null;
    readonly version: number | null;
    readonly totals: Omit<MetricsPoint, 'start'>;
    readonly points: readonly MetricsPoint[];
  }[];
  readonly markers: readonly DeploymentRecord[];
}

export type TraceQuery = Readonly<Record<string, string | number | undefined>>;
