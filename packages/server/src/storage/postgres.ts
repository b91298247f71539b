import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import type { Database } from './schema.js';

const INT8_OID = 20;

/**
 * `pg` returns int8 (what `count(*)` and `sum()` yield) as strings to avoid precision loss; every number
 * the registry counts fits a double, so this pool parses them as numbers. Set per pool, not globally,
 * to leave other `pg` users in the process alone.
 */
const types: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === INT8_OID && format !== 'binary'
      ? (value: string): number => Number(value)
      : pg.types.getTypeParser(oid, format)) as pg.CustomTypesConfig['getTypeParser'],
};

export const openPostgres = (url: string): Kysely<Database> => {
  const pool = new pg.Pool({ connectionString: url, max: 10, types });
  // An idle client losing its server (restart, failover) must not crash the process; the next query
  // checks out a fresh client or reports the failure to its caller.
  pool.on('error', () => undefined);
  return new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
};
