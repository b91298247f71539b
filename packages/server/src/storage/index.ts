import { PromptopsError } from '@promptops/core';
import { KyselyStorage } from './kysely-storage.js';
import type { AuditMac, RawSqlAccess } from './kysely-storage.js';
import type { Storage } from './port.js';
import { openPostgres } from './postgres.js';
import { SQLITE_MEMORY, openSqlite } from './sqlite.js';

export * from './port.js';
export * from './eval-port.js';
export type * from './access-port.js';
export { StorageConflictError, toStorageError } from './storage-errors.js';
export type { AuditMac, RawSqlAccess } from './kysely-storage.js';
export {
  APPEND_ONLY_TABLES,
  appendOnlyTriggerNames,
  createAppendOnlyTriggersSql,
  dropAppendOnlyTriggersSql,
} from './migrations/append-only.js';
export type { AppendOnlyTable } from './migrations/append-only.js';

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

/**
 * Opens the database a `--db` value names and applies pending migrations before returning.
 * The `rawSql` escape hatch on the result is for tests and DBA tooling only; application code uses `Storage`.
 * With `auditMac`, every audit entry appended through it carries its HMAC.
 */
export const createStorage = async (
  dbUrl: string,
  options: { readonly auditMac?: AuditMac } = {},
): Promise<Storage & RawSqlAccess> => {
  const target = parseDbUrl(dbUrl);
  const mac = options.auditMac === undefined ? {} : { auditMac: options.auditMac };
  const storage =
    target.dialect === 'sqlite'
      ? new KyselyStorage(
          openSqlite(target.path),
          'sqlite',
          target.path === SQLITE_MEMORY ? mac : { sqliteFile: target.path, ...mac },
        )
      : new KyselyStorage(openPostgres(target.url), 'postgres', { postgresUrl: target.url, ...mac });
  try {
    await storage.migrate();
  } catch (error) {
    await storage.close().catch(() => undefined);
    throw error;
  }
  return storage;
};
