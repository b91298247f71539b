import { emptyLatencySketch, mergeLatencySketches, type LatencySketch } from '@promptops/core';
import { sql, type Kysely } from 'kysely';
import type { SqlDialect } from '../../storage/dialect.js';
import type { Database, RollupSums } from '../../storage/schema.js';
import { HOUR_MS, MINUTE_MS } from './rollup-deltas.js';
import {
  decodeStoredSketch,
  encodeStoredSketch,
  GROUPS,
  kyselyRollupSql,
  lockRollups,
  SUM_COLUMNS,
} from './rollups.js';

/**
 * The fold: an hour's rows (per series, and per charted group: sha, label, arm) are made from its minute
 * rows, once the hour is over (and a grace for late events), and made again whenever a later insert, score
 * or backfill marks the hour. Inserts then write
 * only minute rows and one mark per hour, instead of every hour row they touch: measured on SQLite, the
 * hour upserts were half of what rollups added to an insert. Each fold is one short transaction that
 * replaces the hour's rows and removes its mark, under the prompt's rollup lock (rollups.ts), which
 * every writer of the prompt's minutes and marks takes too: a fold sees an hour's minutes and mark as one,
 * and an insert after it marks the hour again. Idempotent: folding an hour twice writes the same rows.
 */

/** Late events of an hour that just ended still land in it before its first fold. */
export const FOLD_GRACE_MS = 2 * MINUTE_MS;

/** Rows per insert statement (15 parameters each; well under both databases' limits). */
const CHUNK = 500;

/** Folds the oldest marked hour that is over; answers whether there was one. */
export const foldStep = (db: Kysely<Database>, dialect: SqlDialect, nowMs: number): Promise<boolean> =>
  dialect.writeTransaction(db, async (trx) => {
    const [mark] = (
      await sql<{ project_id: number; prompt_name: string; hour_ms: number }>`
        select project_id, prompt_name, hour_ms from trace_rollup_dirty
        where hour_ms <= ${nowMs - HOUR_MS - FOLD_GRACE_MS}
        order by hour_ms, project_id, prompt_name limit 1`.execute(trx)
    ).rows;
    if (mark === undefined) return false;
    const projectId = Number(mark.project_id);
    const promptName = mark.prompt_name;
    const hourMs = Number(mark.hour_ms);
    // The prompt's rollup lock, as writers take it; another replica may have folded the hour meanwhile.
    await lockRollups(kyselyRollupSql(trx as Kysely<unknown>, dialect), [{ projectId, promptName }]);
    const still = await sql`select 1 as marked from trace_rollup_dirty
      where project_id = ${projectId} and prompt_name = ${promptName} and hour_ms = ${hourMs}`.execute(trx);
    if (still.rows.length === 0) return true;
    const inHour = sql`project_id = ${projectId} and prompt_name = ${promptName} and bucket_ms >= ${hourMs} and bucket_ms < ${hourMs + HOUR_MS}`;

    const minutes = await sql<RollupSums & { series_id: number; latency: unknown }>`
      select series_id, ${sql.raw(SUM_COLUMNS.join(', '))}, latency from trace_rollups
      where ${inHour} and grain_ms = ${MINUTE_MS}`.execute(trx);
    const hours = new Map<number, RollupSums & { latency: LatencySketch }>();
    for (const row of minutes.rows) {
      const id = Number(row.series_id);
      let hour = hours.get(id);
      if (hour === undefined) {
        hour = {
          ...Object.fromEntries(SUM_COLUMNS.map((c) => [c, 0])),
          latency: emptyLatencySketch(),
        } as RollupSums & {
          latency: LatencySketch;
        };
        hours.set(id, hour);
      }
      for (const c of SUM_COLUMNS) hour[c] += Number(row[c]);
      mergeLatencySketches(hour.latency, decodeStoredSketch(row.latency));
    }
    await sql`delete from trace_rollups where ${inHour} and grain_ms = ${HOUR_MS}`.execute(trx);
    const rows = [...hours].map(([id, hour]) => ({
      project_id: projectId,
      prompt_name: promptName,
      grain_ms: HOUR_MS,
      bucket_ms: hourMs,
      series_id: id,
      ...Object.fromEntries(SUM_COLUMNS.map((c) => [c, hour[c]])),
      latency: encodeStoredSketch(hour.latency),
    }));
    for (let i = 0; i < rows.length; i += CHUNK)
      await trx
        .insertInto('trace_rollups')
        .values(rows.slice(i, i + CHUNK) as never)
        .execute();

    // The hour's group rows (per sha, label and arm), from the series' hour rows just made.
    const dims = new Map<number, Record<(typeof GROUPS)[number][1], string>>();
    for (const row of (
      await sql<{ id: number; prompt_sha: string; label: string; rollout_arm: string }>`
        select id, prompt_sha, label, rollout_arm from trace_rollup_series
        where project_id = ${projectId} and prompt_name = ${promptName}`.execute(trx)
    ).rows)
      dims.set(Number(row.id), { promptSha: row.prompt_sha, label: row.label, rolloutArm: row.rollout_arm });
    const groups = new Map<string, RollupSums & { by: string; key: string; latency: LatencySketch }>();
    for (const [id, hour] of hours) {
      const dim = dims.get(id);
      if (dim === undefined) throw new Error(`rollup series ${id} is missing`);
      for (const [by, field] of GROUPS) {
        const gid = `${by}\u0000${dim[field]}`;
        let group = groups.get(gid);
        if (group === undefined) {
          group = {
            ...(Object.fromEntries(SUM_COLUMNS.map((c) => [c, 0])) as unknown as RollupSums),
            by,
            key: dim[field],
            latency: emptyLatencySketch(),
          };
          groups.set(gid, group);
        }
        for (const c of SUM_COLUMNS) group[c] += hour[c];
        mergeLatencySketches(group.latency, hour.latency);
      }
    }
    await sql`delete from trace_rollup_groups
      where project_id = ${projectId} and prompt_name = ${promptName} and hour_ms = ${hourMs}`.execute(trx);
    const groupRows = [...groups.values()].map((group) => ({
      project_id: projectId,
      prompt_name: promptName,
      group_by: group.by,
      hour_ms: hourMs,
      group_key: group.key,
      ...Object.fromEntries(SUM_COLUMNS.map((c) => [c, group[c]])),
      latency: encodeStoredSketch(group.latency),
    }));
    for (let i = 0; i < groupRows.length; i += CHUNK)
      await trx
        .insertInto('trace_rollup_groups')
        .values(groupRows.slice(i, i + CHUNK) as never)
        .execute();

    const named = await sql<{ series_id: number; name: string; sum: number; count: number }>`
      select series_id, name, sum(sum) as sum, sum(count) as count from trace_rollup_scores
      where ${inHour} and grain_ms = ${MINUTE_MS} group by series_id, name`.execute(trx);
    await sql`delete from trace_rollup_scores where ${inHour} and grain_ms = ${HOUR_MS}`.execute(trx);
    const scores = named.rows.map((row) => ({
      project_id: projectId,
      prompt_name: promptName,
      grain_ms: HOUR_MS,
      bucket_ms: hourMs,
      series_id: Number(row.series_id),
      name: row.name,
      sum: Number(row.sum),
      count: Number(row.count),
    }));
    for (let i = 0; i < scores.length; i += CHUNK)
      await trx
        .insertInto('trace_rollup_scores')
        .values(scores.slice(i, i + CHUNK))
        .execute();

    await sql`delete from trace_rollup_dirty
      where project_id = ${projectId} and prompt_name = ${promptName} and hour_ms = ${hourMs}`.execute(trx);
    return true;
  });
