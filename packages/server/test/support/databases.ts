import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, inject } from 'vitest';
import { createDatabase } from './postgres.js';

// The one database fixture: `testDatabase` gives a fresh database (a temp SQLite file, one in memory, or a
// new database in the run's one PostgreSQL cluster from global-setup.ts) that is removed after the test
// file, and `describeEachDatabase` runs a suite once per dialect. Suites get their databases only from here
// (registry.ts's freshDbUrl and openTestRegistry too).

export const DIALECTS = ['sqlite', 'postgres'] as const;
export type TestDialect = (typeof DIALECTS)[number];

/** Also SQLite in memory: no second connection, so no trace writer thread (its work runs on the main thread). */
export type TestDatabase = TestDialect | 'sqlite-memory';

const cleanups: (() => void)[] = [];
afterAll(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

let databases = 0;

/**
 * A fresh database and what removes it (idempotent; it also runs when the test file ends). A PostgreSQL
 * database stays until the run's cluster is removed.
 */
export const testDatabaseWithCleanup = async (dialect: TestDatabase): Promise<{ url: string; cleanup(): void }> => {
  if (dialect === 'sqlite-memory') return { url: 'sqlite::memory:', cleanup: () => undefined };
  if (dialect === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'promptops-test-'));
    const cleanup = (): void => rmSync(dir, { recursive: true, force: true });
    cleanups.push(cleanup);
    return { url: `sqlite:${join(dir, 'promptops.db')}`, cleanup };
  }
  databases += 1;
  const name = `t_${process.pid}_${databases}_${Math.random().toString(36).slice(2, 8)}`;
  return { url: await createDatabase(inject('pgUrl'), name), cleanup: () => undefined };
};

/** A fresh, empty database URL for `dialect`; removed when the test file ends. */
export const testDatabase = async (dialect: TestDatabase): Promise<string> =>
  (await testDatabaseWithCleanup(dialect)).url;

/** `describe` once per dialect in DIALECTS; `%s` in the title is the dialect. */
export const describeEachDatabase = (title: string, suite: (dialect: TestDialect) => void): void =>
  describe.each(DIALECTS)(title, suite);
