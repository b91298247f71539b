import { Migrator, sql } from 'kysely';
import type { Kysely, Migration } from 'kysely';
import type { Dialect } from '../port.js';
import type { Database } from '../schema.js';
import { initialMigration } from './0001-initial.js';
import { tracesMigration } from './0002-traces.js';
import { accessMigration } from './0003-access.js';
import { reviewsMigration } from './0004-reviews.js';
import { evalsMigration } from './0005-evals.js';
import { reviewEventsAppendOnlyMigration } from './0006-review-events-append-only.js';
import { rollupsMigration } from './0007-rollups.js';
import { auditMacMigration } from './0008-audit-mac.js';
import { traceIdIndexMigration } from './0009-trace-id-index.js';
import { uniqueSuiteNamesPerPromptMigration } from './0010-unique-suite-names-per-prompt.js';

/** Every migration, in order of their names. Add new ones here; never edit one that has shipped. */
export const migrationsFor = (dialect: Dialect): Record<string, Migration> => ({
  '0001-initial': initialMigration(dialect),
  '0002-traces': tracesMigration(dialect),
  '0003-access': accessMigration(dialect),
  '0004-reviews': reviewsMigration(dialect),
  '0005-evals': evalsMigration(dialect),
  '0006-review-events-append-only': reviewEventsAppendOnlyMigration(dialect),
  '0007-rollups': rollupsMigration(dialect),
  '0008-audit-mac': auditMacMigration(),
  '0009-trace-id-index': traceIdIndexMigration(),
  '0010-unique-suite-names-per-prompt': uniqueSuiteNamesPerPromptMigration(dialect),
});

/** Arbitrary but fixed: the PostgreSQL advisory lock every promptops process takes to migrate. */
const PG_MIGRATION_LOCK_KEY = 468_020_241;

/**
 * Applies pending migrations. Safe when several processes start at once on one database: the whole run,
 * including Kysely's creation of its own bookkeeping tables (which races on PostgreSQL otherwise), happens
 * under one lock — a session advisory lock on PostgreSQL, a `BEGIN IMMEDIATE` write transaction on SQLite
 * (whose DDL is transactional, so a failed migration also leaves nothing behind).
 */
export const migrateToLatest = async (db: Kysely<Database>, dialect: Dialect): Promise<void> => {
  await db.connection().execute(async (connection) => {
    const migrate = async (): Promise<void> => {
      const migrator = new Migrator({
        db: connection,
        provider: { getMigrations: () => Promise.resolve(migrationsFor(dialect)) },
      });
      const { error, results } = await migrator.migrateToLatest();
      if (error === undefined) return;
      const failed = results?.find((result) => result.status === 'Error')?.migrationName;
      const reason = error instanceof Error ? error.message : String(error);
      throw new Error(`database migration ${failed ?? '(setup)'} failed: ${reason}`, { cause: error });
    };

    if (dialect === 'postgres') {
      await sql`select pg_advisory_lock(${sql.lit(PG_MIGRATION_LOCK_KEY)})`.execute(connection);
      try {
        await migrate();
      } finally {
        await sql`select pg_advisory_unlock(${sql.lit(PG_MIGRATION_LOCK_KEY)})`.execute(connection);
      }
      return;
    }

    await sql`begin immediate`.execute(connection);
    try {
      await migrate();
      await sql`commit`.execute(connection);
    } catch (error) {
      await sql`rollback`.execute(connection);
      throw error;
    }
  });
};
