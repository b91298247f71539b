import { sql, type Kysely } from 'kysely';
import type { Dialect } from './port.js';

/**
 * Runs `fn` as one write transaction. PostgreSQL: Kysely's transaction (READ COMMITTED; callers take row
 * locks). SQLite: `BEGIN IMMEDIATE` on its one connection — Kysely's own BEGIN is DEFERRED, which fails
 * (SQLITE_BUSY, no waiting) when a reader later tries to write while another connection writes; IMMEDIATE
 * takes the write lock up front, waiting up to busy_timeout, and also queues in-process callers.
 * Rolls back on any throw and rethrows it.
 */
export const writeTransaction = async <DB, T>(
  db: Kysely<DB>,
  dialect: Dialect,
  fn: (db: Kysely<DB>) => Promise<T>,
): Promise<T> => {
  if (dialect === 'postgres') return db.transaction().execute(fn);
  return db.connection().execute(async (connection) => {
    await sql`begin immediate`.execute(connection);
    try {
      const result = await fn(connection);
      await sql`commit`.execute(connection);
      return result;
    } catch (error) {
      // SQLite may already have rolled back on its own (e.g. on SQLITE_FULL); the original error matters.
      await sql`rollback`.execute(connection).catch(() => undefined);
      throw error;
    }
  });
};
