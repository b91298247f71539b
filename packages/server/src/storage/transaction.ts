import type { Kysely } from 'kysely';
import type { SqlDialect } from './dialect.js';
import type { Database } from './schema.js';
import { toStorageError } from './storage-errors.js';

/** One open write transaction: its connection, and work to run once it has committed. */
export interface TxScope {
  readonly db: Kysely<Database>;
  /** Runs `callback` after the commit (never after a rollback); its throw is its own. */
  afterCommit(callback: () => void): void;
}

/**
 * Runs `fn` in one write transaction, handing it each store's writer bound to that transaction; `Tx`
 * names the writers a caller may use (e.g. `{ registry: RegistryTx; reviews: ReviewTx }`).
 */
export type Transaction<Tx> = <T>(fn: (tx: Tx) => Promise<T>) => Promise<T>;

/**
 * Runs `fn` as one write transaction (as the dialect starts one); rolls back on any throw and rethrows it,
 * driver conflicts turned into `StorageConflictError`. Then runs the scope's after-commit callbacks.
 */
export const runTransaction = async <T>(
  db: Kysely<Database>,
  dialect: SqlDialect,
  fn: (scope: TxScope) => Promise<T>,
): Promise<T> => {
  const committed: (() => void)[] = [];
  let result: T;
  try {
    result = await dialect.writeTransaction(db, (connection) =>
      fn({ db: connection, afterCommit: (callback) => committed.push(callback) }),
    );
  } catch (error) {
    throw toStorageError(error);
  }
  for (const callback of committed) {
    try {
      callback();
    } catch {
      // A listener's failure is its own; the commit stands and the caller gets its result.
    }
  }
  return result;
};
