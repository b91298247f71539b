import { Migrator, sql, type Kysely } from 'kysely';
import { afterAll, describe, expect, it } from 'vitest';
import { createReviewStore } from '../src/reviews/kysely-store.js';
import { dialectNamed, type Dialect } from '../src/storage/dialect.js';
import { migrationsFor } from '../src/storage/migrations/index.js';
import { openPostgres } from '../src/storage/postgres.js';
import type { Database } from '../src/storage/schema.js';
import { openSqlite } from '../src/storage/sqlite.js';
import { DIALECTS, freshDbUrl } from './support/registry.js';

/** Migration 0012-drift on a database holding policies: each keeps its fields and requires no drift. */

const MINE = '0012-drift';
const BEFORE = Object.keys(migrationsFor(dialectNamed('sqlite')))
  .filter((name) => name < MINE)
  .sort()
  .at(-1)!;

const migrateTo = async (db: Kysely<Database>, dialect: Dialect, target: string): Promise<void> => {
  await db.connection().execute(async (connection) => {
    const migrator = new Migrator({
      db: connection,
      provider: { getMigrations: () => Promise.resolve(migrationsFor(dialectNamed(dialect))) },
    });
    if (dialect === 'sqlite') await sql`begin immediate`.execute(connection);
    const { error } = await migrator.migrateTo(target);
    if (dialect === 'sqlite') await sql.raw(error === undefined ? 'commit' : 'rollback').execute(connection);
    if (error !== undefined) throw error;
  });
};

for (const dialect of DIALECTS) {
  describe(`migration ${MINE} on ${dialect}`, () => {
    const opened: Kysely<Database>[] = [];
    const cleanups: (() => void)[] = [];
    afterAll(async () => {
      await Promise.all(opened.map((db) => db.destroy()));
      for (const cleanup of cleanups) cleanup();
    });

    it('keeps every policy, with no drift required, and adds the drift reports table', async () => {
      const { url, cleanup } = await freshDbUrl(dialect);
      cleanups.push(cleanup);
      const db = dialect === 'sqlite' ? openSqlite(url.slice('sqlite:'.length)) : openPostgres(url);
      opened.push(db);
      await migrateTo(db, dialect, BEFORE);
      await sql`insert into projects (name, created_at) values ('default', '2026-01-01T00:00:00Z')`.execute(db);
      await sql`insert into label_policies (project_id, label, pattern, protected, approvals, min_role, owners,
          code_owners, suites, author_may_approve, updated_at, updated_by)
        values (1, 'production', '*', 1, 2, 'reviewer', '["ana"]', 0, '[{"suite":"basics"}]', 0,
          '2026-01-01T00:00:00Z', 'ana')`.execute(db);
      await migrateTo(db, dialect, MINE);
      const [policy] = await createReviewStore(db).listPolicies(1);
      expect(policy).toMatchObject({
        label: 'production',
        approvals: 2,
        owners: ['ana'],
        suites: [{ suite: 'basics' }],
        noDrift: [],
      });
      const count = await sql<{ n: number }>`select count(*) as n from drift_reports`.execute(db);
      expect(Number(count.rows[0]!.n)).toBe(0);
    });
  });
}
