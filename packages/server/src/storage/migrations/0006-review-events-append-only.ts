import { sql } from 'kysely';
import type { Kysely, Migration } from 'kysely';
import type { SqlDialect } from '../dialect.js';
import { appendOnlyTriggersSql, dropAppendOnlyTriggersSql } from './append-only.js';

/**
 * A change request's timeline (`review_events`: opened, approved, rejected, superseded, merged, closed) is
 * history like the audit log: the service only ever inserts into it, and the database now says so too.
 * (Change requests themselves keep a mutable status; their events are the record of how it changed.)
 */
export const reviewEventsAppendOnlyMigration = (dialect: SqlDialect): Migration => ({
  async up(db: Kysely<unknown>): Promise<void> {
    for (const statement of appendOnlyTriggersSql(dialect.name, 'review_events', 'review events are append-only')) {
      await sql.raw(statement).execute(db);
    }
  },

  async down(db: Kysely<unknown>): Promise<void> {
    for (const statement of dropAppendOnlyTriggersSql(dialect.name, 'review_events'))
      await sql.raw(statement).execute(db);
  },
});
