import { PromptopsError } from '@promptops/core';

/**
 * A write lost a race (unique violation) or the database gave up on a transaction (PostgreSQL deadlock or
 * serialization failure). The transaction was rolled back; the caller may retry it or answer 409.
 */
export class StorageConflictError extends PromptopsError {
  readonly reason: 'unique_violation' | 'transaction_aborted';
  /** The violated constraint (PostgreSQL: its name; SQLite: its columns), when the database says. */
  readonly constraint: string | undefined;

  constructor(reason: StorageConflictError['reason'], message: string, constraint: string | undefined, cause: unknown) {
    super('conflict', 'storage_conflict', message, {
      ...(constraint === undefined ? {} : { details: { constraint } }),
      fix: 'retry the request: the state changed under it',
    });
    this.name = 'StorageConflictError';
    this.reason = reason;
    this.constraint = constraint;
    this.cause = cause;
  }
}

const SQLITE_UNIQUE = new Set(['SQLITE_CONSTRAINT_UNIQUE', 'SQLITE_CONSTRAINT_PRIMARYKEY']);
const PG_UNIQUE_VIOLATION = '23505';
const PG_TRANSACTION_ABORTED = new Set(['40001', '40P01']); // serialization_failure, deadlock_detected

const stringField = (value: unknown, key: string): string | undefined => {
  if (typeof value !== 'object' || value === null) return undefined;
  const field = (value as Record<string, unknown>)[key];
  return typeof field === 'string' ? field : undefined;
};

/** Turns the drivers' conflict errors into `StorageConflictError`; returns any other error unchanged. */
export const toStorageError = (error: unknown): unknown => {
  if (error instanceof StorageConflictError) return error;
  const code = stringField(error, 'code');
  const message = stringField(error, 'message') ?? String(error);
  if (code !== undefined && SQLITE_UNIQUE.has(code)) {
    const constraint = /constraint failed: (.+)$/.exec(message)?.[1];
    return new StorageConflictError('unique_violation', `conflicting write: ${message}`, constraint, error);
  }
  if (code === PG_UNIQUE_VIOLATION) {
    return new StorageConflictError(
      'unique_violation',
      `conflicting write: ${message}`,
      stringField(error, 'constraint'),
      error,
    );
  }
  if (code !== undefined && PG_TRANSACTION_ABORTED.has(code)) {
    return new StorageConflictError('transaction_aborted', `transaction aborted: ${message}`, undefined, error);
  }
  return error;
};

/** Runs a write, its driver conflicts turned into `StorageConflictError`. */
export const translated = async <T>(write: () => Promise<T>): Promise<T> => {
  try {
    return await write();
  } catch (error) {
    throw toStorageError(error);
  }
};
