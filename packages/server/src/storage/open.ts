import { PromptopsError } from '@promptops/core';
import type { Kysely } from 'kysely';
import { postgresDialect, sqliteDialect, type SqlDialect } from './dialect.js';
import { openPostgres } from './postgres.js';
import type { Database } from './schema.js';
import { SQLITE_MEMORY, openSqlite } from './sqlite.js';

export type DbTarget =
  { readonly dialect: 'sqlite'; readonly path: string } | { readonly dialect: 'postgres'; readonly url: string };

const ACCEPTED_FORMS =
  'sqlite:PATH, sqlite::memory:, a bare file path, or postgres://USER@HOST:PORT/DB (or postgresql://)';

const invalidDbUrl = (value: string, why: string): PromptopsError =>
  new PromptopsError('invalid', 'invalid_db_url', `invalid database URL "${value}": ${why}`, {
    details: { value },
    fix: `use ${ACCEPTED_FORMS}`,
  });

/** A scheme has two or more letters, so Windows drive letters (`C:\...`) still read as bare paths. */
const SCHEME = /^([a-zA-Z][a-zA-Z0-9+.-]+):/;

/** Reads a `--db` / `PROMPTOPS_DB` value. */
export const parseDbUrl = (value: string): DbTarget => {
  const trimmed = value.trim();
  if (trimmed === '') throw invalidDbUrl(value, 'it is empty');
  const scheme = SCHEME.exec(trimmed)?.[1]?.toLowerCase();

  if (scheme === undefined) return { dialect: 'sqlite', path: trimmed };

  if (scheme === 'sqlite') {
    // `sqlite:PATH`; the URL-ish `sqlite://PATH` and `sqlite:///abs/path` are read the same way.
    const rest = trimmed.slice('sqlite:'.length);
    const path = rest.startsWith('//') ? rest.slice(2) : rest;
    if (path === '') throw invalidDbUrl(value, 'the SQLite path is missing');
    return { dialect: 'sqlite', path };
  }

  if (scheme === 'postgres' || scheme === 'postgresql') {
    if (!trimmed.slice(scheme.length + 1).startsWith('//')) throw invalidDbUrl(value, `expected ${scheme}://...`);
    try {
      new URL(trimmed);
    } catch {
      throw invalidDbUrl(value, 'it is not a well-formed URL');
    }
    return { dialect: 'postgres', url: trimmed };
  }

  throw invalidDbUrl(value, `unsupported database "${scheme}"`);
};

/** An open database: its Kysely handle, its dialect object and where it lives. */
export interface OpenDatabase {
  readonly db: Kysely<Database>;
  readonly dialect: SqlDialect;
  /** A SQLite file (not `:memory:`): workers and the stamp reader open connections of their own. */
  readonly sqliteFile?: string;
  /** PostgreSQL: the URL a worker's own connection opens. */
  readonly postgresUrl?: string;
}

/** Opens (without migrating) the database a `--db` value names; the one place that reads its name. */
export const openDatabase = (dbUrl: string): OpenDatabase => {
  const target = parseDbUrl(dbUrl);
  if (target.dialect === 'sqlite') {
    const db = openSqlite(target.path);
    return target.path === SQLITE_MEMORY
      ? { db, dialect: sqliteDialect }
      : { db, dialect: sqliteDialect, sqliteFile: target.path };
  }
  return { db: openPostgres(target.url), dialect: postgresDialect, postgresUrl: target.url };
};
