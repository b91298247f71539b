import { contentSha, type EvalGateVerdict, type EvalSuiteContent } from '@promptops/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient } from '../src/api-client.js';
import { demoServer, run } from './helpers.js';
import { startRegistry, type Registry } from './registry.js';

/** `promptops runs list/show/compare` and `promptops gate` against a real server holding the demo's eval runs. */

const GREETER = 'customer_support_greeter';
/** The cases of `examples/evals/greeter-basics.eval.yaml`, which the demo runs with the simulated provider. */
const CASES = ['alice-password', 'bob-refund', 'chen-shipping', 'dana-invoice', 'emeka-account'];
/** Each v18 case fails `mentions-var` only: 2 of 3 assertions pass, or 3 of 4 where the case adds one. */
const V18_SCORES = ['0.67', '0.75', '0.67', '0.75', '0.67'];
const NAMES = ['Alice', 'Bob', 'Chen', 'Dana', 'Emeka'];

describe('promptops runs / gate (demo data)', () => {
  const demo = demoServer('evals');
  const cli = (argv: string[]) => run(argv, { env: demo.env });
  let v17Run = '';
  let v18Run = '';

  it('runs list: the greeter-basics runs on v18 and v17, newest first', async () => {
    const json = await cli(['runs', 'list', '--prompt', GREETER, '--suite', 'greeter-basics', '--json']);
    expect(json.code, json.stderr).toBe(0);
    const listed = json.json<{
      runs: {
        id: string;
        passed: boolean;
        prompt: { version: number };
        suite: { name: string };
        tenant: { id: string } | null;
      }[];
    }>().runs;
    // The shared prompt's runs (the tenants' runs on their effective prompts are listed too).
    const runs = listed.filter((r) => r.tenant === null);
    expect(runs.map((r) => [r.prompt.version, r.passed, r.suite.name])).toEqual([
      [18, false, 'greeter-basics'],
      [17, true, 'greeter-basics'],
    ]);
    v18Run = runs[0]!.id;
    v17Run = runs[1]!.id;

    const table = await cli(['runs', 'list', '--suite', 'greeter-basics']);
    expect(table.stdout.split('\n')[0]).toMatch(/id\s+recorded\s+suite\s+prompt\s+sha\s+result\s+cases\s+rate\s+by/);
    expect(table.stdout).toContain(`${GREETER}@v18`);
    expect(table.stdout).toMatch(/customer_support_greeter@v18\s+7ba01d7\s+fail\s+0\/5\s+0%\s+bob/);
    expect(table.stdout).toMatch(/customer_support_greeter@v17\s+6504af8\s+pass\s+5\/5\s+100%\s+bob/);
    expect((await cli(['runs', 'list', '--suite', 'no-such-suite'])).stdout).toContain('no eval runs recorded');
  });

  it('runs show: every case of v18 fails on mentions-var user_name, with the reason', async () => {
    const human = await cli(['runs', 'show', v18Run]);
    expect(human.code, human.stderr).toBe(0);
    expect(human.stdout).toContain('0/5 cases passed (0%), mean score 0.70');
    expect(human.stdout).toMatch(/on customer_support_greeter@v18 \(7ba01d7\)\s+fail/);
    CASES.forEach((id, i) => {
      expect(human.stdout).toMatch(new RegExp(`${id}\\s+fail\\s+${V18_SCORES[i]!.replace('.', '\\.')}\\s`));
      expect(human.stdout).toContain(
        `expected the output to mention {{user_name}} = "${NAMES[i]}"; got "Hello! Thanks`,
      );
    });

    const json = await cli(['runs', 'show', v17Run, '--json']);
    const record = json.json<{ passed: boolean; cases: { id: string; output: string; pass: boolean }[] }>();
    expect(record.passed).toBe(true);
    expect(record.cases.map((c) => c.id)).toEqual(CASES);
    expect(record.cases.map((c) => c.pass)).toEqual(CASES.map(() => true));
    record.cases.forEach((c, i) =>
      expect(c.output).toMatch(new RegExp(`^Hello, ${NAMES[i]}! .* Is there anything else I can help with\\?$`)),
    );

    const v18 = (await cli(['runs', 'show', v18Run, '--json'])).json<{
      passed: boolean;
      cases: { id: string; pass: boolean; output: string; assertions: { type: string; pass: boolean }[] }[];
    }>();
    expect(v18.passed).toBe(false);
    for (const c of v18.cases) {
      expect(c.pass).toBe(false);
      expect(c.output).toMatch(/^Hello! Thanks for your question about /);
      expect(c.assertions.filter((a) => !a.pass).map((a) => a.type)).toEqual(['mentions-var']);
    }

    expect((await cli(['runs', 'show', 'abc'])).code).toBe(2);
    const missing = await cli(['runs', 'show', '999999']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain("eval run '999999' does not exist");
  });

  it('runs compare: every case regressed from v17 to v18', async () => {
    const human = await cli(['runs', 'compare', v17Run, v18Run]);
    expect(human.code, human.stderr).toBe(0);
    for (const id of CASES) expect(human.stdout).toMatch(new RegExp(`${id}\\s+regressed\\s+pass -> fail`));
    expect(human.stdout).toContain('5 regressed, 0 fixed');
    const json = (await cli(['runs', 'compare', v17Run, v18Run, '--json'])).json<{
      regressions: string[];
      fixes: string[];
    }>();
    expect(json).toMatchObject({ regressions: CASES, fixes: [] });
    const back = (await cli(['runs', 'compare', v18Run, v17Run, '--json'])).json<{
      regressions: string[];
      fixes: string[];
    }>();
    expect(back).toMatchObject({ regressions: [], fixes: CASES });
  });

  it('gate: v18 towards staging (v17) is refused naming the regressed cases; v17 towards production passes', async () => {
    const refused = await cli(['gate', GREETER, 'v18', '--label', 'staging', '--suite', 'greeter-basics']);
    expect(refused.code).toBe(1);
    expect(refused.stdout).toMatch(/eval gate customer_support_greeter \w{7} -> staging \(now \w{7}\): refused/);
    expect(refused.stdout).toMatch(/greeter-basics\s+failed\s+0%\s+100%/);
    expect(refused.stdout).toContain(
      `0/5 cases passed (0%); below the required 100%; failed cases: ${CASES.join(', ')}`,
    );
    expect(refused.stdout).toContain(`regressed from staging (6504af8, run #${v17Run}): ${CASES.join(', ')}`);

    const json = await cli(['gate', `${GREETER}@v18`, '--label', 'staging', '--suite', 'greeter-basics', '--json']);
    expect(json.code).toBe(1);
    const verdict = json.json<EvalGateVerdict>();
    expect(verdict.suites[0]).toMatchObject({
      status: 'failed',
      runId: v18Run,
      failedCases: CASES,
      regressedCases: CASES,
    });

    const allowed = await cli(['gate', GREETER, 'v17', '--label', 'production', '--suite', 'greeter-basics', '--json']);
    expect(allowed.code, allowed.stdout).toBe(0);
    expect(allowed.json<EvalGateVerdict>()).toMatchObject({
      passed: true,
      suites: [{ status: 'passed', runId: v17Run }],
    });

    const missing = await cli(['gate', GREETER, 'v16', '--label', 'production', '--suite', 'greeter-basics']);
    expect(missing.code).toBe(1);
    expect(missing.stdout).toMatch(/greeter-basics\s+missing/);
    expect((await cli(['gate', GREETER, 'v17', '--label', 'production'])).code).toBe(2);
  });
});

describe('API client: pushSuite, uploadRun, gate (what `promptops eval` calls)', () => {
  let registry: Registry;
  beforeAll(async () => {
    registry = await startRegistry();
  });
  afterAll(async () => {
    await registry.close();
  });

  it('pushes a suite, uploads a run and reads the gate verdict', async () => {
    const client = new ApiClient({ url: registry.url, apiKey: registry.env['PROMPTOPS_API_KEY'] });
    const pushed = await client.pushVersion('hello', {
      content: {
        name: 'hello',
        type: 'text',
        template: 'Say hi to {{user_name}}',
        config: { provider: 'openai', model: 'gpt-4o-mini', params: {} },
        variables: { user_name: { type: 'string', required: true } },
        slots: {},
      },
      parent: null,
    });
    const suite: EvalSuiteContent = {
      name: 'hello-suite',
      prompt: 'hello',
      provider: { id: 'simulated', model: 'simulated', params: {} },
      threshold: 1,
      passRate: 1,
      cases: [{ id: 'ana', vars: { user_name: 'Ana' }, assert: [{ type: 'mentions-var', value: 'user_name' }] }],
    };
    expect(await client.pushSuite(suite, 'first')).toEqual({
      name: 'hello-suite',
      prompt: 'hello',
      sha: contentSha(suite),
      version: 1,
      created: true,
    });
    expect((await client.pushSuite(suite)).created).toBe(false);
    expect((await client.listSuites()).map((s) => s.name)).toEqual(['hello-suite']);

    const before = await client.gate('hello', { ref: 'v1', label: 'production', suites: ['hello-suite'] });
    expect(before.suites[0]!.status).toBe('missing');

    const recorded = await client.uploadRun({
      suite: { name: suite.name, sha: contentSha(suite) },
      prompt: { name: 'hello', sha: pushed.sha, version: 1 },
      provider: suite.provider,
      startedAt: new Date().toISOString(),
      durationMs: 5,
      cases: [
        {
          id: 'ana',
          caseHash: 'f'.repeat(64),
          vars: { user_name: 'Ana' },
          output: 'Hi Ana',
          error: null,
          pass: true,
          score: 1,
          assertions: [{ type: 'mentions-var', pass: true, score: 1, weight: 1, reason: 'output contains "Ana"' }],
          latencyMs: 3,
          usage: { inputTokens: 5, outputTokens: 2 },
          cost: null,
          cached: false,
        },
      ],
    });
    expect(recorded).toMatchObject({ passed: true, summary: { passRate: 1 }, recordedBy: expect.any(String) });
    const after = await client.gate('hello', { ref: 'v1', label: 'production', suites: ['hello-suite'] });
    expect(after).toMatchObject({ passed: true, suites: [{ status: 'passed', runId: recorded.id }] });
    expect((await client.listRuns({ suite: 'hello-suite' })).runs.map((r) => r.id)).toEqual([recorded.id]);
  });
});
