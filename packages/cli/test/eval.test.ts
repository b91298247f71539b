import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import type { EvalGateVerdict } from '@promptops/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startModelServer, json, completion, type ModelServer } from '../../evals/test/support/model-server.js';
import { GREETER_FILE, run, tempDir, writeAt } from './helpers.js';
import { startRegistry, type Registry } from './registry.js';

const EXAMPLE_SUITE = await readFile(
  new URL('../../../examples/evals/greeter-basics.eval.yaml', import.meta.url),
  'utf8',
);
const V18_FILE = GREETER_FILE.replace('      Always greet the user by name.\n', '');
const CASES = ['alice-password', 'bob-refund', 'chen-shipping', 'dana-invoice', 'emeka-account'];

const project = async (greeter = GREETER_FILE): Promise<string> => {
  const dir = await tempDir('promptops-eval-');
  await writeAt(dir, 'prompts/customer_support_greeter.prompt.yaml', greeter);
  await writeAt(dir, 'evals/greeter-basics.eval.yaml', EXAMPLE_SUITE);
  return dir;
};

describe('promptops eval with the simulated provider', () => {
  it('passes on v17 (exit 0) with a summary line', async () => {
    expect(V18_FILE).not.toBe(GREETER_FILE);
    const cwd = await project();
    const result = await run(['eval'], { cwd });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^PASS greeter-basics {2}customer_support_greeter local \(6504af8\)/);
    expect(result.stdout).toContain('5/5 passed');
    expect(result.stdout).not.toContain('Failures');
  });

  it('fails on v18 (exit 1) with a table of failures naming case, assertion, expected and got', async () => {
    const cwd = await project(V18_FILE);
    const result = await run(['eval', '--junit', 'reports/evals.xml'], { cwd });
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/^FAIL greeter-basics/);
    expect(result.stdout).toContain('0/5 passed');
    const rows = result.stdout.split('\n').filter((line) => line.startsWith('greeter-basics'));
    expect(rows.map((row) => row.split(/\s{2,}/)[1])).toEqual(CASES);
    for (const row of rows) {
      expect(row).toContain('mentions-var');
      expect(row).toMatch(/expected the output to mention \{\{user_name\}\} = "\w+"; got "Hello! Thanks/);
    }

    const xml = await readFile(join(cwd, 'reports/evals.xml'), 'utf8');
    expect(XMLValidator.validate(xml)).toBe(true);
    const doc = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '' }).parse(xml) as {
      testsuites: {
        tests: string;
        failures: string;
        errors: string;
        testsuite: { tests: string; testcase: { name: string; failure?: { type: string } }[] };
      };
    };
    expect(doc.testsuites).toMatchObject({ tests: '5', failures: '5', errors: '0' });
    expect(doc.testsuites.testsuite.testcase.map((c) => c.name)).toEqual(CASES);
    expect(doc.testsuites.testsuite.testcase.every((c) => c.failure?.type === 'mentions-var')).toBe(true);
  });

  it('--json carries every case, the summary and the verdict', async () => {
    const cwd = await project(V18_FILE);
    const result = await run(['eval', '--json'], { cwd });
    expect(result.code).toBe(1);
    const body = result.json<{
      passed: boolean;
      suites: {
        passed: boolean;
        summary: { total: number; passed: number };
        run: { suite: { sha: string }; cases: { id: string; pass: boolean; cached: boolean }[] };
      }[];
    }>();
    expect(body.passed).toBe(false);
    expect(body.suites[0]?.summary).toMatchObject({ total: 5, passed: 0 });
    expect(body.suites[0]?.run.suite.sha).toMatch(/^[0-9a-f]{64}$/);
    expect(body.suites[0]?.run.cases.map((c) => c.id)).toEqual(CASES);
  });

  it('shows a progress bar on a terminal', async () => {
    const cwd = await project();
    const result = await run(['eval'], { cwd, tty: true });
    expect(result.code).toBe(0);
    expect(result.stderr).toContain('[########################] 5/5 greeter-basics');
  });

  it('a malformed suite is refused before any call, naming the file, case and field', async () => {
    const cwd = await project();
    await writeAt(
      cwd,
      'evals/broken.eval.yaml',
      'prompt: customer_support_greeter\ncases:\n  - id: zoe\n    vars: { user_name: Zoe, question: q }\n    assert: [{ type: regex, value: "(" }]\n',
    );
    const result = await run(['eval'], { cwd });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('evals/broken.eval.yaml');
    expect(result.stderr).toContain('cases[0].assert[0].value');
    expect(result.stderr).toContain('case "zoe"');
  });

  it('inline suites in prompt files run too', async () => {
    const cwd = await tempDir('promptops-eval-');
    await writeAt(
      cwd,
      'prompts/customer_support_greeter.prompt.yaml',
      `${GREETER_FILE}evals:\n  cases:\n    - id: ann\n      vars: { user_name: Ann, question: Hi? }\n      assert: [{ type: mentions-var, value: user_name }]\n`,
    );
    const result = await run(['eval', '--json'], { cwd });
    expect(result.code).toBe(0);
    expect(result.json<{ suites: { file: string; run: { suite: { name: string } } }[] }>().suites[0]).toMatchObject({
      file: 'prompts/customer_support_greeter.prompt.yaml',
      run: { suite: { name: 'customer_support_greeter' } },
    });
  });
});

describe('promptops eval against a local OpenAI-compatible server', () => {
  let server: ModelServer;
  beforeAll(async () => {
    server = await startModelServer((req, _i, res) => {
      const messages = req.body.messages as { content: string }[];
      json(res, 200, completion(`Hello ${messages.at(-1)?.content ?? ''} Is there anything else I can help with?`));
    });
  });
  afterAll(() => server.close());

  const suite = (url: string, questions: readonly string[]): string =>
    [
      'name: remote',
      'prompt: customer_support_greeter',
      `provider: { id: openai, model: gpt-4o-mini, baseUrl: "${url}/v1" }`,
      'defaultTest: { assert: [{ type: mentions-var, value: user_name }] }',
      'cases:',
      ...questions.map((q, i) => `  - id: c${i}\n    vars: { user_name: U${i}, question: "${q}" }`),
    ].join('\n');

  it('caches results: a rerun makes zero calls, one changed case one call, --no-cache all of them', async () => {
    const cwd = await tempDir('promptops-eval-');
    await writeAt(cwd, 'prompts/customer_support_greeter.prompt.yaml', GREETER_FILE);
    await writeAt(cwd, 'evals/remote.eval.yaml', suite(server.url, ['a?', 'b?', 'c?', 'd?']));
    const before = server.requests.length;
    const first = await run(['eval', '--concurrency', '2'], { cwd });
    expect(first.code).toBe(0);
    expect(server.requests.length - before).toBe(4);
    expect(first.stdout).toContain('4 calls, 0 cached');

    const second = await run(['eval'], { cwd });
    expect(second.code).toBe(0);
    expect(server.requests.length - before).toBe(4);
    expect(second.stdout).toContain('0 calls, 4 cached');

    await writeAt(cwd, 'evals/remote.eval.yaml', suite(server.url, ['a?', 'b?', 'changed?', 'd?']));
    const third = await run(['eval'], { cwd });
    expect(server.requests.length - before).toBe(5);
    expect(third.stdout).toContain('1 call, 3 cached');

    const forced = await run(['eval', '--no-cache'], { cwd });
    expect(forced.code).toBe(0);
    expect(server.requests.length - before).toBe(9);
  });

  it('--provider overrides the suite; an unknown provider is a usage error', async () => {
    const cwd = await tempDir('promptops-eval-');
    await writeAt(cwd, 'prompts/customer_support_greeter.prompt.yaml', GREETER_FILE);
    await writeAt(cwd, 'evals/remote.eval.yaml', suite(server.url, ['a?']));
    const before = server.requests.length;
    const simulated = await run(['eval', '--provider', 'simulated', '--json'], { cwd });
    expect(simulated.code).toBe(0);
    expect(server.requests.length).toBe(before);
    expect(simulated.json<{ suites: { run: { provider: { id: string } } }[] }>().suites[0]?.run.provider.id).toBe(
      'simulated',
    );
    const bad = await run(['eval', '--provider', 'gemini:pro'], { cwd });
    expect(bad.code).toBe(2);
  });
});

describe('promptops eval --ref against the registry', () => {
  let registry: Registry;
  beforeAll(async () => {
    registry = await startRegistry();
  });
  afterAll(() => registry.close());

  it("tests the registry's version, named by label", async () => {
    const cwd = await project(GREETER_FILE);
    expect((await run(['push', '-m', 'v1'], { cwd, env: registry.env })).code).toBe(0);
    // The local file now says v18's text; --ref tests what the registry holds.
    await writeAt(cwd, 'prompts/customer_support_greeter.prompt.yaml', V18_FILE);
    const local = await run(['eval'], { cwd, env: registry.env });
    expect(local.code).toBe(1);
    const remote = await run(['eval', '--ref', 'latest', '--json'], { cwd, env: registry.env });
    expect(remote.code).toBe(0);
    expect(
      remote.json<{ suites: { run: { prompt: { version: number; sha: string } } }[] }>().suites[0]?.run.prompt,
    ).toMatchObject({
      version: 1,
    });
    const missing = await run(['eval', '--ref', 'v9'], { cwd, env: registry.env });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('v9');
  });
});

describe('promptops eval import', () => {
  it('converts a promptfoo config into suites that run', async () => {
    const cwd = await tempDir('promptops-import-');
    await writeAt(
      cwd,
      'prompts/greet.txt',
      'You greet {{user_name}} by name. Always greet the user by name.\n{{question}}',
    );
    await writeAt(
      cwd,
      'promptfooconfig.yaml',
      [
        'prompts: [file://prompts/greet.txt]',
        'providers: [openai:gpt-4o-mini]',
        'defaultTest:',
        '  assert:',
        '    - type: icontains',
        '      value: "{{user_name}}"',
        'tests:',
        '  - vars: { user_name: Alice, question: Hi? }',
        '    assert: [{ type: javascript, value: "output.length > 0" }, { type: contains, value: Alice }]',
      ].join('\n'),
    );
    const imported = await run(['eval', 'import', 'promptfooconfig.yaml', '--json'], { cwd });
    expect(imported.code).toBe(0);
    const body = imported.json<{ written: string[]; warnings: string[] }>();
    expect(body.written).toEqual(['prompts/greet.prompt.yaml', 'evals/greet.eval.yaml']);
    expect(body.warnings.join('\n')).toContain('javascript');
    const again = await run(['eval', 'import', 'promptfooconfig.yaml'], { cwd });
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('--force');
    const evaluated = await run(['eval', '--provider', 'simulated', '--json'], { cwd });
    const suites = evaluated.json<{
      suites: { run: { cases: { pass: boolean; assertions: { type: string }[] }[] } }[];
    }>().suites;
    expect(suites[0]?.run.cases[0]?.assertions.map((a) => a.type)).toEqual(['icontains', 'contains']);
    expect(suites[0]?.run.cases[0]?.pass).toBe(true);
  });
});

describe('promptops eval --upload / --against: runs recorded in the registry and judged by its eval gate', () => {
  let registry: Registry;
  let keyOf: (role: 'viewer' | 'reviewer') => Promise<Record<string, string>>;
  beforeAll(async () => {
    registry = await startRegistry();
    keyOf = async (role) => {
      const created = await run(['keys', 'create', `eval ${role}`, '--role', role], { env: registry.env });
      expect(created.code, created.stderr).toBe(0);
      return { ...registry.env, PROMPTOPS_API_KEY: created.stdout.trim() };
    };
  });
  afterAll(() => registry.close());

  interface Recorded {
    passed: boolean;
    recorded: { suite: string; runId: string; passed: boolean }[];
    gates?: EvalGateVerdict[];
  }
  const runIds = async (): Promise<string[]> => {
    const listed = await run(['runs', 'list', '--json'], { env: registry.env });
    return listed.json<{ runs: { id: string }[] }>().runs.map((r) => r.id);
  };

  it('v17 passes the gate towards production; v18 is refused naming the regressed cases (exit 1)', async () => {
    const reviewer = await keyOf('reviewer');
    const viewer = await keyOf('viewer');
    const cwd = await project(GREETER_FILE);
    expect((await run(['push', '-m', 'greet by name'], { cwd, env: registry.env })).code).toBe(0);
    const promoted = await run(['promote', 'customer_support_greeter', 'v1', '--label', 'production'], {
      cwd,
      env: registry.env,
    });
    expect(promoted.code, promoted.stderr).toBe(0);

    // A viewer may read runs but not record them: a clear 403 saying what recording needs, nothing recorded.
    const denied = await run(['eval', '--upload'], { cwd, env: viewer });
    expect(denied.code).toBe(1);
    expect(denied.stderr).toContain('recording eval runs needs a key with evals:write (role reviewer or above)');
    expect(denied.stderr).toContain("the key's role 'viewer' may not");
    expect(denied.stderr).toContain('promptops keys create ci-evals --role reviewer');
    const deniedJson = await run(['eval', '--upload', '--json'], { cwd, env: viewer });
    expect(deniedJson.code).toBe(1);
    expect(deniedJson.json<{ error: { code: string } }>().error.code).toBe('forbidden');
    expect(await runIds()).toEqual([]);

    // --upload records the run (re-scored by the server) without asking the gate.
    const uploaded = await run(['eval', '--upload', '--json'], { cwd, env: reviewer });
    expect(uploaded.code, uploaded.stderr).toBe(0);
    const upload = uploaded.json<Recorded>();
    expect(upload).toMatchObject({ passed: true, recorded: [{ suite: 'greeter-basics', passed: true }] });
    expect(upload.gates).toBeUndefined();
    expect(await runIds()).toEqual([upload.recorded[0]!.runId]);

    const v17 = await run(['eval', '--against', 'production', '--json'], { cwd, env: reviewer });
    expect(v17.code, v17.stderr).toBe(0);
    const passing = v17.json<Recorded>();
    expect(passing.recorded).toEqual([{ suite: 'greeter-basics', runId: expect.any(String), passed: true }]);
    expect(passing.gates).toHaveLength(1);
    expect(passing.gates![0]).toMatchObject({
      passed: true,
      prompt: 'customer_support_greeter',
      suites: [{ suite: 'greeter-basics', status: 'passed', runId: passing.recorded[0]!.runId }],
    });
    const v17Sha = passing.gates![0]!.sha;
    expect(v17Sha).toMatch(/^6504af8/);
    // production serves v17 already: the gate compares v17's run with itself, nothing regresses.
    expect(passing.gates![0]!.against).toEqual({ label: 'production', sha: v17Sha });

    // v18's text, not pushed yet: its run cannot be recorded, and the error says what to do.
    await writeAt(cwd, 'prompts/customer_support_greeter.prompt.yaml', V18_FILE);
    const unpushed = await run(['eval', '--against', 'production'], { cwd, env: reviewer });
    expect(unpushed.code).toBe(1);
    expect(unpushed.stderr).toMatch(
      /customer_support_greeter 7ba01d7 \(the version this run tested\) is not in the registry/,
    );
    expect(unpushed.stderr).toContain('push the prompt first');
    expect(await runIds()).toHaveLength(2);

    expect((await run(['push', '-m', 'wording fix'], { cwd, env: registry.env })).code).toBe(0);
    const v18 = await run(['eval', '--against', 'production'], { cwd, env: reviewer });
    expect(v18.code).toBe(1);
    expect(v18.stdout).toMatch(/^FAIL greeter-basics/);
    expect(v18.stdout).toMatch(/recorded greeter-basics on customer_support_greeter as run #\d+/);
    expect(v18.stdout).toContain('eval gate customer_support_greeter 7ba01d7 -> production (now 6504af8): refused');
    expect(v18.stdout).toContain(`failed cases: ${CASES.join(', ')}`);
    expect(v18.stdout).toContain(
      `regressed from production (6504af8, run #${passing.recorded[0]!.runId}): ${CASES.join(', ')}`,
    );

    const json = await run(['eval', '--against', 'production', '--json'], { cwd, env: reviewer });
    expect(json.code).toBe(1);
    const refused = json.json<Recorded>();
    expect(refused).toMatchObject({ passed: false, recorded: [{ suite: 'greeter-basics', passed: false }] });
    expect(refused.gates![0]).toMatchObject({
      passed: false,
      against: { label: 'production', sha: v17Sha },
      suites: [
        {
          suite: 'greeter-basics',
          status: 'failed',
          runId: refused.recorded[0]!.runId,
          failedCases: CASES,
          regressedCases: CASES,
        },
      ],
    });
    expect(refused.gates![0]!.sha).toMatch(/^7ba01d7/);
  });
});
