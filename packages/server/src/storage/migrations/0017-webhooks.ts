import { sql } from 'kysely';
import type { Kysely, Migration } from 'kysely';
import type { SqlDialect } from '../dialect.js';

/**
 * Webhook subscriptions (a project's URL, the events it wants, its format, its secret encrypted at rest,
 * and the audit seq it has read up to) and their deliveries (one per subscription and event: the body
 * sent, attempts, when the next is due, the last response). A delivery is unique per (subscription,
 * event seq), so reading the audit log twice never sends an event twice.
 */
export const webhooksMigration = (dialect: SqlDialect): Migration => ({
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable('webhooks')
      .addColumn('id', 'integer', dialect.identity)
      .addColumn('project_id', 'integer', (col) => col.notNull().references('projects.id'))
      .addColumn('url', 'text', (col) => col.notNull())
      .addColumn('events', 'text', (col) => col.notNull())
      .addColumn('format', 'text', (col) => col.notNull().check(sql`format in ('json', 'slack')`))
      .addColumn('secret', 'text', (col) => col.notNull())
      .addColumn('after_seq', 'integer', (col) => col.notNull())
      .addColumn('active', 'integer', (col) => col.notNull())
      .addColumn('created_by', 'text', (col) => col.notNull())
      .addColumn('created_at', 'text', (col) => col.notNull())
      .execute();
    await db.schema.createIndex('webhooks_project').on('webhooks').columns(['project_id', 'id']).execute();

    await db.schema
      .createTable('webhook_deliveries')
      .addColumn('id', 'integer', dialect.identity)
      .addColumn('webhook_id', 'integer', (col) => col.notNull().references('webhooks.id').onDelete('cascade'))
      .addColumn('project_id', 'integer', (col) => col.notNull().references('projects.id'))
      .addColumn('event_seq', 'integer', (col) => col.notNull())
      .addColumn('event', 'text', (col) => col.notNull())
      .addColumn('payload', 'text', (col) => col.notNull())
      .addColumn('attempt', 'integer', (col) => col.notNull())
      .addColumn('next_attempt_at', 'text')
      .addColumn('status', 'text', (col) => col.notNull().check(sql`status in ('pending', 'delivered', 'failed')`))
      .addColumn('response_code', 'integer')
      .addColumn('duration_ms', 'integer')
      .addColumn('error', 'text')
      .addColumn('created_at', 'text', (col) => col.notNull())
      .addColumn('last_attempt_at', 'text')
      .execute();
    await db.schema
      .createIndex('webhook_deliveries_event')
      .on('webhook_deliveries')
      .columns(['webhook_id', 'event_seq'])
      .unique()
      .execute();
    await db.schema
      .createIndex('webhook_deliveries_due')
      .on('webhook_deliveries')
      .columns(['status', 'next_attempt_at'])
      .execute();
  },

  async down(db: Kysely<unknown>): Promise<void> {
    await db.schema.dropTable('webhook_deliveries').execute();
    await db.schema.dropTable('webhooks').execute();
  },
});
