import { sql } from 'kysely';
import type { CreateTableBuilder, Kysely, Migration } from 'kysely';
import type { Dialect } from '../port.js';

/**
 * Trace metrics rollups, kept in the transaction that inserts the raw rows (storage/trace-rollups.ts):
 *
 * - `trace_rollups`: per grain (60,000 ms minutes and 3,600,000 ms hours), bucket start and key
 *   (project, prompt, sha, effective sha, label, tenant, rollout id and arm; '' stands for none, so the
 *   key is a primary key in both databases, whose unique constraints never match NULLs): count, errors,
 *   tokens, cost, thumbs, the sum and count of numeric and thumbs scores, and the latency sketch (core's
 *   latency-sketch.ts: bins as a JSON object, exact values as a JSON array or NULL).
 * - `trace_rollup_scores`: the same key plus the score name: sum and count per name.
 * - `trace_rollup_tenants`: the tenants of a prompt that get rows of their own; the rest share `other`.
 * - `trace_rollup_backfill`: one row, the backfill of the traces that existed before this migration:
 *   trace ids up to `trace_until` (and their scores up to `score_until`) are added in batches, and
 *   `trace_done` is the last trace id added (the watermark a restarted backfill resumes from).
 *
 * No foreign keys: each would cost every upsert a lookup, and retention deletes traces under the rollups.
 * SQLite tables are WITHOUT ROWID (the key is the one B-tree an upsert writes). PostgreSQL merges the
 * sketch texts with two SQL functions of the same meaning as core's mergeEncodedLatencyBins/Exact (SQLite
 * registers those as functions on each connection); 32 is core's LATENCY_SKETCH_EXACT_MAX.
 */

// The builders type their columns as they are added; the key's columns come from `keyed`.
const KEY: never[] = [
  'project_id',
  'prompt_name',
  'grain_ms',
  'bucket_ms',
  'prompt_sha',
  'effective_sha',
  'label',
  'tenant',
  'rollout_id',
  'rollout_arm',
] as never[];

const POSTGRES_FUNCTIONS = [
  `create or replace function promptops_latency_bins_merge(a text, b text) returns text
     language sql immutable strict parallel safe as $$
       select coalesce(jsonb_object_agg(k, n), '{}'::jsonb)::text from (
         select k, sum(v::bigint) as n from (
           select key as k, value as v from jsonb_each_text(a::jsonb)
           union all select key, value from jsonb_each_text(b::jsonb)) as e
         group by k) as s
     $$`,
  `create or replace function promptops_latency_exact_merge(a text, b text) returns text
     language sql immutable strict parallel safe as $$
       select case when jsonb_array_length(a::jsonb) + jsonb_array_length(b::jsonb) <= 32
         then (a::jsonb || b::jsonb)::text end
     $$`,
];

export const rollupsMigration = (dialect: Dialect): Migration => {
  const keyed = <T extends string>(table: CreateTableBuilder<T>): CreateTableBuilder<T> =>
    table
      .addColumn('project_id', 'integer', (col) => col.notNull())
      .addColumn('prompt_name', 'text', (col) => col.notNull())
      .addColumn('grain_ms', 'integer', (col) => col.notNull())
      .addColumn('bucket_ms', 'bigint', (col) => col.notNull())
      .addColumn('prompt_sha', 'text', (col) => col.notNull())
      .addColumn('effective_sha', 'text', (col) => col.notNull())
      .addColumn('label', 'text', (col) => col.notNull())
      .addColumn('tenant', 'text', (col) => col.notNull())
      .addColumn('rollout_id', 'text', (col) => col.notNull())
      .addColumn('rollout_arm', 'text', (col) => col.notNull());
  const withoutRowid = <T extends string>(table: CreateTableBuilder<T>): CreateTableBuilder<T> =>
    dialect === 'sqlite' ? table.modifyEnd(sql`without rowid`) : table;

  return {
    async up(db: Kysely<unknown>): Promise<void> {
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
          .addColumn('latency_bins', 'text', (col) => col.notNull())
          .addColumn('latency_exact', 'text')
          .addPrimaryKeyConstraint('trace_rollups_key', [...KEY]),
      ).execute();
      // Retention deletes by age across projects and prompts.
      await db.schema.createIndex('trace_rollups_age').on('trace_rollups').columns(['grain_ms', 'bucket_ms']).execute();

      await withoutRowid(
        keyed(db.schema.createTable('trace_rollup_scores'))
          .addColumn('name', 'text', (col) => col.notNull())
          .addColumn('sum', 'double precision', (col) => col.notNull())
          .addColumn('count', 'bigint', (col) => col.notNull())
          .addPrimaryKeyConstraint('trace_rollup_scores_key', [...KEY, 'name' as never]),
      ).execute();
      await db.schema
        .createIndex('trace_rollup_scores_age')
        .on('trace_rollup_scores')
        .columns(['grain_ms', 'bucket_ms'])
        .execute();

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

      if (dialect === 'postgres') for (const statement of POSTGRES_FUNCTIONS) await sql.raw(statement).execute(db);
    },

    async down(db: Kysely<unknown>): Promise<void> {
      for (const table of ['trace_rollup_backfill', 'trace_rollup_tenants', 'trace_rollup_scores', 'trace_rollups'])
        await db.schema.dropTable(table).execute();
      if (dialect === 'postgres') {
        await sql`drop function if exists promptops_latency_bins_merge(text, text)`.execute(db);
        await sql`drop function if exists promptops_latency_exact_merge(text, text)`.execute(db);
      }
    },
  };
};
