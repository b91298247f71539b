import { addLatency, emptyLatencySketch, type LatencySketch } from '@promptops/core';
import { INSERT_COLUMNS, type RowParams } from './trace-row-params.js';

/**
 * What one batch adds to the rollups (migration 0007), per (grain, bucket, key): the pure half of
 * trace-rollups.ts. Input: rollup events (a trace that counts, and/or scores of a trace); output: one delta
 * per rollup row, in key order (so concurrent PostgreSQL transactions lock shared rows in one order).
 */

export const MINUTE_MS = 60_000;
export const HOUR_MS = 3_600_000;
/** Largest first: every event adds to one row of each. */
export const ROLLUP_GRAINS = [HOUR_MS, MINUTE_MS] as const;
/** The tenant of the rows of a prompt's tenants beyond its cap. */
export const OTHER_TENANT = 'other';

/** The key's text columns; '' stands for none (traces store NULL). */
export interface RollupKey {
  readonly projectId: number;
  readonly promptName: string;
  readonly promptSha: string;
  readonly effectiveSha: string;
  readonly label: string;
  readonly tenant: string;
  readonly rolloutId: string;
  readonly rolloutArm: string;
}

export interface RollupScore {
  readonly name: string;
  readonly kind: string;
  readonly value: number | null;
}

/** A trace as the rollups see it: `counted` when the trace itself is added, with any scores to add. */
export interface RollupEvent extends RollupKey {
  readonly startedAtMs: number;
  readonly counted: boolean;
  readonly error: boolean;
  readonly latencyMs: number | null;
  readonly inputTokens: number | null;
  readonly outputTokens: number | null;
  readonly cost: number | null;
  readonly scores: readonly RollupScore[];
}

export interface RollupDelta extends RollupKey {
  readonly grainMs: number;
  readonly bucketMs: number;
  count: number;
  errors: number;
  inputTokens: number;
  outputTokens: number;
  cost: number;
  thumbsUp: number;
  thumbsDown: number;
  scoreSum: number;
  scoreCount: number;
  readonly latency: LatencySketch;
  /** Per score name (numeric and thumbs scores). */
  readonly scores: Map<string, { sum: number; count: number }>;
}

const column = (name: (typeof INSERT_COLUMNS)[number]): number => INSERT_COLUMNS.indexOf(name);
const C = {
  project: column('project_id'),
  prompt: column('prompt_name'),
  sha: column('prompt_sha'),
  effective: column('effective_sha'),
  label: column('label'),
  tenant: column('tenant'),
  rolloutId: column('rollout_id'),
  arm: column('rollout_arm'),
  latency: column('latency_ms'),
  input: column('input_tokens'),
  output: column('output_tokens'),
  cost: column('cost'),
  status: column('status'),
  started: column('started_at_ms'),
};

const text = (value: unknown): string => (typeof value === 'string' ? value : '');
const numberOrNull = (value: unknown): number | null => (value === null || value === undefined ? null : Number(value));

/** An inserted trace's parameters as a rollup event; undefined for a trace of no prompt (no metrics). */
export const rollupEventOfRow = (row: RowParams): RollupEvent | undefined => {
  const promptName = row[C.prompt];
  if (typeof promptName !== 'string') return undefined;
  return {
    projectId: Number(row[C.project]),
    promptName,
    promptSha: text(row[C.sha]),
    effectiveSha: text(row[C.effective]),
    label: text(row[C.label]),
    tenant: text(row[C.tenant]),
    rolloutId: text(row[C.rolloutId]),
    rolloutArm: text(row[C.arm]),
    startedAtMs: Number(row[C.started]),
    counted: true,
    error: row[C.status] === 'error',
    latencyMs: numberOrNull(row[C.latency]),
    inputTokens: numberOrNull(row[C.input]),
    outputTokens: numberOrNull(row[C.output]),
    cost: numberOrNull(row[C.cost]),
    scores: [],
  };
};

/** Scores that count in the metrics: numeric and thumbs (up 1, down 0) with a value. */
export const countsAsScore = (score: RollupScore): score is RollupScore & { value: number } =>
  (score.kind === 'numeric' || score.kind === 'thumbs') && score.value !== null;

/**
 * The deltas of `events`, whose tenants `tenantOf` maps to their rollup tenant (a tenant of its own, or
 * `other`), sorted by key.
 */
export const rollupDeltas = (
  events: readonly RollupEvent[],
  tenantOf: (event: RollupEvent) => string,
): RollupDelta[] => {
  const deltas = new Map<string, RollupDelta>();
  for (const event of events) {
    const tenant = tenantOf(event);
    const keyText = `${event.projectId}\u0000${event.promptName}\u0000${event.promptSha}\u0000${event.effectiveSha}\u0000${event.label}\u0000${tenant}\u0000${event.rolloutId}\u0000${event.rolloutArm}`;
    for (const grainMs of ROLLUP_GRAINS) {
      const bucketMs = Math.floor(event.startedAtMs / grainMs) * grainMs;
      // Sorting by this text orders rows by grain, bucket, then key: the same order in every transaction.
      const id = `${grainMs}\u0000${bucketMs}\u0000${keyText}`;
      let delta = deltas.get(id);
      if (delta === undefined) {
        delta = {
          projectId: event.projectId,
          promptName: event.promptName,
          promptSha: event.promptSha,
          effectiveSha: event.effectiveSha,
          label: event.label,
          tenant,
          rolloutId: event.rolloutId,
          rolloutArm: event.rolloutArm,
          grainMs,
          bucketMs,
          count: 0,
          errors: 0,
          inputTokens: 0,
          outputTokens: 0,
          cost: 0,
          thumbsUp: 0,
          thumbsDown: 0,
          scoreSum: 0,
          scoreCount: 0,
          latency: emptyLatencySketch(),
          scores: new Map(),
        };
        deltas.set(id, delta);
      }
      if (event.counted) {
        delta.count += 1;
        if (event.error) delta.errors += 1;
        delta.inputTokens += event.inputTokens ?? 0;
        delta.outputTokens += event.outputTokens ?? 0;
        delta.cost += event.cost ?? 0;
        if (event.latencyMs !== null) addLatency(delta.latency, event.latencyMs);
      }
      for (const score of event.scores) {
        if (!countsAsScore(score)) continue;
        delta.scoreSum += score.value;
        delta.scoreCount += 1;
        if (score.kind === 'thumbs') {
          if (score.value >= 1) delta.thumbsUp += 1;
          else delta.thumbsDown += 1;
        }
        const named = delta.scores.get(score.name);
        if (named === undefined) delta.scores.set(score.name, { sum: score.value, count: 1 });
        else {
          named.sum += score.value;
          named.count += 1;
        }
      }
    }
  }
  return [...deltas.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)).map(([, delta]) => delta);
};

/** The rollup events of an insert's rows that were inserted (1), not duplicates (0). */
export const insertedRollupEvents = (rows: readonly RowParams[], inserted: Uint8Array): RollupEvent[] => {
  const events: RollupEvent[] = [];
  for (let i = 0; i < rows.length; i += 1) {
    if (inserted[i] !== 1) continue;
    const event = rollupEventOfRow(rows[i]!);
    if (event !== undefined) events.push(event);
  }
  return events;
};
