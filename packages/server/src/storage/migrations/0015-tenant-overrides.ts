import { sql } from 'kysely';
import type { Kysely, Migration } from 'kysely';
import type { SqlDialect } from '../dialect.js';
import { appendOnlyTriggersSql, dropAppendOnlyTriggersSql } from './append-only.js';

/**
 * Tenant overrides: append-only versions per (prompt, tenant). The newest version is the current one; a
 * rollback appends a copy of an earlier one. Each version serves the tenant's resolutions of one `label`:
 * on the version the label points at (`base_sha` null: it follows the label), or on a pinned base version.
 */
export const tenantOverridesMigration = (dialect: SqlDialect): Migration => ({
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable('tenant_overrides')
      .addColumn('id', 'integer', dialect.identity)
      .addColumn('project_id', 'integer', (col) => col.notNull().references('projects.id'))
      .addColumn('prompt_id', 'integer', (col) => col.notNull().references('prompts.id'))
      .addColumn('tenant', 'text', (col) => col.notNull())
      .addColumn('version', 'integer', (col) => col.notNull())
      .addColumn('sha', 'text', (col) => col.notNull())
      .addColumn('content', 'text', (col) => col.notNull())
      .addColumn('label', 'text', (col) => col.notNull())
      .addColumn('base_sha', 'text')
      .addColumn('author', 'text', (col) => col.notNull())
      .addColumn('message', 'text', (col) => col.notNull())
      .addColumn('created_at', 'text', (col) => col.notNull())
      .addUniqueConstraint('tenant_overrides_version', ['prompt_id', 'tenant', 'version'])
      .execute();
    await db.schema
      .createIndex('tenant_overrides_project')
      .on('tenant_overrides')
      .columns(['project_id', 'prompt_id', 'tenant', 'version'])
      .execute();
    for (const statement of appendOnlyTriggersSql(
      dialect.name,
      'tenant_overrides',
      'tenant override versions are append-only',
    )) {
      await sql.raw(statement).execute(db);
    }
  },
  async down(db: Kysely<unknown>): Promise<void> {
    for (const statement of dropAppendOnlyTriggersSql(dialect.name, 'tenant_overrides')) {
      await sql.raw(statement).execute(db);
    }
    await db.schema.dropTable('tenant_overrides').execute();
  },
});
