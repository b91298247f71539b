import { sql } from 'kysely';
import type { Kysely, Migration } from 'kysely';
import type { SqlDialect } from '../dialect.js';
import { appendOnlyTriggersSql, dropAppendOnlyTriggersSql } from './append-only.js';

/**
 * Monitors (conditions on what a label serves, against a baseline), incidents (opened by a monitor or
 * by hand) and their events (append-only: opened, notified, mitigated, acknowledged, resolved, each with
 * who and when). An incident's timeline is built from these events, the deployments and the traces.
 */
export const incidentsMigration = (dialect: SqlDialect): Migration => ({
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable('monitors')
      .addColumn('id', 'integer', dialect.identity)
      .addColumn('project_id', 'integer', (col) => col.notNull().references('projects.id'))
      .addColumn('prompt_id', 'integer', (col) => col.notNull().references('prompts.id'))
      .addColumn('prompt_name', 'text', (col) => col.notNull())
      .addColumn('label', 'text', (col) => col.notNull())
      .addColumn('config', 'text', (col) => col.notNull())
      .addColumn('created_by', 'text', (col) => col.notNull())
      .addColumn('created_at', 'text', (col) => col.notNull())
      .addColumn('last_fired_at', 'text')
      .addColumn('last_looked_at', 'text')
      .addColumn('last_reason', 'text')
      .execute();
    await db.schema
      .createIndex('monitors_prompt')
      .on('monitors')
      .columns(['project_id', 'prompt_id', 'label'])
      .execute();

    await db.schema
      .createTable('incidents')
      .addColumn('id', 'integer', dialect.identity)
      .addColumn('project_id', 'integer', (col) => col.notNull().references('projects.id'))
      .addColumn('prompt_id', 'integer', (col) => col.notNull().references('prompts.id'))
      .addColumn('prompt_name', 'text', (col) => col.notNull())
      .addColumn('label', 'text', (col) => col.notNull())
      .addColumn('title', 'text', (col) => col.notNull())
      .addColumn('state', 'text', (col) => col.notNull().check(sql`state in ('open', 'acknowledged', 'resolved')`))
      .addColumn('monitor_id', 'integer', (col) => col.references('monitors.id'))
      .addColumn('bad_sha', 'text')
      .addColumn('introduced_deployment_id', 'integer')
      .addColumn('detection', 'text')
      .addColumn('opened_by', 'text', (col) => col.notNull())
      .addColumn('opened_at', 'text', (col) => col.notNull())
      .addColumn('updated_at', 'text', (col) => col.notNull())
      .execute();
    await db.schema.createIndex('incidents_project').on('incidents').columns(['project_id', 'id']).execute();

    await db.schema
      .createTable('incident_events')
      .addColumn('id', 'integer', dialect.identity)
      .addColumn('incident_id', 'integer', (col) => col.notNull().references('incidents.id'))
      .addColumn('project_id', 'integer', (col) => col.notNull().references('projects.id'))
      .addColumn('at', 'text', (col) => col.notNull())
      .addColumn('kind', 'text', (col) => col.notNull())
      .addColumn('actor', 'text', (col) => col.notNull())
      .addColumn('data', 'text')
      .execute();
    await db.schema
      .createIndex('incident_events_incident')
      .on('incident_events')
      .columns(['incident_id', 'id'])
      .execute();
    for (const statement of appendOnlyTriggersSql(dialect.name, 'incident_events', 'incident events are append-only')) {
      await sql.raw(statement).execute(db);
    }
  },

  async down(db: Kysely<unknown>): Promise<void> {
    for (const statement of dropAppendOnlyTriggersSql(dialect.name, 'incident_events'))
      await sql.raw(statement).execute(db);
    await db.schema.dropTable('incident_events').execute();
    await db.schema.dropTable('incidents').execute();
    await db.schema.dropTable('monitors').execute();
  },
});
