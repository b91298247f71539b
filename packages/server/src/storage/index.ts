/**
 * The database, below every feature: opening SQLite or PostgreSQL, the dialect objects, the schema and its
 * migrations, the transaction helper and storage errors. Features' stores are built on it (app/stores.ts).
 */
export { dialectNamed, postgresDialect, sqliteDialect, type Dialect, type SqlDialect } from './dialect.js';
export { openDatabase, parseDbUrl, type DbTarget, type OpenDatabase } from './open.js';
export { migrateToLatest } from './migrations/index.js';
export { StorageConflictError, toStorageError } from './storage-errors.js';
export { runTransaction, type Transaction, type TxScope } from './transaction.js';
export {
  APPEND_ONLY_TABLES,
  appendOnlyTriggerNames,
  createAppendOnlyTriggersSql,
  dropAppendOnlyTriggersSql,
} from './migrations/append-only.js';
export type { AppendOnlyTable } from './migrations/append-only.js';
