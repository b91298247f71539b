import { expect, it } from 'vitest';
import type { EvalRunCaseRow, NewEvalRun, NewEvalSuite } from '../../src/evals/store.js';
import { describeEachDatabase } from '../support/databases.js';
import { AT, shaOf, storesFixture } from './support.js';

/**
 * The evals store's contract (evals/store.ts) on both databases: suite versions count per (project, prompt,
 * name) and a known sha is not stored twice; runs keep their cases in order; every read stays in its
 * project; the rows are append-only. Every test gets a fresh, empty database.
 */

describeEachDatabase('evals store contract: %s', (dialect) => {
  const { open, seed } = storesFixture(dialect);

  const suite = (projectId: number, name: string, prompt: string, text: string): NewEvalSuite => ({
    projectId,
    name,
    sha: shaOf(`${prompt}/${name}: ${text}`),
    prompt,
    content: JSON.stringify({ text }),
    author: 'ada',
    message: text,
    createdAt: AT,
  });

  it('numbers suite versions per prompt and name, and stores a known sha once', async () => {
    const storage = await open();
    const { project } = await seed(storage);
    const other = await storage.transaction((tx) => tx.registry.createProject('other', AT));
    const insert = (row: NewEvalSuite) => storage.transaction((tx) => tx.evals.insertEvalSuite(row));

    const first = await insert(suite(project.id, 'smoke', 'greeter', 'one'));
    expect(first).toEqual({
      created: true,
      row: {
        projectId: project.id,
        name: 'smoke',
        version: 1,
        sha: shaOf('greeter/smoke: one'),
        prompt: 'greeter',
        content: '{"text":"one"}',
        author: 'ada',
        message: 'one',
        createdAt: AT,
      },
    });
    expect(await insert(suite(project.id, 'smoke', 'greeter', 'one'))).toEqual({ created: false, row: first.row });
    const second = await insert(suite(project.id, 'smoke', 'greeter', 'two'));
    expect(second).toMatchObject({ created: true, row: { version: 2 } });
    // Another prompt's suite of the same name counts its own versions; so does another project.
    expect(await insert(suite(project.id, 'smoke', 'farewell', 'one'))).toMatchObject({ row: { version: 1 } });
    expect(await insert(suite(other.id, 'smoke', 'greeter', 'three'))).toMatchObject({ row: { version: 1 } });
    await insert(suite(project.id, 'tone', 'greeter', 'one'));

    const versions = (rows: readonly { prompt: string; name: string; version: number }[]) =>
      rows.map((row) => `${row.prompt}/${row.name}@v${row.version}`);
    expect(versions(await storage.evals.listEvalSuites(project.id))).toEqual([
      'farewell/smoke@v1',
      'greeter/smoke@v2',
      'greeter/tone@v1',
    ]);
    expect(versions(await storage.evals.listEvalSuiteVersions(project.id, 'smoke'))).toEqual([
      'farewell/smoke@v1',
      'greeter/smoke@v2',
      'greeter/smoke@v1',
    ]);
    expect(versions(await storage.evals.listEvalSuiteVersions(project.id, 'smoke', 'greeter'))).toEqual([
      'greeter/smoke@v2',
      'greeter/smoke@v1',
    ]);
    expect(await storage.evals.listEvalSuitePrompts(project.id, 'smoke')).toEqual(['farewell', 'greeter']);
    expect(await storage.evals.getEvalSuite(project.id, 'smoke', first.row.sha)).toEqual(first.row);
    expect(await storage.evals.getEvalSuite(other.id, 'smoke', first.row.sha)).toBeUndefined();
    expect(await storage.evals.latestEvalSuite(project.id, 'greeter', 'smoke')).toEqual(second.row);
    expect(await storage.evals.latestEvalSuite(project.id, 'greeter', 'absent')).toBeUndefined();
  });

  it('records runs with their cases in order, newest first, within the project', async () => {
    const storage = await open();
    const { project } = await seed(storage);
    const other = await storage.transaction((tx) => tx.registry.createProject('other', AT));
    const promptSha = (n: number) => `abc${n}${'0'.repeat(60)}`;
    const run = (projectId: number, n: number, suiteName = 'smoke', passed = true): NewEvalRun => ({
      projectId,
      suiteName,
      suiteSha: shaOf(`greeter/${suiteName}: v`),
      suiteVersion: 1,
      promptName: 'greeter',
      promptSha: promptSha(n),
      promptVersion: n,
      provider: '{"id":"mock"}',
      passed,
      passRate: passed ? 1 : 0.5,
      summary: '{"cases":2}',
      startedAt: AT,
      durationMs: 12,
      recordedBy: 'ada',
      recordedAt: AT,
      tenant: null,
      effectiveSha: null,
      overrideSha: null,
    });
    const cases: EvalRunCaseRow[] = ['b-case', 'a-case'].map((caseId, i) => ({
      caseId,
      caseHash: shaOf(caseId),
      pass: i === 0,
      score: i === 0 ? 1 : 0,
      vars: '{"name":"Ada"}',
      output: i === 0 ? 'Hello Ada' : null,
      error: i === 0 ? null : 'timeout',
      assertions: '[]',
      latencyMs: i === 0 ? 120 : null,
      inputTokens: i === 0 ? 10 : null,
      outputTokens: i === 0 ? 3 : null,
      cost: i === 0 ? 0.001 : null,
      cached: i === 1,
    }));
    const insert = (row: NewEvalRun, rows: readonly EvalRunCaseRow[] = cases) =>
      storage.transaction((tx) => tx.evals.insertEvalRun(row, rows));
    // A run names a stored suite version (a foreign key).
    await expect(insert(run(project.id, 1))).rejects.toThrow();
    await storage.transaction(async (tx) => {
      for (const projectId of [project.id, other.id])
        for (const name of ['smoke', 'tone']) await tx.evals.insertEvalSuite(suite(projectId, name, 'greeter', 'v'));
    });

    const first = await insert(run(project.id, 1));
    expect(first).toEqual({ ...run(project.id, 1), id: expect.any(Number) });
    const second = await insert(run(project.id, 2, 'smoke', false));
    const third = await insert(run(project.id, 2, 'tone'), []);
    const foreign = await insert(run(other.id, 1));

    expect(await storage.evals.getEvalRun(project.id, second.id)).toEqual(second);
    expect(await storage.evals.getEvalRun(project.id, foreign.id)).toBeUndefined();
    expect(await storage.evals.listEvalRunCases(first.id)).toEqual(cases);
    expect(await storage.evals.listEvalRunCases(third.id)).toEqual([]);
    expect(await storage.evals.listEvalRunVerdicts(first.id)).toEqual([
      { caseId: 'b-case', pass: true },
      { caseId: 'a-case', pass: false },
    ]);

    const ids = async (filter: Parameters<typeof storage.evals.listEvalRuns>[1], before?: number) =>
      (
        await storage.evals.listEvalRuns(project.id, filter, { limit: 10, ...(before === undefined ? {} : { before }) })
      ).map((row) => row.id);
    expect(await ids({})).toEqual([third.id, second.id, first.id]);
    expect(await ids({}, third.id)).toEqual([second.id, first.id]);
    expect(await ids({ suiteName: 'smoke' })).toEqual([second.id, first.id]);
    expect(await ids({ promptShaPrefix: 'abc2' })).toEqual([third.id, second.id]);
    expect(await ids({ promptShaPrefix: promptSha(1) })).toEqual([first.id]);
    expect(await ids({ promptName: 'farewell' })).toEqual([]);

    expect(await storage.evals.latestEvalRun(project.id, { promptSha: promptSha(2), suiteName: 'smoke' })).toEqual(
      second,
    );
    expect(
      await storage.evals.latestEvalRun(project.id, {
        promptSha: promptSha(2),
        suiteName: 'smoke',
        suiteSha: shaOf('other'),
      }),
    ).toBeUndefined();
    expect(
      await storage.evals.latestEvalRun(other.id, { promptSha: promptSha(2), suiteName: 'smoke' }),
    ).toBeUndefined();

    // Tenants' runs: never the shared evidence; the newest per (tenant, effective sha), in one query.
    const tenantRun = (tenant: string, effective: string): NewEvalRun => ({
      ...run(project.id, 2),
      tenant,
      effectiveSha: shaOf(effective),
      overrideSha: shaOf(`${tenant}-override`),
    });
    const acmeOld = await insert(tenantRun('acme', 'acme-1'));
    const acme = await insert(tenantRun('acme', 'acme-1'), cases.slice(0, 1));
    const acmeNew = await insert(tenantRun('acme', 'acme-2'));
    const globex = await insert(tenantRun('globex', 'globex-1'), []);
    expect(acme).toMatchObject({ tenant: 'acme', effectiveSha: shaOf('acme-1'), overrideSha: shaOf('acme-override') });
    expect(await storage.evals.latestEvalRun(project.id, { promptSha: promptSha(2), suiteName: 'smoke' })).toEqual(
      second,
    );
    const tenantRuns = await storage.evals.latestTenantRuns(project.id, {
      promptSha: promptSha(2),
      suiteName: 'smoke',
      suiteSha: shaOf('greeter/smoke: v'),
    });
    expect(tenantRuns.map((r) => r.id)).toEqual([globex.id, acmeNew.id, acme.id]);
    expect(tenantRuns.map((r) => r.id)).not.toContain(acmeOld.id);
    const verdicts = await storage.evals.listEvalRunVerdictsOf([acme.id, globex.id]);
    expect(Object.fromEntries(verdicts)).toEqual({
      [acme.id]: [{ caseId: 'b-case', pass: true }],
      [globex.id]: [],
    });
    expect(
      await storage.evals.latestTenantRuns(other.id, {
        promptSha: promptSha(2),
        suiteName: 'smoke',
        suiteSha: shaOf('greeter/smoke: v'),
      }),
    ).toEqual([]);

    // Recorded results are append-only in the database.
    await expect(storage.rawSql('UPDATE eval_runs SET passed = 1 - passed')).rejects.toThrow(/append-only/);
    await expect(storage.rawSql('DELETE FROM eval_suites')).rejects.toThrow(/append-only/);
    expect(await storage.evals.getEvalRun(project.id, second.id)).toEqual(second);
  });
});
