import { latencyPercentiles, latencyWithinError } from '@promptops/core';
import type { MetricsBucketRow, MetricsQuery, TraceStore } from './store.js';

/**
 * Recomputes a metrics window from the raw rows and compares it with what the rollups answer: counts,
 * errors, tokens, thumbs and score counts exactly, cost and score sums to 1e-9 relative (float sums in
 * another order), latency p50/p95/p99 within the sketch's documented error (exactly where the rollups kept
 * the values). Only meaningful where retention has not deleted raw rows of the window (the rollups keep
 * counting deleted traces).
 */

export interface MetricsMismatch {
  readonly key: string | null;
  readonly bucketStartMs: number;
  readonly field: string;
  readonly rollups: number | null;
  readonly raw: number | null;
}

export interface MetricsVerification {
  readonly ok: boolean;
  /** (key, bucket) pairs compared. */
  readonly buckets: number;
  readonly mismatches: MetricsMismatch[];
}

const EXACT_FIELDS = [
  'count',
  'errors',
  'inputTokens',
  'outputTokens',
  'scoreCount',
  'thumbsUp',
  'thumbsDown',
] as const;
const SUM_FIELDS = ['cost', 'scoreSum'] as const;
const PERCENTS = [50, 95, 99] as const;

const closeEnough = (a: number, b: number): boolean => Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(a), Math.abs(b));

/** Compares two answers to one metrics query (the rollups' and the raw scan's). */
export const compareMetrics = (
  rollups: readonly MetricsBucketRow[],
  raw: readonly MetricsBucketRow[],
): MetricsVerification => {
  const id = (row: MetricsBucketRow): string => `${row.key === null ? '\u0000' : row.key}|${row.bucketStartMs}`;
  const byId = new Map<string, { rollups?: MetricsBucketRow; raw?: MetricsBucketRow }>();
  for (const row of rollups) byId.set(id(row), { rollups: row });
  for (const row of raw) byId.set(id(row), { ...byId.get(id(row)), raw: row });
  const mismatches: MetricsMismatch[] = [];
  for (const { rollups: r, raw: w } of byId.values()) {
    const at = (r ?? w)!;
    const report = (field: string, rollupValue: number | null, rawValue: number | null): void => {
      mismatches.push({ key: at.key, bucketStartMs: at.bucketStartMs, field, rollups: rollupValue, raw: rawValue });
    };
    if (r === undefined || w === undefined) {
      report('count', r?.count ?? null, w?.count ?? null);
      continue;
    }
    for (const field of EXACT_FIELDS) if (r[field] !== w[field]) report(field, r[field], w[field]);
    for (const field of SUM_FIELDS) if (!closeEnough(r[field], w[field])) report(field, r[field], w[field]);
    const estimates = latencyPercentiles(r.latency, PERCENTS);
    const exact = latencyPercentiles(w.latency, PERCENTS);
    PERCENTS.forEach((percent, i) => {
      const e = estimates[i] ?? null;
      const x = exact[i] ?? null;
      const ok = e === null || x === null ? e === x : r.latency.exact !== null ? e === x : latencyWithinError(e, x);
      if (!ok) report(`p${percent}`, e, x);
    });
  }
  return { ok: mismatches.length === 0, buckets: byId.size, mismatches };
};

/** `verifyMetrics`: one window of one prompt, rollups against every raw row (no latency sampling). */
export const verifyMetrics = async (
  storage: Pick<TraceStore, 'traceMetrics'>,
  projectId: number,
  query: Omit<MetricsQuery, 'source' | 'maxLatencySamples'>,
): Promise<MetricsVerification> => {
  const full = { ...query, maxLatencySamples: Number.MAX_SAFE_INTEGER };
  const [rollups, raw] = [
    await storage.traceMetrics(projectId, { ...full, source: 'rollups' }),
    await storage.traceMetrics(projectId, { ...full, source: 'raw' }),
  ];
  return compareMetrics(rollups, raw);
};
