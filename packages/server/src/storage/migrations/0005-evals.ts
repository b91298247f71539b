import { sql } from 'kysely';
import type { Kysely, Migration } from 'kysely';
import type { SqlDialect } from '../dialect.js';
import { appendOnlyTriggersSql } from './append-only.js';

/**
 * Eval suites and recorded runs (issue "the taste test"). All three tables are append-only, like the
 * registry's versions: a suite version, a run and its cases are facts the eval gate rests on, so the
 * database rejects UPDATE, DELETE and TRUNCATE on them.
 *
 * - `eval_suites`: one row per (project, suite name, version); content is the canonical JSON its sha is
 *   computed over. Versions count up per name; pushing content that exists returns the existing row.
 * - `eval_runs`: one row per recorded run, against a prompt version sha and a suite sha. `passed` and the
 *   summary are the server's computation. The gate asks "newest run of suite S on prompt sha P", so
 *   `(project_id, prompt_sha, suite_name, id)` and `(project_id, prompt_sha, suite_sha, id)` serve it
 *   as one index probe each; the list filters ride on `(project_id, …, id)` indexes.
 * - `eval_run_cases`: one row per case of a run, so the gate reads pass/fail by case id without parsing
 *   every output; outputs, variables and assertion results are kept as text beside it.
 */
export const evalsMigration = (dialect: SqlDialect): Migration => {
  const serialId = dialect.identity;

  return {
    async up(db: Kysely<unknown>): Promise<void> {
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
        .addPrimaryKeyConstraint('eval_suites_pk', ['project_id', 'name', 'version'])
        .addUniqueConstraint('eval_suites_sha_unique', ['project_id', 'name', 'sha'])
        .execute();

      await db.schema
        .createTable('eval_runs')
        .addColumn('id', 'integer', serialId)
        .addColumn('project_id', 'integer', (col) => col.notNull().references('projects.id'))
        .addColumn('suite_name', 'text', (col) => col.notNull())
        .addColumn('suite_sha', 'text', (col) => col.notNull())
        .addColumn('suite_version', 'integer', (col) => col.notNull())
        .addColumn('prompt_name', 'text', (col) => col.notNull())
        .addColumn('prompt_sha', 'text', (col) => col.notNull())
        .addColumn('prompt_version', 'integer', (col) => col.notNull())
        .addColumn('provider', 'text', (col) => col.notNull())
        .addColumn('passed', 'integer', (col) => col.notNull().check(sql`passed in (0, 1)`))
        .addColumn('pass_rate', 'double precision', (col) => col.notNull())
        .addColumn('summary', 'text', (col) => col.notNull())
        .addColumn('started_at', 'text', (col) => col.notNull())
        .addColumn('duration_ms', 'double precision', (col) => col.notNull())
        .addColumn('recorded_by', 'text', (col) => col.notNull())
        .addColumn('recorded_at', 'text', (col) => col.notNull())
        .addForeignKeyConstraint('eval_runs_suite_fk', ['project_id', 'suite_name', 'suite_sha'], 'eval_suites', [
          'project_id',
          'name',
          'sha',
        ])
        .execute();
      const index = (name: string, columns: string[]) =>
        db.schema.createIndex(name).on('eval_runs').columns(columns).execute();
      await index('eval_runs_project', ['project_id', 'id']);
      await index('eval_runs_prompt', ['project_id', 'prompt_name', 'id']);
      await index('eval_runs_suite', ['project_id', 'suite_name', 'id']);
      await index('eval_runs_gate_suite', ['project_id', 'prompt_sha', 'suite_name', 'id']);
      await index('eval_runs_gate_suite_sha', ['project_id', 'prompt_sha', 'suite_sha', 'id']);

      await db.schema
        .createTable('eval_run_cases')
        .addColumn('run_id', 'integer', (col) => col.notNull().references('eval_runs.id'))
        .addColumn('position', 'integer', (col) => col.notNull())
        .addColumn('case_id', 'text', (col) => col.notNull())
        .addColumn('case_hash', 'text', (col) => col.notNull())
        .addColumn('pass', 'integer', (col) => col.notNull().check(sql`pass in (0, 1)`))
        .addColumn('score', 'double precision', (col) => col.notNull())
        .addColumn('vars', 'text', (col) => col.notNull())
        .addColumn('output', 'text')
        .addColumn('error', 'text')
        .addColumn('assertions', 'text', (col) => col.notNull())
        .addColumn('latency_ms', 'double precision')
        .addColumn('input_tokens', 'integer')
        .addColumn('output_tokens', 'integer')
        .addColumn('cost', 'double precision')
        .addColumn('cached', 'integer', (col) => col.notNull().check(sql`cached in (0, 1)`))
        .addPrimaryKeyConstraint('eval_run_cases_pk', ['run_id', 'position'])
        .addUniqueConstraint('eval_run_cases_case_unique', ['run_id', 'case_id'])
        .execute();

      const messages = {
        eval_suites: 'eval suite versions are append-only',
        eval_runs: 'eval runs are append-only',
        eval_run_cases: 'eval run cases are append-only',
      };
      for (const [table, message] of Object.entries(messages)) {
        for (const statement of appendOnlyTriggersSql(dialect.name, table, message))
          await sql.raw(statement).execute(db);
      }
    },

    async down(db: Kysely<unknown>): Promise<void> {
      // Dropping a table drops its triggers in both databases.
      for (const table of ['eval_run_cases', 'eval_runs', 'eval_suites']) await db.schema.dropTable(table).execute();
    },
  };
};
