import type { Kysely, Migration } from 'kysely';
import type { SqlDialect } from '../dialect.js';

/**
 * A label's own targeting rules (core's label-rules.ts), one row per (prompt, label) while it has some:
 * `rules` is their JSON, a served version named by number and sha. Every change is an audit entry
 * (`label.rules_set`), which is also the change-feed event; the row is the current state the snapshot reads.
 */
export const labelRulesMigration = (dialect: SqlDialect): Migration => ({
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable('label_rules')
      .addColumn('id', 'integer', dialect.identity)
      .addColumn('project_id', 'integer', (col) => col.notNull().references('projects.id'))
      .addColumn('prompt_id', 'integer', (col) => col.notNull().references('prompts.id'))
      .addColumn('label', 'text', (col) => col.notNull())
      .addColumn('rules', 'text', (col) => col.notNull())
      .addColumn('updated_by', 'text', (col) => col.notNull())
      .addColumn('updated_at', 'text', (col) => col.notNull())
      .addUniqueConstraint('label_rules_prompt_label', ['prompt_id', 'label'])
      .execute();
    await db.schema.createIndex('label_rules_project').on('label_rules').columns(['project_id']).execute();
  },

  async down(db: Kysely<unknown>): Promise<void> {
    await db.schema.dropTable('label_rules').execute();
  },
});
