import { emptyLatencySketch, latencySketchOf, mergeLatencySketches, planRollupWindow } from '@promptops/core';
import { sql, type Kysely } from 'kysely';
import type { MetricsBucketRow, MetricsQuery } from '../store.js';
import type { Database, RollupSums } from '../../storage/schema.js';
import { HOUR_MS, MINUTE_MS, OTHER_TENANT, ROLLUP_GRAINS } from './rollup-deltas.js';
import { decodeStoredSketch } from './rollups.js';

/** Marked hours read one query each up to this many; beyond, one read of the part's minutes. */
const MAX_MARKED_QUERIES = 2;

/**
 * The metrics query, two ways. `rawMetrics` scans the window's traces (and their scores); `rollupMetrics`
 * reads the rollups (migration 0007) for the whole minutes and hours of the window, largest grain first,
 * and the raw rows only for the partial minutes at its edges (core's planRollupWindow), merging rows per
 * (group key, bucket): counts and sums add, latency sketches merge. Whole hours come from their group
 * rows (a few an hour), or from their minutes while marked for the fold. So its cost grows with the
 * window's buckets, not its traces, and its answer equals the raw scan's (latency percentiles within the
 * sketch's 1 %, exact while the sketches hold their values).
 */

const RAW_COLUMNS = { sha: 'prompt_sha', label: 'label', arm: 'rollout_arm', tenant: 'tenant' } as const;

type Group = { -readonly [K in keyof MetricsBucketRow]: MetricsBucketRow[K] };

const emptyGroup = (key: string | null, bucketStartMs: number): Group => ({
  key,
  bucketStartMs,
  count: 0,
  errors: 0,
  inputTokens: 0,
  outputTokens: 0,
  cost: 0,
  latencies: [],
  latency: emptyLatencySketch(),
  scoreSum: 0,
  scoreMean: null,
  scoreCount: 0,
  thumbsUp: 0,
  thumbsDown: 0,
});

class Groups {
  readonly #groups = new Map<string, Group>();

  get(key: string | null, bucketStartMs: number): Group {
    const id = `${key ?? ''}\u0000${key === null ? 0 : 1}\u0000${bucketStartMs}`;
    let group = this.#groups.get(id);
    if (group === undefined) {
      group = emptyGroup(key, bucketStartMs);
      this.#groups.set(id, group);
    }
    return group;
  }

  rows(): MetricsBucketRow[] {
    return [...this.#groups.values()]
      .map((group) => ({ ...group, scoreMean: group.scoreCount === 0 ? null : group.scoreSum / group.scoreCount }))
      .sort((a, b) => a.bucketStartMs - b.bucketStartMs || String(a.key).localeCompare(String(b.key)));
  }
}

/** The raw scan (what the metrics always read): per (key, bucket) aggregates, scores, and latencies. */
export const rawMetrics = async (
  db: Kysely<Database>,
  projectId: number,
  query: MetricsQuery,
  /** A window's edge (under a minute): its traces found first, then their scores. */
  edge = false,
): Promise<MetricsBucketRow[]> => {
  const key = sql.ref(RAW_COLUMNS[query.by]);
  // The bucket width is a validated integer, inlined as a literal: PostgreSQL must see the same
  // expression in SELECT and GROUP BY, which two bound parameters would not be.
  const bucket = sql<number>`cast(started_at_ms / ${sql.lit(query.bucketMs)} as bigint)`;
  const ofRollout = (alias: string) =>
    query.rolloutId === undefined ? sql`` : sql`and ${sql.ref(`${alias}rollout_id`)} = ${query.rolloutId}`;
  const inWindow = sql`project_id = ${projectId} and prompt_name = ${query.promptName} and started_at_ms >= ${query.sinceMs} and started_at_ms < ${query.untilMs} ${ofRollout('')}`;

  const aggregates = await sql<{
    key: string | null;
    bucket: number;
    count: number;
    errors: number;
    input_tokens: number;
    output_tokens: number;
    cost: number;
  }>`
    select ${key} as key, ${bucket} as bucket, count(*) as count,
      sum(case when status = 'error' then 1 else 0 end) as errors,
      coalesce(sum(input_tokens), 0) as input_tokens, coalesce(sum(output_tokens), 0) as output_tokens,
      coalesce(sum(cost), 0) as cost
    from traces where ${inWindow} group by 1, 2`.execute(db);

  const scores = await sql<{
    key: string | null;
    bucket: number;
    total: number | null;
    n: number;
    up: number;
    down: number;
  }>`${
    edge
      ? // Measured on SQLite without statistics, the join below was planned on the sha index over all of the
        // project's traces (47 ms at 100,000) for a window of a few rows; materialized, the window's traces
        // come from the time index first (both databases know MATERIALIZED).
        sql`with t as materialized (
        select id, ${key} as key, ${bucket} as bucket from traces where ${inWindow})
      select t.key, t.bucket, sum(s.value) as total, count(s.value) as n,
        sum(case when s.kind = 'thumbs' and s.value >= 1 then 1 else 0 end) as up,
        sum(case when s.kind = 'thumbs' and s.value < 1 then 1 else 0 end) as down
      from t inner join trace_scores s on s.trace_row_id = t.id
      where s.kind in ('thumbs', 'numeric')
      group by 1, 2`
      : sql`
    select t.${key} as key, cast(t.started_at_ms / ${sql.lit(query.bucketMs)} as bigint) as bucket,
      sum(s.value) as total, count(s.value) as n,
      sum(case when s.kind = 'thumbs' and s.value >= 1 then 1 else 0 end) as up,
      sum(case when s.kind = 'thumbs' and s.value < 1 then 1 else 0 end) as down
    from trace_scores s inner join traces t on t.id = s.trace_row_id
    where t.project_id = ${projectId} and t.prompt_name = ${query.promptName}
      and t.started_at_ms >= ${query.sinceMs} and t.started_at_ms < ${query.untilMs} ${ofRollout('t.')}
      and s.kind in ('thumbs', 'numeric')
    group by 1, 2`
  }`.execute(db);

  // Percentiles are computed by the caller from the latencies; the read is bounded by sampling
  // every k-th row id when the window holds more rows than the cap.
  const total = aggregates.rows.reduce((sum, row) => sum + Number(row.count), 0);
  const every = Math.max(1, Math.ceil(total / Math.max(1, query.maxLatencySamples)));
  const latencies = await sql<{ key: string | null; bucket: number; latency_ms: number }>`
    select ${key} as key, ${bucket} as bucket, latency_ms from traces
    where ${inWindow} and latency_ms is not null ${every > 1 ? sql`and id % ${sql.lit(every)} = 0` : sql``}`.execute(
    db,
  );

  const groups = new Groups();
  const at = (row: { key: string | null; bucket: number }): Group =>
    groups.get(row.key, Number(row.bucket) * query.bucketMs);
  for (const row of aggregates.rows) {
    Object.assign(at(row), {
      count: Number(row.count),
      errors: Number(row.errors),
      inputTokens: Number(row.input_tokens),
      outputTokens: Number(row.output_tokens),
      cost: Number(row.cost),
    });
  }
  for (const row of scores.rows) {
    Object.assign(at(row), {
      scoreSum: Number(row.total ?? 0),
      scoreCount: Number(row.n),
      thumbsUp: Number(row.up),
      thumbsDown: Number(row.down),
    });
  }
  for (const row of latencies.rows) at(row).latencies.push(Number(row.latency_ms));
  const rows = groups.rows();
  for (const row of rows) (row as Group).latency = latencySketchOf(row.latencies, Infinity);
  return rows;
};

const ROLLUP_COLUMNS = { sha: 'prompt_sha', label: 'label', arm: 'rollout_arm', tenant: 'tenant' } as const;

interface RollupRow extends RollupSums {
  /** Series rows carry the series, group rows their key. */
  series_id?: number;
  group_key?: string;
  bucket_ms: number;
  latency: unknown;
}

/** Whether the rollups can answer this query: buckets of whole minutes (so rollup rows never straddle one). */
export const rollupsAnswer = (query: MetricsQuery): boolean => query.bucketMs % ROLLUP_GRAINS.at(-1)! === 0;

export const rollupMetrics = async (
  db: Kysely<Database>,
  projectId: number,
  query: MetricsQuery,
): Promise<MetricsBucketRow[]> => {
  const grains = ROLLUP_GRAINS.filter((grain) => query.bucketMs % grain === 0);
  const groups = new Groups();
  // The prompt's series (a few hundred keys at most): id -> the group key.
  const keys = new Map<number, string | null>();
  // A rollout's figures: its series only (the series key has the rollout), never the hours' group rows.
  const { rolloutId } = query;
  const ofRollout =
    rolloutId === undefined
      ? sql``
      : sql`and series_id in (select id from trace_rollup_series
          where project_id = ${projectId} and prompt_name = ${query.promptName} and rollout_id = ${rolloutId})`;
  const series = await sql<{ id: number; key: string }>`
    select id, ${sql.ref(ROLLUP_COLUMNS[query.by])} as key from trace_rollup_series
    where project_id = ${projectId} and prompt_name = ${query.promptName}
      ${rolloutId === undefined ? sql`` : sql`and rollout_id = ${rolloutId}`}`.execute(db);
  for (const row of series.rows) keys.set(Number(row.id), row.key === '' ? null : row.key);
  // By tenant: a prompt's tenants beyond the rollups' cap share OTHER_TENANT's series; the raw edges agree.
  const tenants = query.by === 'tenant' ? new Set(keys.values()) : undefined;
  const edgeKey = (key: string | null): string | null =>
    tenants === undefined || key === null || tenants.has(key) ? key : OTHER_TENANT;
  for (const part of planRollupWindow(query.sinceMs, query.untilMs, grains)) {
    if (part.grainMs === null) {
      // The partial minutes at the edges: less than a minute of raw rows each.
      const raw = await rawMetrics(db, projectId, { ...query, sinceMs: part.fromMs, untilMs: part.toMs }, true);
      for (const row of raw) {
        const group = groups.get(edgeKey(row.key), row.bucketStartMs);
        group.count += row.count;
        group.errors += row.errors;
        group.inputTokens += row.inputTokens;
        group.outputTokens += row.outputTokens;
        group.cost += row.cost;
        group.scoreSum += row.scoreSum;
        group.scoreCount += row.scoreCount;
        group.thumbsUp += row.thumbsUp;
        group.thumbsDown += row.thumbsDown;
        mergeLatencySketches(group.latency, row.latency, Infinity);
      }
      continue;
    }
    const add = (row: RollupRow): void => {
      const bucketMs = Number(row.bucket_ms);
      const key =
        row.group_key !== undefined ? (row.group_key === '' ? null : row.group_key) : keys.get(Number(row.series_id));
      if (key === undefined) throw new Error(`rollup series ${row.series_id} is missing`);
      const group = groups.get(key, Math.floor(bucketMs / query.bucketMs) * query.bucketMs);
      group.count += Number(row.count);
      group.errors += Number(row.errors);
      group.inputTokens += Number(row.input_tokens);
      group.outputTokens += Number(row.output_tokens);
      group.cost += Number(row.cost);
      group.scoreSum += Number(row.score_sum);
      group.scoreCount += Number(row.score_count);
      group.thumbsUp += Number(row.thumbs_up);
      group.thumbsDown += Number(row.thumbs_down);
      mergeLatencySketches(group.latency, decodeStoredSketch(row.latency), Infinity);
    };
    const rows = (grainMs: number, fromMs: number, toMs: number) =>
      sql<RollupRow>`
      select series_id, bucket_ms, count, errors, input_tokens, output_tokens, cost, thumbs_up, thumbs_down,
        score_sum, score_count, latency
      from trace_rollups
      where project_id = ${projectId} and prompt_name = ${query.promptName} and grain_ms = ${grainMs}
        and bucket_ms >= ${fromMs} and bucket_ms < ${toMs} ${ofRollout}`.execute(db);
    if (part.grainMs !== HOUR_MS) {
      for (const row of (await rows(part.grainMs, part.fromMs, part.toMs)).rows) add(row);
      continue;
    }
    // Hours marked for the fold (the last one or two, or any that late data changed) come from their minutes.
    const marked = new Set(
      (
        await sql<{ hour_ms: number }>`
          select hour_ms from trace_rollup_dirty
          where project_id = ${projectId} and prompt_name = ${query.promptName}
            and hour_ms >= ${part.fromMs} and hour_ms < ${part.toMs}`.execute(db)
      ).rows.map((row) => Number(row.hour_ms)),
    );
    // The rest from their group rows: a few an hour (a rollout's, or by tenant, from the series' hour rows).
    const hours =
      rolloutId !== undefined || query.by === 'tenant'
        ? await rows(HOUR_MS, part.fromMs, part.toMs)
        : await sql<RollupRow>`
      select group_key, hour_ms as bucket_ms, count, errors, input_tokens, output_tokens, cost, thumbs_up,
        thumbs_down, score_sum, score_count, latency
      from trace_rollup_groups
      where project_id = ${projectId} and prompt_name = ${query.promptName} and group_by = ${query.by}
        and hour_ms >= ${part.fromMs} and hour_ms < ${part.toMs}`.execute(db);
    for (const row of hours.rows) if (!marked.has(Number(row.bucket_ms))) add(row);
    if (marked.size > MAX_MARKED_QUERIES) {
      // Many (a backfill not folded yet): one read of the part's minutes, kept for the marked hours.
      for (const row of (await rows(MINUTE_MS, part.fromMs, part.toMs)).rows)
        if (marked.has(Math.floor(Number(row.bucket_ms) / HOUR_MS) * HOUR_MS)) add(row);
    } else {
      for (const hourMs of marked) for (const row of (await rows(MINUTE_MS, hourMs, hourMs + HOUR_MS)).rows) add(row);
    }
  }
  // A row made only by a score posted for a trace the backfill has not reached yet has no count: the raw
  // scan would not show that bucket, and neither does this.
  return groups.rows().filter((row) => row.count > 0);
};
