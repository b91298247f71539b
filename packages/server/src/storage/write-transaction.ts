import type { Kysely } from 'kysely';
import { dialectNamed, type Dialect } from './dialect.js';

/** Runs `fn` as one write transaction, as the dialect starts one (dialect.ts); rolls back on any throw. */
export const writeTransaction = <DB, T>(
  db: Kysely<DB>,
  dialect: Dialect,
  fn: (db: Kysely<DB>) => Promise<T>,
): Promise<T> => dialectNamed(dialect).writeTransaction(db, fn);
