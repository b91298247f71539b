import type { Kysely, Migration } from 'kysely';
import type { SqlDialect } from '../dialect.js';

/**
 * One row per webhook delivery attempt: when, its number within the delivery's current run (a redelivery
 * starts again at 1), the response code, the error and how long it took. A delivery row keeps only its
 * latest attempt; these keep the history a receiver's owner needs to see what happened.
 */
export const webhookAttemptsMigration = (dialect: SqlDialect): Migration => ({
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable('webhook_attempts')
      .addColumn('id', 'integer', dialect.identity)
      .addColumn('delivery_id', 'integer', (col) =>
        col.notNull().references('webhook_deliveries.id').onDelete('cascade'),
      )
      .addColumn('project_id', 'integer', (col) => col.notNull().references('projects.id'))
      .addColumn('attempt', 'integer', (col) => col.notNull())
      .addColumn('at', 'text', (col) => col.notNull())
      .addColumn('response_code', 'integer')
      .addColumn('error', 'text')
      .addColumn('duration_ms', 'integer')
      .execute();
    await db.schema
      .createIndex('webhook_attempts_delivery')
      .on('webhook_attempts')
      .columns(['delivery_id', 'id'])
      .execute();
  },

  async down(db: Kysely<unknown>): Promise<void> {
    await db.schema.dropTable('webhook_attempts').execute();
  },
});
