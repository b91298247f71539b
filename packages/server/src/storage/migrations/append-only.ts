import { dialectNamed, type Dialect } from '../dialect.js';

/**
 * Versions, deployments and the audit log are append-only, and the database itself says so: triggers
 * reject every UPDATE and DELETE (and, on PostgreSQL, TRUNCATE) on those tables, whatever client runs it.
 *
 * Trigger names are predictable: `<table>_append_only_update`, `<table>_append_only_delete` and, on
 * PostgreSQL only, `<table>_append_only_truncate`.
 *
 * A DBA who truly must rewrite history (or a test that tampers with rows behind the server's back to
 * prove `verify` notices) drops them first, e.g. for versions:
 *
 *   SQLite:      DROP TRIGGER IF EXISTS versions_append_only_update;
 *                DROP TRIGGER IF EXISTS versions_append_only_delete;
 *   PostgreSQL:  DROP TRIGGER IF EXISTS versions_append_only_update ON versions;
 *                DROP TRIGGER IF EXISTS versions_append_only_delete ON versions;
 *                DROP TRIGGER IF EXISTS versions_append_only_truncate ON versions;
 *
 * `dropAppendOnlyTriggersSql` returns exactly those statements and `createAppendOnlyTriggersSql` puts
 * them back.
 */

export const APPEND_ONLY_TABLES = ['versions', 'deployments', 'audit_log'] as const;
export type AppendOnlyTable = (typeof APPEND_ONLY_TABLES)[number];

const MESSAGES: Record<AppendOnlyTable, string> = {
  versions: 'versions are append-only',
  deployments: 'deployments are append-only',
  audit_log: 'the audit log is append-only',
};

const operations = (dialect: Dialect): readonly string[] => dialectNamed(dialect).appendOnlyOperations;

export const appendOnlyTriggerNames = (dialect: Dialect, table: string): string[] =>
  operations(dialect).map((operation) => `${table}_append_only_${operation}`);

export const createAppendOnlyTriggersSql = (dialect: Dialect, table: AppendOnlyTable): string[] =>
  appendOnlyTriggersSql(dialect, table, MESSAGES[table]);

/**
 * The same triggers for any table (later migrations' append-only tables use it), rejecting changes with
 * `message`. Names follow the same pattern; `message` must not contain a single quote.
 */
export const appendOnlyTriggersSql = (dialect: Dialect, table: string, message: string): string[] =>
  operations(dialect).map((operation) =>
    dialectNamed(dialect).appendOnlyTriggerSql(`${table}_append_only_${operation}`, operation, table, message),
  );

export const dropAppendOnlyTriggersSql = (dialect: Dialect, table: string): string[] =>
  appendOnlyTriggerNames(dialect, table).map((name) => dialectNamed(dialect).dropTriggerSql(name, table));
