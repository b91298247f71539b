import { afterAll, describe } from 'vitest';
import { DIALECTS, freshDbUrl, type TestDatabase, type TestDialect } from './registry.js';

// The one database fixture: `testDatabase` gives a fresh database (a temp SQLite file, or a new database in
// the run's one PostgreSQL cluster from global-setup.ts) that is removed after the test file, and
// `describeEachDatabase` runs a suite once per dialect. Suites get their databases only from here.

const cleanups: (() => void)[] = [];
afterAll(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

/** A fresh, empty database URL for `dialect`; removed when the test file ends. */
export const testDatabase = async (dialect: TestDatabase): Promise<string> => {
  const db = await freshDbUrl(dialect);
  cleanups.push(db.cleanup);
  return db.url;
};

/** `describe` once per dialect in DIALECTS; `%s` in the title is the dialect. */
export const describeEachDatabase = (title: string, suite: (dialect: TestDialect) => void): void =>
  describe.each(DIALECTS)(title, suite);
