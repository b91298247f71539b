import { sql } from 'kysely';
import type { Kysely, Migration } from 'kysely';
import type { SqlDialect } from '../dialect.js';
import { appendOnlyTriggersSql } from './append-only.js';

/**
 * An eval suite is identified by the prompt it tests and its name: `greeter-basics` of `welcome` is a
 * suite of its own, not a new version of the greeter's `greeter-basics`. Versions now count per
 * (project, prompt, name). `(project, name, sha)` stays unique (a sha covers the prompt), so the runs'
 * foreign key to it is unchanged.
 *
 * PostgreSQL swaps the primary key in place. SQLite cannot alter a constraint: the table is rebuilt under
 * deferred foreign keys (the runs point at it by name, and find every row again before the commit), and
 * its append-only triggers are created again. Both run inside the migration's one transaction.
 */

const OLD_KEY = ['project_id', 'name', 'version'];
const NEW_KEY = ['project_id', 'prompt', 'name', 'version'];
const COLUMNS = 'project_id, name, version, sha, prompt, content, author, message, created_at';

const rebuildSqlite = async (db: Kysely<unknown>, key: readonly string[]): Promise<void> => {
  await sql`pragma defer_foreign_keys = on`.execute(db);
  await sql`create temp table eval_suites_copy as select ${sql.raw(COLUMNS)} from eval_suites`.execute(db);
  // The implicit DELETE of a DROP fires no trigger; the runs' references wait for the commit.
  await sql`drop table eval_suites`.execute(db);
  await db.schema
    .createTable('eval_suites')
    .addColumn('project_id', 'integer', (col) => col.notNull().references('projects.id'))
    .addColumn('name', 'text', (col) => col.notNull())
    .addColumn('version', 'integer', (col) => col.notNull().check(sql`version >= 1`))
    .addColumn('sha', 'text', (col) => col.notNull())
    .addColumn('prompt', 'text', (col) => col.notNull())
    .addColumn('content', 'text', (col) => col.notNull())
    .addColumn('author', 'text', (col) => col.notNull())
    .addColumn('message', 'text', (col) => col.notNull())
    .addColumn('created_at', 'text', (col) => col.notNull())
    .addPrimaryKeyConstraint('eval_suites_pk', [...key] as never)
    .addUniqueConstraint('eval_suites_sha_unique', ['project_id', 'name', 'sha'])
    .execute();
  await sql`insert into eval_suites (${sql.raw(COLUMNS)}) select ${sql.raw(COLUMNS)} from eval_suites_copy`.execute(db);
  await sql`drop table eval_suites_copy`.execute(db);
  for (const statement of appendOnlyTriggersSql('sqlite', 'eval_suites', 'eval suite versions are append-only')) {
    await sql.raw(statement).execute(db);
  }
};

const swapPostgresKey = async (db: Kysely<unknown>, key: readonly string[]): Promise<void> => {
  await sql`alter table eval_suites drop constraint eval_suites_pk`.execute(db);
  await sql`alter table eval_suites add constraint eval_suites_pk primary key (${sql.raw(key.join(', '))})`.execute(db);
};

export const uniqueSuiteNamesPerPromptMigration = (dialect: SqlDialect): Migration => {
  const rekey = dialect.altersConstraints ? swapPostgresKey : rebuildSqlite;
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await rekey(db, NEW_KEY);
    },
    // Fails when two prompts' suites share a name and a version: the old key cannot hold them.
    async down(db: Kysely<unknown>): Promise<void> {
      await rekey(db, OLD_KEY);
    },
  };
};
