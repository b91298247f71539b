import { sql } from 'kysely';
import type { Kysely, Migration } from 'kysely';
import type { SqlDialect } from '../dialect.js';
import { appendOnlyTriggersSql, dropAppendOnlyTriggersSql } from './append-only.js';

/**
 * Rollouts (a candidate version tried on a label's traffic), their decisions (append-only: every start,
 * step, pause and abort with the figures behind it) and leases (background work that must run on one
 * replica at a time). At most one rollout per (prompt, label) is active: a partial unique index says so,
 * so two replicas starting one at once cannot both succeed.
 */
export const rolloutsMigration = (dialect: SqlDialect): Migration => ({
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable('rollouts')
      .addColumn('id', 'text', (col) => col.primaryKey())
      .addColumn('project_id', 'integer', (col) => col.notNull().references('projects.id'))
      .addColumn('prompt_id', 'integer', (col) => col.notNull().references('prompts.id'))
      .addColumn('label', 'text', (col) => col.notNull())
      .addColumn('mode', 'text', (col) => col.notNull().check(sql`mode in ('shadow', 'split')`))
      .addColumn('baseline_sha', 'text')
      .addColumn('candidate_sha', 'text', (col) => col.notNull())
      .addColumn('candidate_version', 'integer', (col) => col.notNull())
      .addColumn('salt', 'text', (col) => col.notNull())
      .addColumn('config', 'text', (col) => col.notNull())
      .addColumn('state', 'text', (col) =>
        col.notNull().check(sql`state in ('draft', 'running', 'paused', 'completed', 'aborted')`),
      )
      .addColumn('step_index', 'integer', (col) => col.notNull())
      .addColumn('step_started_at', 'text')
      .addColumn('reason', 'text')
      .addColumn('created_by', 'text', (col) => col.notNull())
      .addColumn('created_at', 'text', (col) => col.notNull())
      .addColumn('updated_at', 'text', (col) => col.notNull())
      .addColumn('ended_at', 'text')
      .addForeignKeyConstraint('rollouts_candidate_fk', ['prompt_id', 'candidate_sha'], 'versions', [
        'prompt_id',
        'sha',
      ])
      .execute();
    await db.schema
      .createIndex('rollouts_one_active')
      .unique()
      .on('rollouts')
      .columns(['project_id', 'prompt_id', 'label'])
      .where(sql.ref('state'), 'in', ['draft', 'running', 'paused'])
      .execute();
    await db.schema.createIndex('rollouts_project').on('rollouts').columns(['project_id', 'created_at']).execute();

    await db.schema
      .createTable('rollout_decisions')
      .addColumn('id', 'integer', dialect.identity)
      .addColumn('rollout_id', 'text', (col) => col.notNull().references('rollouts.id'))
      .addColumn('project_id', 'integer', (col) => col.notNull().references('projects.id'))
      .addColumn('at', 'text', (col) => col.notNull())
      .addColumn('action', 'text', (col) => col.notNull())
      .addColumn('actor', 'text', (col) => col.notNull())
      .addColumn('reason', 'text', (col) => col.notNull())
      .addColumn('figures', 'text')
      .execute();
    await db.schema
      .createIndex('rollout_decisions_rollout')
      .on('rollout_decisions')
      .columns(['rollout_id', 'id'])
      .execute();
    for (const statement of appendOnlyTriggersSql(
      dialect.name,
      'rollout_decisions',
      'rollout decisions are append-only',
    )) {
      await sql.raw(statement).execute(db);
    }

    await db.schema
      .createTable('leases')
      .addColumn('name', 'text', (col) => col.primaryKey())
      .addColumn('holder', 'text', (col) => col.notNull())
      .addColumn('expires_at', 'text', (col) => col.notNull())
      .execute();
  },

  async down(db: Kysely<unknown>): Promise<void> {
    for (const statement of dropAppendOnlyTriggersSql(dialect.name, 'rollout_decisions'))
      await sql.raw(statement).execute(db);
    await db.schema.dropTable('leases').execute();
    await db.schema.dropTable('rollout_decisions').execute();
    await db.schema.dropTable('rollouts').execute();
  },
});
