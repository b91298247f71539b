import { CompiledQuery, sql } from 'kysely';
import type { Kysely, Selectable } from 'kysely';
import type { SqlDialect } from '../../storage/dialect.js';
import type {
  MetricsQuery,
  NewScore,
  NewTrace,
  ScoreKind,
  ScoreRow,
  TraceCursor,
  TraceFilter,
  TraceRow,
  TraceStatus,
  TraceStore,
} from '../store.js';
import type { Database, TraceScoresTable, TracesTable } from '../../storage/schema.js';
import { countsAsScore, HOUR_MS } from './rollup-deltas.js';
import { backfillStep, readTraceDims, rollupEventOfTrace, rollupStatus } from './rollup-backfill.js';
import { foldStep } from './rollup-fold.js';
import { rawMetrics, rollupMetrics, rollupsAnswer } from './metrics.js';
import { rolloutFigures, rolloutOutputRows, shadowPairRows } from './rollout-figures.js';
import {
  applyRollups,
  applyRowRollups,
  kyselyRollupSql,
  rollupOptionsFromEnv,
  RollupCache,
  type RollupOptions,
} from './rollups.js';
import { insertInChunks, rowParams, splitInserted } from './row-params.js';

/**
 * The traces store over Kysely, for both databases: rows in, what was inserted out; queries, scores,
 * metrics and the rollups' upkeep. Inserts bypass the query builder (fixed SQL texts per statement size)
 * and tell duplicates by `ON CONFLICT DO NOTHING`. Each also adds what it inserted to the metrics rollups
 * in the same transaction (rollups.ts), as does a score; metrics read the rollups (metrics.ts). Where the
 * database has a writer thread (ingest/writer.ts: SQLite files, PostgreSQL), `insertTraces` goes there.
 */

const toTrace = (row: Selectable<TracesTable>): TraceRow => ({
  id: Number(row.id),
  projectId: row.project_id,
  eventId: row.event_id,
  traceId: row.trace_id,
  spanId: row.span_id,
  parentSpanId: row.parent_span_id,
  promptName: row.prompt_name,
  promptVersion: row.prompt_version,
  promptSha: row.prompt_sha,
  effectiveSha: row.effective_sha,
  label: row.label,
  tenant: row.tenant,
  rolloutId: row.rollout_id,
  rolloutArm: row.rollout_arm,
  rolloutUnit: row.rollout_unit,
  shadowOf: row.shadow_of,
  releaseSha: row.release_sha,
  variables: row.variables,
  output: row.output,
  model: row.model,
  provider: row.provider,
  latencyMs: row.latency_ms,
  inputTokens: row.input_tokens,
  outputTokens: row.output_tokens,
  cost: row.cost,
  status: row.status as TraceStatus,
  error: row.error,
  attributes: row.attributes,
  startedAtMs: Number(row.started_at_ms),
  createdAtMs: Number(row.created_at_ms),
});

const toScore = (row: Selectable<TraceScoresTable>): ScoreRow => ({
  id: Number(row.id),
  projectId: row.project_id,
  eventId: row.event_id,
  name: row.name,
  kind: row.kind as ScoreKind,
  value: row.value,
  stringValue: row.string_value,
  comment: row.comment,
  actor: row.actor,
  createdAtMs: Number(row.created_at_ms),
});

/**
 * Inserts traces through `executor` (the pool, or a transaction the caller opened) in statements of the
 * given sizes (insertInChunks' own unless told), and tells accepted from duplicate ids, in order. With
 * `tenants`, adds the inserted rows to the rollups too (the executor must then be a transaction).
 */
const insertWith = async (
  executor: Kysely<Database>,
  dialect: SqlDialect,
  projectId: number,
  traces: readonly NewTrace[],
  createdAtMs: number,
  tenants: RollupCache | undefined,
  sizes?: readonly number[],
): Promise<{ accepted: string[]; duplicates: string[] }> => {
  const rows = traces.map((trace) => rowParams(projectId, trace, createdAtMs));
  const inserted = await insertInChunks(
    dialect,
    rows,
    async (_size, text, values) =>
      (await executor.executeQuery<{ event_id: string }>(CompiledQuery.raw(text, values))).rows,
    sizes,
  );
  if (tenants !== undefined) {
    try {
      await applyRowRollups(kyselyRollupSql(executor as Kysely<unknown>, dialect), tenants, rows, inserted);
    } catch (error) {
      tenants.forget();
      throw error;
    }
  }
  return splitInserted(
    traces.map((trace) => trace.eventId),
    inserted,
  );
};

/** Inserts rows off the main thread (ingest/writer.ts's TraceWriter). */
export interface RowWriter {
  insert(projectId: number, traces: readonly NewTrace[], createdAtMs: number): Promise<InsertedIds>;
}

type InsertedIds = { accepted: string[]; duplicates: string[] };

export interface KyselyTraceStore extends TraceStore {
  /**
   * Inserts on the main thread's pool, as one statement (with rollups, one transaction with their upserts),
   * whether or not there is a writer thread: PostgreSQL's small ingest bodies (ingest/ingest.ts).
   */
  insertOnPool(projectId: number, traces: readonly NewTrace[], createdAtMs: number): Promise<InsertedIds>;
}

/**
 * `writer`: SQLite files and PostgreSQL insert on a worker thread (ingest/writer.ts). `rollups`: from the
 * environment unless given (the writer thread gets the same).
 */
export const createKyselyTraceStore = (
  db: Kysely<Database>,
  dialect: SqlDialect,
  writer?: RowWriter,
  rollups: RollupOptions = rollupOptionsFromEnv(),
): KyselyTraceStore => {
  // The main thread's inserts, scores and backfill steps share one tenant cache.
  const tenants = rollups.enabled ? new RollupCache(rollups) : undefined;
  let backfilled = false;
  /** Whether `auto` metrics may read the rollups; once the backfill is seen complete, it stays so. */
  const rollupsReady = async (): Promise<boolean> => {
    if (!rollups.enabled) return false;
    backfilled ||= (await rollupStatus(db, true)).backfilled;
    return backfilled;
  };
  return {
    async insertOnPool(projectId, traces, createdAtMs) {
      const sizes = [traces.length];
      // With rollups, the insert and its rollup upserts are one transaction; without, the insert is one statement.
      return tenants === undefined
        ? insertWith(db, dialect, projectId, traces, createdAtMs, undefined, sizes)
        : db.transaction().execute((trx) => insertWith(trx, dialect, projectId, traces, createdAtMs, tenants, sizes));
    },
    async insertTraces(projectId, traces, createdAtMs) {
      if (writer !== undefined) return writer.insert(projectId, traces, createdAtMs);
      if (traces.length === 0) return { accepted: [], duplicates: [] };
      return dialect.writeTransaction(db, (trx) => insertWith(trx, dialect, projectId, traces, createdAtMs, tenants));
    },

    async queryTraces(projectId, filter: TraceFilter, page: { limit: number; after?: TraceCursor }) {
      const { after, limit } = page;
      const f = filter;
      const prefix = f.shaPrefix;
      const rows = await db
        .selectFrom('traces')
        .selectAll()
        .where('project_id', '=', projectId)
        .$if(f.traceId !== undefined, (q) => q.where('trace_id', '=', f.traceId ?? ''))
        .$if(f.promptName !== undefined, (q) => q.where('prompt_name', '=', f.promptName ?? ''))
        .$if(f.promptVersion !== undefined, (q) => q.where('prompt_version', '=', f.promptVersion ?? 0))
        // A hex prefix as a range ('g' sorts after every hex digit), so the sha index serves it.
        .$if(prefix !== undefined && prefix.length === 64, (q) => q.where('prompt_sha', '=', prefix ?? ''))
        .$if(prefix !== undefined && prefix.length < 64, (q) =>
          q.where('prompt_sha', '>=', prefix ?? '').where('prompt_sha', '<', `${prefix ?? ''}g`),
        )
        .$if(f.label !== undefined, (q) => q.where('label', '=', f.label ?? ''))
        .$if(f.tenant !== undefined, (q) => q.where('tenant', '=', f.tenant ?? ''))
        .$if(f.rolloutId !== undefined, (q) => q.where('rollout_id', '=', f.rolloutId ?? ''))
        .$if(f.rolloutArm !== undefined, (q) => q.where('rollout_arm', '=', f.rolloutArm ?? ''))
        .$if(f.status !== undefined, (q) => q.where('status', '=', f.status ?? 'ok'))
        .$if(f.sinceMs !== undefined, (q) => q.where('started_at_ms', '>=', f.sinceMs ?? 0))
        .$if(f.untilMs !== undefined, (q) => q.where('started_at_ms', '<', f.untilMs ?? 0))
        .$if(after !== undefined, (q) =>
          q.where((eb) =>
            eb(eb.refTuple('started_at_ms', 'id'), '<', eb.tuple(after?.startedAtMs ?? 0, after?.id ?? 0)),
          ),
        )
        .orderBy('started_at_ms', 'desc')
        .orderBy('id', 'desc')
        .limit(limit)
        .execute();
      return rows.map(toTrace);
    },

    async getTrace(projectId, eventId) {
      const row = await db
        .selectFrom('traces')
        .selectAll()
        .where('project_id', '=', projectId)
        .where('event_id', '=', eventId)
        .executeTakeFirst();
      return row && toTrace(row);
    },

    async insertScore(projectId, score: NewScore) {
      // One statement: the trace cannot vanish (retention) between finding it and referencing it.
      const insert = (executor: Kysely<Database>) =>
        sql<Selectable<TraceScoresTable>>`
      insert into trace_scores (project_id, trace_row_id, event_id, name, kind, value, string_value, comment, actor, created_at_ms)
      select project_id, id, event_id, ${score.name}, ${score.kind}, ${score.value}, ${score.stringValue}, ${score.comment}, ${score.actor}, ${score.createdAtMs}
      from traces where project_id = ${projectId} and event_id = ${score.eventId}
      returning *`.execute(executor);
      if (tenants === undefined || !countsAsScore(score)) {
        const row = (await insert(db)).rows[0];
        return row && toScore(row);
      }
      // With rollups: the score and its trace's rollup rows in one transaction.
      return dialect.writeTransaction(db, async (trx) => {
        const row = (await insert(trx)).rows[0];
        if (row === undefined) return undefined;
        const trace = await readTraceDims(trx, Number(row.trace_row_id));
        if (trace?.prompt_name != null) {
          const event = rollupEventOfTrace({ ...trace, prompt_name: trace.prompt_name }, false, [score]);
          try {
            await applyRollups(kyselyRollupSql(trx as Kysely<unknown>, dialect), tenants, [event], false);
          } catch (error) {
            tenants.forget();
            throw error;
          }
        }
        return toScore(row);
      });
    },

    async listScores(projectId, eventId) {
      const rows = await db
        .selectFrom('trace_scores as s')
        .innerJoin('traces as t', 't.id', 's.trace_row_id')
        .selectAll('s')
        .where('t.project_id', '=', projectId)
        .where('t.event_id', '=', eventId)
        .orderBy('s.id')
        .execute();
      return rows.map(toScore);
    },

    async traceMetrics(projectId, query: MetricsQuery) {
      const source = query.source ?? 'auto';
      if (source === 'rollups' && !rollupsAnswer(query))
        throw new Error(`rollups answer buckets of whole minutes, not ${query.bucketMs} ms`);
      if (source === 'rollups' || (source === 'auto' && rollupsAnswer(query) && (await rollupsReady())))
        return rollupMetrics(db, projectId, query);
      return rawMetrics(db, projectId, query);
    },

    rolloutObservations(projectId, rolloutId, sinceMs) {
      return rolloutFigures(db, projectId, rolloutId, sinceMs);
    },

    rolloutOutputs(projectId, rolloutId, sinceMs, limit) {
      return rolloutOutputRows(db, projectId, rolloutId, sinceMs, limit);
    },

    shadowPairs(projectId, rolloutId, options) {
      return shadowPairRows(db, projectId, rolloutId, options.limit, options);
    },

    async deleteTracesBefore(cutoffMs, limit) {
      // Per project, so the (project_id, started_at_ms) index finds the oldest rows; one short statement each.
      const projects = await db.selectFrom('projects').select('id').orderBy('id').execute();
      let deleted = 0;
      for (const { id } of projects) {
        if (deleted >= limit) break;
        const result = await sql`
        delete from traces where id in (
          select id from traces where project_id = ${id} and started_at_ms < ${cutoffMs}
          order by started_at_ms limit ${limit - deleted})`.execute(db);
        deleted += Number(result.numAffectedRows ?? 0);
      }
      return deleted;
    },
    async deleteRollupsBefore(grainMs, cutoffMs, limit) {
      // Per prompt (its series tell which), oldest buckets first along each table's key.
      const prompts = await sql<{ project_id: number; prompt_name: string }>`
        select distinct project_id, prompt_name from trace_rollup_series order by 1, 2`.execute(db);
      const tables = [
        { name: 'trace_rollups', key: 'project_id, prompt_name, grain_ms, bucket_ms, series_id', time: 'bucket_ms' },
        {
          name: 'trace_rollup_scores',
          key: 'project_id, prompt_name, grain_ms, bucket_ms, series_id, name',
          time: 'bucket_ms',
        },
        // Group rows are hours.
        ...(grainMs === HOUR_MS
          ? [
              {
                name: 'trace_rollup_groups',
                key: 'project_id, prompt_name, group_by, hour_ms, group_key',
                time: 'hour_ms',
              },
            ]
          : []),
      ];
      let deleted = 0;
      for (const table of tables) {
        let left = limit;
        for (const { project_id: projectId, prompt_name: promptName } of prompts.rows) {
          if (left <= 0) break;
          const key = sql.raw(table.key);
          const time = sql.ref(table.time);
          const grain = table.name === 'trace_rollup_groups' ? sql`` : sql`and grain_ms = ${grainMs}`;
          const result = await sql`
            delete from ${sql.table(table.name)} where (${key}) in (
              select ${key} from ${sql.table(table.name)}
              where project_id = ${projectId} and prompt_name = ${promptName} ${grain} and ${time} < ${cutoffMs}
              order by ${time} limit ${left})`.execute(db);
          left -= Number(result.numAffectedRows ?? 0);
        }
        // Call again while any table had `limit` rows to delete.
        deleted = Math.max(deleted, limit - left);
      }
      return deleted;
    },

    backfillTraceRollups(limit) {
      if (tenants === undefined) return Promise.resolve({ done: true, traces: 0 });
      return backfillStep(db, dialect, tenants, limit);
    },

    async foldTraceRollups(nowMs, limit) {
      let folded = 0;
      while (folded < limit && (await foldStep(db, dialect, nowMs))) folded += 1;
      return folded;
    },

    async traceRollupStatus() {
      return rollupStatus(db, rollups.enabled);
    },
  };
};
