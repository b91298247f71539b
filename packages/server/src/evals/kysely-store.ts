import { sql } from 'kysely';
import type { Kysely, Selectable } from 'kysely';
import type { Database, EvalTables } from '../storage/schema.js';
import type { TxScope } from '../storage/transaction.js';
import type {
  EvalRunCaseRow,
  EvalRunFilter,
  EvalRunRow,
  EvalStore,
  EvalSuiteRow,
  EvalTx,
  NewEvalRun,
  NewEvalSuite,
} from './store.js';

type EvalDb = Kysely<Database & EvalTables>;

/** Run ids per `in (...)` list: well under SQLite's bound-parameter limit. */
const VERDICT_CHUNK = 500;

const toSuite = (row: Selectable<EvalTables['eval_suites']>): EvalSuiteRow => ({
  projectId: row.project_id,
  name: row.name,
  version: row.version,
  sha: row.sha,
  prompt: row.prompt,
  content: row.content,
  author: row.author,
  message: row.message,
  createdAt: row.created_at,
});

const toRun = (row: Selectable<EvalTables['eval_runs']>): EvalRunRow => ({
  id: Number(row.id),
  projectId: row.project_id,
  suiteName: row.suite_name,
  suiteSha: row.suite_sha,
  suiteVersion: row.suite_version,
  promptName: row.prompt_name,
  promptSha: row.prompt_sha,
  promptVersion: row.prompt_version,
  provider: row.provider,
  passed: Number(row.passed) === 1,
  passRate: Number(row.pass_rate),
  summary: row.summary,
  startedAt: row.started_at,
  durationMs: Number(row.duration_ms),
  recordedBy: row.recorded_by,
  recordedAt: row.recorded_at,
  tenant: row.tenant ?? null,
  effectiveSha: row.effective_sha ?? null,
  overrideSha: row.override_sha ?? null,
});

const nullableNumber = (value: number | null): number | null => (value === null ? null : Number(value));

const toCase = (row: Selectable<EvalTables['eval_run_cases']>): EvalRunCaseRow => ({
  caseId: row.case_id,
  caseHash: row.case_hash,
  pass: Number(row.pass) === 1,
  score: Number(row.score),
  vars: row.vars,
  output: row.output,
  error: row.error,
  assertions: row.assertions,
  latencyMs: nullableNumber(row.latency_ms),
  inputTokens: nullableNumber(row.input_tokens),
  outputTokens: nullableNumber(row.output_tokens),
  cost: nullableNumber(row.cost),
  cached: Number(row.cached) === 1,
});

/** Case rows per insert statement: 15 columns x 500 stays far below both databases' parameter limits. */
const CASE_CHUNK = 500;
/** Concurrent pushes of one suite that race for the same version number retry this often. */
const SUITE_INSERT_ATTEMPTS = 8;

const suiteReads = (db: EvalDb) => {
  const suites = () => db.selectFrom('eval_suites').selectAll();
  const getEvalSuite = async (projectId: number, name: string, sha: string): Promise<EvalSuiteRow | undefined> => {
    const row = await suites()
      .where('project_id', '=', projectId)
      .where('name', '=', name)
      .where('sha', '=', sha)
      .executeTakeFirst();
    return row && toSuite(row);
  };
  const latestEvalSuite = async (
    projectId: number,
    prompt: string,
    name: string,
  ): Promise<EvalSuiteRow | undefined> => {
    const row = await suites()
      .where('project_id', '=', projectId)
      .where('prompt', '=', prompt)
      .where('name', '=', name)
      .orderBy('version', 'desc')
      .limit(1)
      .executeTakeFirst();
    return row && toSuite(row);
  };
  return { suites, getEvalSuite, latestEvalSuite };
};

/** The eval inserts, on a connection inside an open transaction (with its audit entry). */
const evalWrites = (database: Kysely<Database>): EvalTx => {
  const db: EvalDb = database.withTables<EvalTables>();
  const { getEvalSuite, latestEvalSuite } = suiteReads(db);

  return {
    async insertEvalSuite(suite: NewEvalSuite): Promise<{ row: EvalSuiteRow; created: boolean }> {
      // No lock: the unique keys (prompt, name, version) and (name, sha) decide races. A loser whose sha
      // the winner inserted returns that row; one that lost only the version number tries the next one.
      for (let attempt = 0; attempt < SUITE_INSERT_ATTEMPTS; attempt += 1) {
        const existing = await getEvalSuite(suite.projectId, suite.name, suite.sha);
        if (existing !== undefined) return { row: existing, created: false };
        const version = ((await latestEvalSuite(suite.projectId, suite.prompt, suite.name))?.version ?? 0) + 1;
        const inserted = await db
          .insertInto('eval_suites')
          .values({
            project_id: suite.projectId,
            name: suite.name,
            version,
            sha: suite.sha,
            prompt: suite.prompt,
            content: suite.content,
            author: suite.author,
            message: suite.message,
            created_at: suite.createdAt,
          })
          .onConflict((conflict) => conflict.doNothing())
          .returningAll()
          .executeTakeFirst();
        if (inserted !== undefined) return { row: toSuite(inserted), created: true };
      }
      throw new Error(`suite ${suite.name}: no free version number after ${SUITE_INSERT_ATTEMPTS} attempts`);
    },

    async insertEvalRun(run: NewEvalRun, cases: readonly EvalRunCaseRow[]): Promise<EvalRunRow> {
      const row = await db
        .insertInto('eval_runs')
        .values({
          project_id: run.projectId,
          suite_name: run.suiteName,
          suite_sha: run.suiteSha,
          suite_version: run.suiteVersion,
          prompt_name: run.promptName,
          prompt_sha: run.promptSha,
          prompt_version: run.promptVersion,
          provider: run.provider,
          passed: run.passed ? 1 : 0,
          pass_rate: run.passRate,
          summary: run.summary,
          started_at: run.startedAt,
          duration_ms: run.durationMs,
          recorded_by: run.recordedBy,
          recorded_at: run.recordedAt,
          tenant: run.tenant,
          effective_sha: run.effectiveSha,
          override_sha: run.overrideSha,
        })
        .returningAll()
        .executeTakeFirstOrThrow();
      const runId = Number(row.id);
      for (let start = 0; start < cases.length; start += CASE_CHUNK) {
        await db
          .insertInto('eval_run_cases')
          .values(
            cases.slice(start, start + CASE_CHUNK).map((c, offset) => ({
              run_id: runId,
              position: start + offset,
              case_id: c.caseId,
              case_hash: c.caseHash,
              pass: c.pass ? 1 : 0,
              score: c.score,
              vars: c.vars,
              output: c.output,
              error: c.error,
              assertions: c.assertions,
              latency_ms: c.latencyMs,
              input_tokens: c.inputTokens,
              output_tokens: c.outputTokens,
              cost: c.cost,
              cached: c.cached ? 1 : 0,
            })),
          )
          .execute();
      }
      return toRun(row);
    },
  };
};

const evalReads = (database: Kysely<Database>): EvalStore => {
  const db: EvalDb = database.withTables<EvalTables>();
  const { suites, getEvalSuite, latestEvalSuite } = suiteReads(db);

  return {
    async listEvalSuites(projectId: number): Promise<EvalSuiteRow[]> {
      const rows = await suites()
        .where('project_id', '=', projectId)
        .where(({ eb, selectFrom }) =>
          eb(
            'version',
            '=',
            selectFrom('eval_suites as newest')
              .select(sql<number>`max(newest.version)`.as('v'))
              .whereRef('newest.project_id', '=', 'eval_suites.project_id')
              .whereRef('newest.prompt', '=', 'eval_suites.prompt')
              .whereRef('newest.name', '=', 'eval_suites.name'),
          ),
        )
        .orderBy('name')
        .orderBy('prompt')
        .execute();
      return rows.map(toSuite);
    },

    async listEvalSuiteVersions(projectId: number, name: string, prompt?: string): Promise<EvalSuiteRow[]> {
      const rows = await suites()
        .where('project_id', '=', projectId)
        .where('name', '=', name)
        .$if(prompt !== undefined, (q) => q.where('prompt', '=', prompt ?? ''))
        .orderBy('prompt')
        .orderBy('version', 'desc')
        .execute();
      return rows.map(toSuite);
    },

    async listEvalSuitePrompts(projectId: number, name: string): Promise<string[]> {
      const rows = await db
        .selectFrom('eval_suites')
        .select('prompt')
        .distinct()
        .where('project_id', '=', projectId)
        .where('name', '=', name)
        .orderBy('prompt')
        .execute();
      return rows.map((row) => row.prompt);
    },

    getEvalSuite,
    latestEvalSuite,

    async listEvalRuns(
      projectId: number,
      filter: EvalRunFilter,
      page: { limit: number; before?: number },
    ): Promise<EvalRunRow[]> {
      const { promptName, promptShaPrefix, suiteName } = filter;
      const { before } = page;
      const rows = await db
        .selectFrom('eval_runs')
        .selectAll()
        .where('project_id', '=', projectId)
        .$if(promptName !== undefined, (q) => q.where('prompt_name', '=', promptName ?? ''))
        .$if(suiteName !== undefined, (q) => q.where('suite_name', '=', suiteName ?? ''))
        // A prefix as a range, so an index on the sha can serve it (hex sorts below 'g').
        .$if(promptShaPrefix !== undefined, (q) =>
          q.where('prompt_sha', '>=', promptShaPrefix ?? '').where('prompt_sha', '<', `${promptShaPrefix ?? ''}g`),
        )
        .$if(before !== undefined, (q) => q.where('id', '<', before ?? 0))
        .orderBy('id', 'desc')
        .limit(page.limit)
        .execute();
      return rows.map(toRun);
    },

    async getEvalRun(projectId: number, id: number): Promise<EvalRunRow | undefined> {
      const row = await db
        .selectFrom('eval_runs')
        .selectAll()
        .where('project_id', '=', projectId)
        .where('id', '=', id)
        .executeTakeFirst();
      return row && toRun(row);
    },

    async listEvalRunCases(runId: number): Promise<EvalRunCaseRow[]> {
      const rows = await db
        .selectFrom('eval_run_cases')
        .selectAll()
        .where('run_id', '=', runId)
        .orderBy('position')
        .execute();
      return rows.map(toCase);
    },

    async listEvalRunVerdicts(runId: number): Promise<{ caseId: string; pass: boolean }[]> {
      const rows = await db
        .selectFrom('eval_run_cases')
        .select(['case_id', 'pass'])
        .where('run_id', '=', runId)
        .orderBy('position')
        .execute();
      return rows.map((row) => ({ caseId: row.case_id, pass: Number(row.pass) === 1 }));
    },

    async latestEvalRun(
      projectId: number,
      query: { readonly promptSha: string; readonly suiteName: string; readonly suiteSha?: string },
    ): Promise<EvalRunRow | undefined> {
      const { suiteSha } = query;
      const row = await db
        .selectFrom('eval_runs')
        .selectAll()
        .where('project_id', '=', projectId)
        .where('prompt_sha', '=', query.promptSha)
        .where('suite_name', '=', query.suiteName)
        .where('tenant', 'is', null)
        .$if(suiteSha !== undefined, (q) => q.where('suite_sha', '=', suiteSha ?? ''))
        .orderBy('id', 'desc')
        .limit(1)
        .executeTakeFirst();
      return row && toRun(row);
    },

    async latestTenantRuns(projectId, query): Promise<EvalRunRow[]> {
      const newest = db
        .selectFrom('eval_runs')
        .select((eb) => eb.fn.max('id').as('id'))
        .where('project_id', '=', projectId)
        .where('prompt_sha', '=', query.promptSha)
        .where('suite_name', '=', query.suiteName)
        .where('suite_sha', '=', query.suiteSha)
        .where('tenant', 'is not', null)
        .groupBy(['tenant', 'effective_sha']);
      const rows = await db
        .selectFrom('eval_runs')
        .selectAll()
        .where('id', 'in', newest)
        .orderBy('id', 'desc')
        .execute();
      return rows.map(toRun);
    },

    async listEvalRunVerdictsOf(runIds) {
      const out = new Map<number, { caseId: string; pass: boolean }[]>(runIds.map((id) => [id, []]));
      for (let start = 0; start < runIds.length; start += VERDICT_CHUNK) {
        const rows = await db
          .selectFrom('eval_run_cases')
          .select(['run_id', 'case_id', 'pass'])
          .where('run_id', 'in', runIds.slice(start, start + VERDICT_CHUNK))
          .orderBy('run_id')
          .orderBy('position')
          .execute();
        for (const row of rows)
          out.get(Number(row.run_id))?.push({ caseId: row.case_id, pass: Number(row.pass) === 1 });
      }
      return out;
    },
  };
};

/** The eval store over Kysely, for both databases, and its writer for one transaction. */
export const createEvalStore = (db: Kysely<Database>): EvalStore & { inTransaction(scope: TxScope): EvalTx } => ({
  ...evalReads(db),
  inTransaction: (scope) => evalWrites(scope.db),
});
