import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import type { Database } from './schema.js';

export const SQLITE_MEMORY = ':memory:';

/**
 * Opens (creating if needed) a SQLite database file for the embedded default. WAL lets readers run beside
 * the one writer; busy_timeout makes a second process wait for the write lock instead of failing at once.
 */
export const openSqlite = (path: string): Kysely<Database> => {
  if (path !== SQLITE_MEMORY) mkdirSync(dirname(path), { recursive: true });
  const database = new SqliteDatabase(path);
  // busy_timeout first: switching to WAL itself needs a lock another process may hold.
  database.pragma('busy_timeout = 5000');
  database.pragma('journal_mode = WAL');
  database.pragma('foreign_keys = ON');
  database.pragma('synchronous = NORMAL');
  return new Kysely<Database>({ dialect: new SqliteDialect({ database: withStatementCache(database) }) });
};

const STATEMENT_CACHE_SIZE = 500;

/**
 * Kysely prepares every query anew, and preparing costs more than running a small query. The queries
 * are a fixed set of SQL texts with bound parameters, so each text is prepared once and reused.
 */
const withStatementCache = (database: SqliteDatabase.Database): SqliteDatabase.Database => {
  const statements = new Map<string, SqliteDatabase.Statement>();
  return new Proxy(database, {
    get(target, property, receiver) {
      if (property !== 'prepare') {
        const value = Reflect.get(target, property, receiver) as unknown;
        return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
      }
      return (source: string): SqliteDatabase.Statement => {
        let statement = statements.get(source);
        if (statement === undefined) {
          statement = target.prepare(source);
          if (statements.size >= STATEMENT_CACHE_SIZE) statements.delete(statements.keys().next().value as string);
          statements.set(source, statement);
        }
        return statement;
      };
    },
  });
};
