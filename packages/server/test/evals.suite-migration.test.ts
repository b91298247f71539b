import { Migrator, sql, type Kysely } from 'kysely';
import { afterAll, describe, expect, it } from 'vitest';
import { dialectNamed } from '../src/storage/dialect.js';
import { migrationsFor } from '../src/storage/migrations/index.js';
import { openPostgres } from '../src/storage/postgres.js';
import type { Dialect } from '../src/storage/dialect.js';
import type { Database } from '../src/storage/schema.js';
import { openSqlite } from '../src/storage/sqlite.js';
import { DIALECTS, freshDbUrl } from './support/registry.js';

/**
 * Migration 0010-unique-suite-names-per-prompt on a database that already holds suites and runs: every
 * row survives, the runs still point at their suites (and foreign keys are still enforced), the table is
 * still append-only, and a suite of the same name for another prompt now starts at version 1.
 */

const BEFORE = '0009-trace-id-index';
const MINE = '0010-unique-suite-names-per-prompt';
const SHA = (c: string): string => c.repeat(64);

/** Migrates to `target` the way the server does: SQLite inside one BEGIN IMMEDIATE (see migrateToLatest). */
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

const insertSuite = (db: Kysely<Database>, prompt: string, version: number, sha: string) =>
  sql`insert into eval_suites (project_id, name, version, sha, prompt, content, author, message, created_at)
      values (1, 'basics', ${version}, ${sha}, ${prompt}, '{}', 'ana', '', '2026-01-01T00:00:00Z')`.execute(db);

for (const dialect of DIALECTS) {
  describe(`migration ${MINE} on ${dialect}`, () => {
    const opened: Kysely<Database>[] = [];
    const cleanups: (() => void)[] = [];
    afterAll(async () => {
      await Promise.all(opened.map((db) => db.destroy()));
      for (const cleanup of cleanups) cleanup();
    });

    it('keeps every suite and run, the runs’ references and the append-only rule; versions count per prompt', async () => {
      const { url, cleanup } = await freshDbUrl(dialect);
      cleanups.push(cleanup);
      const db = dialect === 'sqlite' ? openSqlite(url.slice('sqlite:'.length)) : openPostgres(url);
      opened.push(db);
      await migrateTo(db, dialect, BEFORE);
      await sql`insert into projects (name, created_at) values ('default', '2026-01-01T00:00:00Z')`.execute(db);
      await insertSuite(db, 'greeter', 1, SHA('a'));
      await insertSuite(db, 'greeter', 2, SHA('b'));
      await sql`insert into eval_runs (project_id, suite_name, suite_sha, suite_version, prompt_name, prompt_sha,
          prompt_version, provider, passed, pass_rate, summary, started_at, duration_ms, recorded_by, recorded_at)
        values (1, 'basics', ${SHA('b')}, 2, 'greeter', ${SHA('c')}, 1, '{}', 1, 1, '{}',
          '2026-01-01T00:00:00Z', 5, 'ana', '2026-01-01T00:00:00Z')`.execute(db);
      // Before: the name alone numbers versions, so another prompt's `basics` cannot be version 1.
      await expect(insertSuite(db, 'welcome', 1, SHA('d'))).rejects.toThrow();

      await migrateTo(db, dialect, MINE);

      const suites = await sql<{ prompt: string; version: number; sha: string }>`
        select prompt, version, sha from eval_suites order by prompt, version`.execute(db);
      expect(suites.rows.map((r) => [r.prompt, Number(r.version), r.sha])).toEqual([
        ['greeter', 1, SHA('a')],
        ['greeter', 2, SHA('b')],
      ]);
      const runs = await sql<{ suite_sha: string }>`select suite_sha from eval_runs`.execute(db);
      expect(runs.rows.map((r) => r.suite_sha)).toEqual([SHA('b')]);

      await insertSuite(db, 'welcome', 1, SHA('d'));
      await expect(insertSuite(db, 'welcome', 1, SHA('e'))).rejects.toThrow();
      await expect(sql`update eval_suites set message = 'x'`.execute(db)).rejects.toThrow(/append-only/);
      await expect(sql`delete from eval_suites`.execute(db)).rejects.toThrow(/append-only/);
      // A run must still name a registered suite version.
      await expect(
        sql`insert into eval_runs (project_id, suite_name, suite_sha, suite_version, prompt_name, prompt_sha,
            prompt_version, provider, passed, pass_rate, summary, started_at, duration_ms, recorded_by, recorded_at)
          values (1, 'basics', ${SHA('f')}, 3, 'greeter', ${SHA('c')}, 1, '{}', 1, 1, '{}',
            '2026-01-01T00:00:00Z', 5, 'ana', '2026-01-01T00:00:00Z')`.execute(db),
      ).rejects.toThrow();
    });
  });
}
