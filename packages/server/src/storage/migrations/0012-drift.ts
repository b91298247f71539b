import { sql } from 'kysely';
import type { Kysely, Migration } from 'kysely';
import type { SqlDialect } from '../dialect.js';
import { appendOnlyTriggersSql } from './append-only.js';

/**
 * Drift reports, and the review policy's `noDrift` descriptors.
 *
 * - `drift_reports`: one row per stored report (`POST /api/v1/drift`); `report` is core's JSON, byte for
 *   byte as built, beside the columns the prompt's list shows. Append-only, like eval runs: a report is
 *   what the data said when it was asked.
 * - `label_policies.no_drift`: JSON list of descriptor names a change request must not drift on; every
 *   existing policy gets the empty list (no requirement).
 */
export const driftMigration = (dialect: SqlDialect): Migration => ({
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable('drift_reports')
      .addColumn('id', 'integer', dialect.identity)
      .addColumn('project_id', 'integer', (col) => col.notNull().references('projects.id'))
      .addColumn('prompt_name', 'text', (col) => col.notNull())
      .addColumn('a_sha', 'text', (col) => col.notNull())
      .addColumn('a_version', 'integer', (col) => col.notNull())
      .addColumn('b_sha', 'text', (col) => col.notNull())
      .addColumn('b_version', 'integer', (col) => col.notNull())
      .addColumn('source', 'text', (col) => col.notNull())
      .addColumn('suite', 'text')
      .addColumn('window_since', 'text')
      .addColumn('window_until', 'text')
      .addColumn('drifted', 'integer', (col) => col.notNull().check(sql`drifted in (0, 1)`))
      .addColumn('verdict', 'text', (col) => col.notNull())
      .addColumn('report', 'text', (col) => col.notNull())
      .addColumn('created_by', 'text', (col) => col.notNull())
      .addColumn('created_at', 'text', (col) => col.notNull())
      .execute();
    await db.schema
      .createIndex('drift_reports_prompt')
      .on('drift_reports')
      .columns(['project_id', 'prompt_name', 'id'])
      .execute();
    for (const statement of appendOnlyTriggersSql(dialect.name, 'drift_reports', 'drift reports are append-only'))
      await sql.raw(statement).execute(db);
    await db.schema
      .alterTable('label_policies')
      .addColumn('no_drift', 'text', (col) => col.notNull().defaultTo('[]'))
      .execute();
  },

  async down(db: Kysely<unknown>): Promise<void> {
    await db.schema.alterTable('label_policies').dropColumn('no_drift').execute();
    await db.schema.dropTable('drift_reports').execute();
  },
});
