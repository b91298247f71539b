import type { Dialect } from '../port.js';

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

/** The one PostgreSQL function every append-only trigger calls; its argument is the message. */
export const PG_REJECT_FUNCTION = 'promptops_reject_append_only_change';

export const PG_REJECT_FUNCTION_SQL = `
CREATE OR REPLACE FUNCTION ${PG_REJECT_FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '%', TG_ARGV[0] USING HINT = 'drop the ' || TG_TABLE_NAME || '_append_only_* triggers to bypass';
END
$$`;

const operations = (dialect: Dialect): readonly string[] =>
  dialect === 'postgres' ? ['update', 'delete', 'truncate'] : ['update', 'delete'];

export const appendOnlyTriggerNames = (dialect: Dialect, table: string): string[] =>
  operations(dialect).map((operation) => `${table}_append_only_${operation}`);

export const createAppendOnlyTriggersSql = (dialect: Dialect, table: AppendOnlyTable): string[] =>
  appendOnlyTriggersSql(dialect, table, MESSAGES[table]);

/**
 * The same triggers for any table (later migrations' append-only tables use it), rejecting changes with
 * `message`. Names follow the same pattern; `message` must not contain a single quote.
 */
export const appendOnlyTriggersSql = (dialect: Dialect, table: string, message: string): string[] =>
  operations(dialect).map((operation) => {
    const name = `${table}_append_only_${operation}`;
    const event = operation.toUpperCase();
    if (dialect === 'sqlite') {
      return `CREATE TRIGGER ${name} BEFORE ${event} ON ${table} BEGIN SELECT RAISE(ABORT, '${message}'); END`;
    }
    // TRUNCATE triggers exist only per statement; per statement is enough for UPDATE and DELETE too.
    return `CREATE TRIGGER ${name} BEFORE ${event} ON ${table} FOR EACH STATEMENT EXECUTE FUNCTION ${PG_REJECT_FUNCTION}('${message}')`;
  });

export const dropAppendOnlyTriggersSql = (dialect: Dialect, table: string): string[] =>
  appendOnlyTriggerNames(dialect, table).map((name) =>
    dialect === 'sqlite' ? `DROP TRIGGER IF EXISTS ${name}` : `DROP TRIGGER IF EXISTS ${name} ON ${table}`,
  );
