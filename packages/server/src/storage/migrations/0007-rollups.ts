import { sql } from 'kysely';
import type { CreateTableBuilder, Kysely, Migration } from 'kysely';
import type { SqlDialect } from '../dialect.js';

/**
 * Trace metrics rollups, kept in the transaction that inserts the raw rows (storage/trace-rollups.ts):
 *
 * - `trace_rollup_series`: one row per key a rollup counts under (project, prompt, sha, effective sha,
 *   label, tenant, rollout id and arm; '' stands for none, so the key is unique in both databases, whose
 *   unique constraints never match NULLs), with a small integer id. Rollup rows carry the id instead of
 *   ~200 bytes of key text: smaller rows, cheaper upserts, and a query that maps ids in memory.
 * - `trace_rollups`: per (project, prompt, grain, bucket start, series), grains of 60,000 ms (minutes) and
 *   3,600,000 ms (hours): count, errors, tokens, cost, thumbs, the sum and count of numeric and thumbs
 *   scores, and the latency sketch (core's latency-sketch.ts, in its binary form: BLOB, bytea).
 * - `trace_rollup_scores`: the same key plus the score name: sum and count per name.
 * - `trace_rollup_groups`: per hour, the same figures per group the metrics chart (`group_by` sha, label or
 *   arm, `group_key` its value): a few rows an hour where the series are tens or hundreds, so a 7-day
 *   chart reads ~170 x a few rows. Made by the fold with the hour's rows.
 * - `trace_rollup_dirty`: the hours whose hour rows are to be folded (again) from their minute rows: an
 *   insert writes minute rows and marks the hour (`version` counts the marks); the fold replaces the hour's
 *   rows and removes the mark (storage/trace-rollup-fold.ts).
 * - `trace_rollup_tenants`: the tenants of a prompt that get series of their own; the rest share `other`.
 * - `trace_rollup_backfill`: one row, the backfill of the traces that existed before this migration:
 *   trace ids up to `trace_until` (and their scores up to `score_until`) are added in batches, and
 *   `trace_done` is the last trace id added (the watermark a restarted backfill resumes from).
 *
 * No foreign keys: each would cost every upsert a lookup, and retention deletes traces under the rollups.
 * SQLite's rollup tables are WITHOUT ROWID (the key is the one B-tree an upsert writes). Writers merge
 * sketches in JavaScript under a lock (storage/trace-rollups.ts), so no database function is needed.
 */

const SERIES_KEY = [
  'project_id',
  'prompt_name',
  'prompt_sha',
  'effective_sha',
  'label',
  'tenant',
  'rollout_id',
  'rollout_arm',
] as const;
// The builders type their columns as they are added; these come from `keyed`.
const ROW_KEY = ['project_id', 'prompt_name', 'grain_ms', 'bucket_ms', 'series_id'] as never[];

export const rollupsMigration = (dialect: SqlDialect): Migration => {
  const keyed = <T extends string>(table: CreateTableBuilder<T>): CreateTableBuilder<T> =>
    table
      .addColumn('project_id', 'integer', (col) => col.notNull())
      .addColumn('prompt_name', 'text', (col) => col.notNull())
      .addColumn('grain_ms', 'integer', (col) => col.notNull())
      .addColumn('bucket_ms', 'bigint', (col) => col.notNull())
      .addColumn('series_id', 'integer', (col) => col.notNull());
  const sketchType = dialect.bytesType;
  const withoutRowid = dialect.clustered;

  return {
    async up(db: Kysely<unknown>): Promise<void> {
      let series = db.schema.createTable('trace_rollup_series').addColumn('id', 'integer', dialect.identity);
      for (const column of SERIES_KEY)
        series = series.addColumn(column, column === 'project_id' ? 'integer' : 'text', (col) => col.notNull());
      await series.addUniqueConstraint('trace_rollup_series_key', [...SERIES_KEY] as never[]).execute();

      await withoutRowid(
        keyed(db.schema.createTable('trace_rollups'))
          .addColumn('count', 'bigint', (col) => col.notNull())
          .addColumn('errors', 'bigint', (col) => col.notNull())
          .addColumn('input_tokens', 'bigint', (col) => col.notNull())
          .addColumn('output_tokens', 'bigint', (col) => col.notNull())
          .addColumn('cost', 'double precision', (col) => col.notNull())
          .addColumn('thumbs_up', 'bigint', (col) => col.notNull())
          .addColumn('thumbs_down', 'bigint', (col) => col.notNull())
          .addColumn('score_sum', 'double precision', (col) => col.notNull())
          .addColumn('score_count', 'bigint', (col) => col.notNull())
          .addColumn('latency', sketchType, (col) => col.notNull())
          .addPrimaryKeyConstraint('trace_rollups_key', ROW_KEY),
      ).execute();

      await withoutRowid(
        keyed(db.schema.createTable('trace_rollup_scores'))
          .addColumn('name', 'text', (col) => col.notNull())
          .addColumn('sum', 'double precision', (col) => col.notNull())
          .addColumn('count', 'bigint', (col) => col.notNull())
          .addPrimaryKeyConstraint('trace_rollup_scores_key', [...ROW_KEY, 'name' as never]),
      ).execute();

      await withoutRowid(
        db.schema
          .createTable('trace_rollup_groups')
          .addColumn('project_id', 'integer', (col) => col.notNull())
          .addColumn('prompt_name', 'text', (col) => col.notNull())
          .addColumn('group_by', 'text', (col) => col.notNull())
          .addColumn('hour_ms', 'bigint', (col) => col.notNull())
          .addColumn('group_key', 'text', (col) => col.notNull())
          .addColumn('count', 'bigint', (col) => col.notNull())
          .addColumn('errors', 'bigint', (col) => col.notNull())
          .addColumn('input_tokens', 'bigint', (col) => col.notNull())
          .addColumn('output_tokens', 'bigint', (col) => col.notNull())
          .addColumn('cost', 'double precision', (col) => col.notNull())
          .addColumn('thumbs_up', 'bigint', (col) => col.notNull())
          .addColumn('thumbs_down', 'bigint', (col) => col.notNull())
          .addColumn('score_sum', 'double precision', (col) => col.notNull())
          .addColumn('score_count', 'bigint', (col) => col.notNull())
          .addColumn('latency', sketchType, (col) => col.notNull())
          .addPrimaryKeyConstraint('trace_rollup_groups_key', [
            'project_id',
            'prompt_name',
            'group_by',
            'hour_ms',
            'group_key',
          ]),
      ).execute();

      await withoutRowid(
        db.schema
          .createTable('trace_rollup_dirty')
          .addColumn('project_id', 'integer', (col) => col.notNull())
          .addColumn('prompt_name', 'text', (col) => col.notNull())
          .addColumn('hour_ms', 'bigint', (col) => col.notNull())
          .addColumn('version', 'bigint', (col) => col.notNull())
          .addPrimaryKeyConstraint('trace_rollup_dirty_key', ['project_id', 'prompt_name', 'hour_ms']),
      ).execute();

      await withoutRowid(
        db.schema
          .createTable('trace_rollup_tenants')
          .addColumn('project_id', 'integer', (col) => col.notNull())
          .addColumn('prompt_name', 'text', (col) => col.notNull())
          .addColumn('tenant', 'text', (col) => col.notNull())
          .addPrimaryKeyConstraint('trace_rollup_tenants_key', ['project_id', 'prompt_name', 'tenant']),
      ).execute();

      await db.schema
        .createTable('trace_rollup_backfill')
        .addColumn('id', 'integer', (col) => col.primaryKey())
        .addColumn('trace_until', 'bigint', (col) => col.notNull())
        .addColumn('score_until', 'bigint', (col) => col.notNull())
        .addColumn('trace_done', 'bigint', (col) => col.notNull())
        .execute();
      // Everything stored so far is the backfill's; every row inserted from now on is rolled up at insert.
      await sql`insert into trace_rollup_backfill (id, trace_until, score_until, trace_done)
        select 1, coalesce((select max(id) from traces), 0), coalesce((select max(id) from trace_scores), 0), 0`.execute(
        db,
      );
    },

    async down(db: Kysely<unknown>): Promise<void> {
      for (const table of [
        'trace_rollup_backfill',
        'trace_rollup_tenants',
        'trace_rollup_dirty',
        'trace_rollup_groups',
        'trace_rollup_scores',
        'trace_rollups',
        'trace_rollup_series',
      ])
        await db.schema.dropTable(table).execute();
    },
  };
};
