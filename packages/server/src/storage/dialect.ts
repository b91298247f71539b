import { sql } from 'kysely';
import type { ColumnDefinitionBuilder, CreateTableBuilder, Kysely } from 'kysely';

export type Dialect = 'sqlite' | 'postgres';

/**
 * Every difference between SQLite and PostgreSQL that promptops' SQL meets, one object per database
 * (Kysely's own dialects already cover the SQL syntax). Code elsewhere reads these members and never
 * branches on the dialect's name; a new difference becomes a new member here.
 */
export interface SqlDialect {
  readonly name: Dialect;
  /** An integer primary key the database numbers: SQLite AUTOINCREMENT, a PostgreSQL identity column. */
  identity(col: ColumnDefinitionBuilder): ColumnDefinitionBuilder;
  /** The column type of a 64-bit integer id (SQLite's integer already is one). */
  readonly bigIdType: 'integer' | 'bigint';
  /** The column type of bytes. */
  readonly bytesType: 'blob' | 'bytea';
  /** A table stored in its primary key's order (SQLite WITHOUT ROWID; PostgreSQL has no such table). */
  clustered<T extends string>(table: CreateTableBuilder<T>): CreateTableBuilder<T>;
  /**
   * Whether a transaction can lock rows (`FOR NO KEY UPDATE`). On SQLite a write transaction starts with
   * BEGIN IMMEDIATE and so is already the only writer: there is nothing to lock.
   */
  readonly locksRows: boolean;
  /**
   * Runs `fn` as one write transaction on one connection; rolls back on any throw and rethrows it.
   * PostgreSQL: Kysely's transaction (READ COMMITTED; callers take row locks). SQLite: BEGIN IMMEDIATE,
   * since Kysely's DEFERRED BEGIN fails (SQLITE_BUSY, no waiting) when a reader later tries to write while
   * another connection writes; IMMEDIATE takes the write lock up front, waiting up to busy_timeout.
   */
  writeTransaction<DB, T>(db: Kysely<DB>, fn: (db: Kysely<DB>) => Promise<T>): Promise<T>;
  /**
   * Runs `fn` on `connection` (one connection) holding the lock every process takes to migrate:
   * a session advisory lock on PostgreSQL, a BEGIN IMMEDIATE transaction on SQLite (whose DDL is
   * transactional, so a failed migration also leaves nothing behind).
   */
  withMigrationLock<DB>(connection: Kysely<DB>, fn: () => Promise<void>): Promise<void>;
  /** The text of bound parameter `index` (1-based) in hand-written SQL. */
  placeholder(index: number): string;
  /** The statements an append-only table's triggers reject (TRUNCATE triggers exist on PostgreSQL only). */
  readonly appendOnlyOperations: readonly string[];
  /** Statements to run before the first append-only trigger is created (PostgreSQL: the function they call). */
  readonly appendOnlySetupSql: readonly string[];
  /** Statements that undo `appendOnlySetupSql`. */
  readonly appendOnlyTeardownSql: readonly string[];
  /** A trigger named `name` rejecting `operation` on `table` with `message` (no single quote in it). */
  appendOnlyTriggerSql(name: string, operation: string, table: string, message: string): string;
  dropTriggerSql(name: string, table: string): string;
  /** Whether ALTER TABLE changes a primary key in place (SQLite rebuilds the table instead). */
  readonly altersConstraints: boolean;
  /** Rows per trace insert call on the main thread: what measured fastest on each database. */
  readonly traceInsertChunk: number;
  /** Rows per rollup upsert statement, largest first: SQLite's single-row ones are cheapest there. */
  readonly rollupUpsertChunks: readonly number[];
  /**
   * Whether promptops checkpoints the write-ahead log itself, off the trace writer's path
   * (wal-checkpointer.ts): SQLite's WAL file; PostgreSQL checkpoints on its own.
   */
  readonly checkpointsWal: boolean;
  /**
   * This database's entry of a table with one per database: for a feature's own per-database code (e.g.
   * the trace writer's driver-level inserter), so that no caller compares the dialect's name.
   */
  pick<T>(choices: Readonly<Record<Dialect, T>>): T;
}

/** The one PostgreSQL function every append-only trigger calls; its argument is the message. */
export const PG_REJECT_FUNCTION = 'promptops_reject_append_only_change';

const PG_REJECT_FUNCTION_SQL = `
CREATE OR REPLACE FUNCTION ${PG_REJECT_FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '%', TG_ARGV[0] USING HINT = 'drop the ' || TG_TABLE_NAME || '_append_only_* triggers to bypass';
END
$$`;

/** Arbitrary but fixed: the PostgreSQL advisory lock every promptops process takes to migrate. */
const PG_MIGRATION_LOCK_KEY = 468_020_241;

export const sqliteDialect: SqlDialect = {
  name: 'sqlite',
  identity: (col) => col.primaryKey().autoIncrement(),
  bigIdType: 'integer',
  bytesType: 'blob',
  clustered: (table) => table.modifyEnd(sql`without rowid`),
  locksRows: false,
  writeTransaction: (db, fn) =>
    db.connection().execute(async (connection) => {
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
    }),
  async withMigrationLock(connection, fn) {
    await sql`begin immediate`.execute(connection);
    try {
      await fn();
      await sql`commit`.execute(connection);
    } catch (error) {
      await sql`rollback`.execute(connection);
      throw error;
    }
  },
  placeholder: () => '?',
  appendOnlyOperations: ['update', 'delete'],
  appendOnlySetupSql: [],
  appendOnlyTeardownSql: [],
  appendOnlyTriggerSql: (name, operation, table, message) =>
    `CREATE TRIGGER ${name} BEFORE ${operation.toUpperCase()} ON ${table} BEGIN SELECT RAISE(ABORT, '${message}'); END`,
  dropTriggerSql: (name) => `DROP TRIGGER IF EXISTS ${name}`,
  altersConstraints: false,
  traceInsertChunk: 200,
  rollupUpsertChunks: [1],
  checkpointsWal: true,
  pick: (choices) => choices.sqlite,
};

export const postgresDialect: SqlDialect = {
  name: 'postgres',
  identity: (col) => col.primaryKey().generatedByDefaultAsIdentity(),
  bigIdType: 'bigint',
  bytesType: 'bytea',
  clustered: (table) => table,
  locksRows: true,
  writeTransaction: (db, fn) => db.transaction().execute(fn),
  async withMigrationLock(connection, fn) {
    await sql`select pg_advisory_lock(${sql.lit(PG_MIGRATION_LOCK_KEY)})`.execute(connection);
    try {
      await fn();
    } finally {
      await sql`select pg_advisory_unlock(${sql.lit(PG_MIGRATION_LOCK_KEY)})`.execute(connection);
    }
  },
  placeholder: (index) => `$${index}`,
  appendOnlyOperations: ['update', 'delete', 'truncate'],
  appendOnlySetupSql: [PG_REJECT_FUNCTION_SQL],
  appendOnlyTeardownSql: [`DROP FUNCTION IF EXISTS ${PG_REJECT_FUNCTION}()`],
  // TRUNCATE triggers exist only per statement; per statement is enough for UPDATE and DELETE too.
  appendOnlyTriggerSql: (name, operation, table, message) =>
    `CREATE TRIGGER ${name} BEFORE ${operation.toUpperCase()} ON ${table} FOR EACH STATEMENT EXECUTE FUNCTION ${PG_REJECT_FUNCTION}('${message}')`,
  dropTriggerSql: (name, table) => `DROP TRIGGER IF EXISTS ${name} ON ${table}`,
  altersConstraints: true,
  traceInsertChunk: 100,
  rollupUpsertChunks: [100, 20, 5, 1],
  checkpointsWal: false,
  pick: (choices) => choices.postgres,
};

const BY_NAME: Readonly<Record<Dialect, SqlDialect>> = { sqlite: sqliteDialect, postgres: postgresDialect };

/** The dialect object of a database's name (the trace writer's thread receives the name). */
export const dialectNamed = (name: Dialect): SqlDialect => BY_NAME[name];
