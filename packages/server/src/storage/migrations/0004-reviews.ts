import { sql } from 'kysely';
import type { ColumnDefinitionBuilder, Kysely, Migration } from 'kysely';
import type { SqlDialect } from '../dialect.js';

/**
 * Review gates: label policies (per label, optionally narrowed by a prompt name pattern), owners by
 * pattern, teams, change requests and their timeline. Booleans are integers (0/1) and lists are JSON
 * text, so both dialects read alike. Change requests are mutable (status, proposed sha); their events
 * are the history, and every change is also in the audit chain.
 */
export const reviewsMigration = (dialect: SqlDialect): Migration => {
  const serialId = dialect.identity;
  const flag = (col: ColumnDefinitionBuilder): ColumnDefinitionBuilder => col.notNull();

  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('label_policies')
        .addColumn('project_id', 'integer', (col) => col.notNull().references('projects.id'))
        .addColumn('label', 'text', (col) => col.notNull())
        .addColumn('pattern', 'text', (col) => col.notNull())
        .addColumn('protected', 'integer', flag)
        .addColumn('approvals', 'integer', (col) => col.notNull().check(sql`approvals >= 0`))
        .addColumn('min_role', 'text', (col) => col.notNull())
        .addColumn('owners', 'text', (col) => col.notNull())
        .addColumn('code_owners', 'integer', flag)
        .addColumn('suites', 'text', (col) => col.notNull())
        .addColumn('author_may_approve', 'integer', flag)
        .addColumn('updated_at', 'text', (col) => col.notNull())
        .addColumn('updated_by', 'text', (col) => col.notNull())
        .addPrimaryKeyConstraint('label_policies_pk', ['project_id', 'label', 'pattern'])
        .execute();

      await db.schema
        .createTable('code_owners')
        .addColumn('project_id', 'integer', (col) => col.notNull().references('projects.id'))
        .addColumn('pattern', 'text', (col) => col.notNull())
        .addColumn('owners', 'text', (col) => col.notNull())
        .addColumn('updated_at', 'text', (col) => col.notNull())
        .addColumn('updated_by', 'text', (col) => col.notNull())
        .addPrimaryKeyConstraint('code_owners_pk', ['project_id', 'pattern'])
        .execute();

      await db.schema
        .createTable('teams')
        .addColumn('project_id', 'integer', (col) => col.notNull().references('projects.id'))
        .addColumn('team', 'text', (col) => col.notNull())
        .addColumn('members', 'text', (col) => col.notNull())
        .addColumn('updated_at', 'text', (col) => col.notNull())
        .addColumn('updated_by', 'text', (col) => col.notNull())
        .addPrimaryKeyConstraint('teams_pk', ['project_id', 'team'])
        .execute();

      await db.schema
        .createTable('change_requests')
        .addColumn('id', 'integer', serialId)
        .addColumn('project_id', 'integer', (col) => col.notNull().references('projects.id'))
        .addColumn('prompt_id', 'integer', (col) => col.notNull().references('prompts.id'))
        .addColumn('label', 'text', (col) => col.notNull())
        .addColumn('status', 'text', (col) => col.notNull().check(sql`status in ('open', 'merged', 'closed')`))
        .addColumn('author', 'text', (col) => col.notNull())
        .addColumn('message', 'text', (col) => col.notNull())
        .addColumn('sha', 'text', (col) => col.notNull())
        .addColumn('version', 'integer', (col) => col.notNull())
        .addColumn('base_sha', 'text')
        .addColumn('base_version', 'integer')
        .addColumn('created_at', 'text', (col) => col.notNull())
        .addColumn('updated_at', 'text', (col) => col.notNull())
        .addColumn('deployment_id', 'integer', (col) => col.references('deployments.id'))
        .addForeignKeyConstraint('change_requests_version_fk', ['prompt_id', 'sha'], 'versions', ['prompt_id', 'sha'])
        .execute();
      await db.schema
        .createIndex('change_requests_project')
        .on('change_requests')
        .columns(['project_id', 'status', 'id'])
        .execute();
      await db.schema
        .createIndex('change_requests_prompt')
        .on('change_requests')
        .columns(['prompt_id', 'label', 'id'])
        .execute();

      await db.schema
        .createTable('review_events')
        .addColumn('id', 'integer', serialId)
        .addColumn('change_request_id', 'integer', (col) => col.notNull().references('change_requests.id'))
        .addColumn('kind', 'text', (col) => col.notNull())
        .addColumn('actor', 'text', (col) => col.notNull())
        .addColumn('sha', 'text', (col) => col.notNull())
        .addColumn('comment', 'text', (col) => col.notNull())
        .addColumn('at', 'text', (col) => col.notNull())
        .execute();
      await db.schema
        .createIndex('review_events_request')
        .on('review_events')
        .columns(['change_request_id', 'id'])
        .execute();
    },

    async down(db: Kysely<unknown>): Promise<void> {
      for (const table of ['review_events', 'change_requests', 'teams', 'code_owners', 'label_policies']) {
        await db.schema.dropTable(table).execute();
      }
    },
  };
};
