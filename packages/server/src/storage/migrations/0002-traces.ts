import { sql } from 'kysely';
import type { Kysely, Migration } from 'kysely';
import type { SqlDialect } from '../dialect.js';

/**
 * Traces and their scores. Unlike the registry's tables, traces may be deleted (retention), so they get no
 * append-only triggers. Times are integer epoch milliseconds (`*_at_ms`), not ISO text: time buckets
 * (`started_at_ms / bucket`) and range scans are then plain integer arithmetic in both dialects.
 * Ids are 64-bit (`bigint` on PostgreSQL; the pool parses int8 as a JS number).
 *
 * Indexes are kept few because each one costs every insert: the event id (idempotent re-sends), time,
 * and the three filters a complaint starts from (prompt, sha, tenant). Label, arm, version and status
 * filters ride on the prompt index.
 */
export const tracesMigration = (dialect: SqlDialect): Migration => {
  const bigId = dialect.identity;
  const idType = dialect.bigIdType;

  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('traces')
        .addColumn('id', idType, bigId)
        .addColumn('project_id', 'integer', (col) => col.notNull().references('projects.id'))
        .addColumn('event_id', 'text', (col) => col.notNull())
        .addColumn('trace_id', 'text')
        .addColumn('span_id', 'text')
        .addColumn('parent_span_id', 'text')
        .addColumn('prompt_name', 'text')
        .addColumn('prompt_version', 'integer')
        .addColumn('prompt_sha', 'text')
        .addColumn('effective_sha', 'text')
        .addColumn('label', 'text')
        .addColumn('tenant', 'text')
        .addColumn('rollout_id', 'text')
        .addColumn('rollout_arm', 'text')
        .addColumn('release_sha', 'text')
        .addColumn('variables', 'text')
        .addColumn('output', 'text')
        .addColumn('model', 'text')
        .addColumn('provider', 'text')
        .addColumn('latency_ms', 'double precision')
        .addColumn('input_tokens', 'integer')
        .addColumn('output_tokens', 'integer')
        .addColumn('cost', 'double precision')
        .addColumn('status', 'text', (col) => col.notNull().check(sql`status in ('ok', 'error')`))
        .addColumn('error', 'text')
        .addColumn('attributes', 'text')
        .addColumn('started_at_ms', 'bigint', (col) => col.notNull())
        .addColumn('created_at_ms', 'bigint', (col) => col.notNull())
        .addUniqueConstraint('traces_event_unique', ['project_id', 'event_id'])
        .execute();
      const index = (name: string, columns: string[]) =>
        db.schema.createIndex(name).on('traces').columns(columns).execute();
      await index('traces_time', ['project_id', 'started_at_ms']);
      await index('traces_prompt_time', ['project_id', 'prompt_name', 'started_at_ms']);
      await index('traces_sha_time', ['project_id', 'prompt_sha', 'started_at_ms']);
      await index('traces_tenant_time', ['project_id', 'tenant', 'started_at_ms']);

      await db.schema
        .createTable('trace_scores')
        .addColumn('id', idType, bigId)
        .addColumn('project_id', 'integer', (col) => col.notNull().references('projects.id'))
        // Retention deletes a trace's scores with it.
        .addColumn('trace_row_id', idType, (col) => col.notNull().references('traces.id').onDelete('cascade'))
        .addColumn('event_id', 'text', (col) => col.notNull())
        .addColumn('name', 'text', (col) => col.notNull())
        .addColumn('kind', 'text', (col) => col.notNull().check(sql`kind in ('thumbs', 'numeric', 'label')`))
        .addColumn('value', 'double precision')
        .addColumn('string_value', 'text')
        .addColumn('comment', 'text')
        .addColumn('actor', 'text', (col) => col.notNull())
        .addColumn('created_at_ms', 'bigint', (col) => col.notNull())
        .execute();
      await db.schema.createIndex('trace_scores_trace').on('trace_scores').columns(['trace_row_id', 'id']).execute();
    },

    async down(db: Kysely<unknown>): Promise<void> {
      await db.schema.dropTable('trace_scores').execute();
      await db.schema.dropTable('traces').execute();
    },
  };
};
