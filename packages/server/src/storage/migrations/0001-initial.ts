import { sql } from 'kysely';
import type { Kysely, Migration } from 'kysely';
import type { SqlDialect } from '../dialect.js';
import { APPEND_ONLY_TABLES, createAppendOnlyTriggersSql, dropAppendOnlyTriggersSql } from './append-only.js';

/**
 * The registry's tables. Times are ISO-8601 text and JSON is text in both dialects, so one query layer
 * reads both alike; ids are 32-bit integers so that `pg` returns JS numbers.
 */
export const initialMigration = (dialect: SqlDialect): Migration => {
  const serialId = dialect.identity;

  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('projects')
        .addColumn('id', 'integer', serialId)
        .addColumn('name', 'text', (col) => col.notNull())
        .addColumn('created_at', 'text', (col) => col.notNull())
        .addUniqueConstraint('projects_name_unique', ['name'])
        .execute();

      await db.schema
        .createTable('api_keys')
        .addColumn('id', 'integer', serialId)
        .addColumn('project_id', 'integer', (col) => col.notNull().references('projects.id'))
        .addColumn('key_id', 'text', (col) => col.notNull())
        .addColumn('hash', 'text', (col) => col.notNull())
        .addColumn('role', 'text', (col) => col.notNull())
        .addColumn('name', 'text', (col) => col.notNull())
        .addColumn('created_by', 'text', (col) => col.notNull())
        .addColumn('created_at', 'text', (col) => col.notNull())
        .addColumn('last_used_at', 'text')
        .addColumn('revoked_at', 'text')
        .addUniqueConstraint('api_keys_key_id_unique', ['key_id'])
        .execute();
      await db.schema.createIndex('api_keys_project').on('api_keys').columns(['project_id', 'id']).execute();

      await db.schema
        .createTable('prompts')
        .addColumn('id', 'integer', serialId)
        .addColumn('project_id', 'integer', (col) => col.notNull().references('projects.id'))
        .addColumn('name', 'text', (col) => col.notNull())
        .addColumn('head_version', 'integer', (col) => col.notNull().defaultTo(0))
        .addColumn('head_sha', 'text')
        .addColumn('created_at', 'text', (col) => col.notNull())
        .addColumn('updated_at', 'text', (col) => col.notNull())
        .addUniqueConstraint('prompts_project_name_unique', ['project_id', 'name'])
        .execute();

      await db.schema
        .createTable('versions')
        .addColumn('project_id', 'integer', (col) => col.notNull().references('projects.id'))
        .addColumn('prompt_id', 'integer', (col) => col.notNull().references('prompts.id'))
        .addColumn('version', 'integer', (col) => col.notNull().check(sql`version >= 1`))
        .addColumn('sha', 'text', (col) => col.notNull())
        .addColumn('content', 'text', (col) => col.notNull())
        .addColumn('parent_sha', 'text')
        .addColumn('author', 'text', (col) => col.notNull())
        .addColumn('message', 'text', (col) => col.notNull())
        .addColumn('created_at', 'text', (col) => col.notNull())
        .addPrimaryKeyConstraint('versions_pk', ['prompt_id', 'version'])
        .addUniqueConstraint('versions_prompt_sha_unique', ['prompt_id', 'sha'])
        .execute();
      // `streamVersions` walks a project in (prompt, version) order.
      await db.schema
        .createIndex('versions_project_order')
        .on('versions')
        .columns(['project_id', 'prompt_id', 'version'])
        .execute();

      await db.schema
        .createTable('labels')
        .addColumn('prompt_id', 'integer', (col) => col.notNull().references('prompts.id'))
        .addColumn('label', 'text', (col) => col.notNull())
        .addColumn('sha', 'text', (col) => col.notNull())
        .addColumn('version', 'integer', (col) => col.notNull())
        .addColumn('updated_at', 'text', (col) => col.notNull())
        .addColumn('updated_by', 'text', (col) => col.notNull())
        .addPrimaryKeyConstraint('labels_pk', ['prompt_id', 'label'])
        // A label can only point at a version that exists.
        .addForeignKeyConstraint('labels_version_fk', ['prompt_id', 'sha'], 'versions', ['prompt_id', 'sha'])
        .execute();

      await db.schema
        .createTable('deployments')
        .addColumn('id', 'integer', serialId)
        .addColumn('project_id', 'integer', (col) => col.notNull().references('projects.id'))
        .addColumn('prompt_id', 'integer', (col) => col.notNull().references('prompts.id'))
        .addColumn('label', 'text', (col) => col.notNull())
        .addColumn('from_sha', 'text')
        .addColumn('from_version', 'integer')
        .addColumn('to_sha', 'text', (col) => col.notNull())
        .addColumn('to_version', 'integer', (col) => col.notNull())
        .addColumn('kind', 'text', (col) => col.notNull())
        .addColumn('actor', 'text', (col) => col.notNull())
        .addColumn('reason', 'text', (col) => col.notNull())
        .addColumn('created_at', 'text', (col) => col.notNull())
        .addForeignKeyConstraint('deployments_version_fk', ['prompt_id', 'to_sha'], 'versions', ['prompt_id', 'sha'])
        .execute();
      await db.schema
        .createIndex('deployments_prompt_label')
        .on('deployments')
        .columns(['prompt_id', 'label', 'id'])
        .execute();

      await db.schema
        .createTable('audit_log')
        .addColumn('project_id', 'integer', (col) => col.notNull().references('projects.id'))
        .addColumn('seq', 'integer', (col) => col.notNull().check(sql`seq >= 1`))
        .addColumn('at', 'text', (col) => col.notNull())
        .addColumn('actor', 'text', (col) => col.notNull())
        .addColumn('action', 'text', (col) => col.notNull())
        .addColumn('target', 'text', (col) => col.notNull())
        .addColumn('data', 'text', (col) => col.notNull())
        .addColumn('prev_hash', 'text', (col) => col.notNull())
        .addColumn('hash', 'text', (col) => col.notNull())
        .addPrimaryKeyConstraint('audit_log_pk', ['project_id', 'seq'])
        .execute();

      for (const statement of dialect.appendOnlySetupSql) await sql.raw(statement).execute(db);
      for (const table of APPEND_ONLY_TABLES) {
        for (const statement of createAppendOnlyTriggersSql(dialect.name, table)) await sql.raw(statement).execute(db);
      }
    },

    async down(db: Kysely<unknown>): Promise<void> {
      for (const table of APPEND_ONLY_TABLES) {
        for (const statement of dropAppendOnlyTriggersSql(dialect.name, table)) await sql.raw(statement).execute(db);
      }
      for (const statement of dialect.appendOnlyTeardownSql) await sql.raw(statement).execute(db);
      for (const table of ['audit_log', 'deployments', 'labels', 'versions', 'prompts', 'api_keys', 'projects']) {
        await db.schema.dropTable(table).execute();
      }
    },
  };
};
