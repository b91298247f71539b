import { describe, expect, it } from 'vitest';
import type { EvalRunRecord } from '@promptops/core';
import { demoServer, run, tempDir, writeAt } from './helpers.js';

/**
 * `eval --upload` when the provider fails on a case: the case is recorded as an error (not refused as a
 * malformed upload), and an upload the registry refuses leaves no suite version behind.
 */

const suiteFile = (name: string): string => `name: ${name}
prompt: customer_support_greeter
provider: openai:gpt-4o-mini
cases:
  - id: alice
    vars: { user_name: Alice, question: Where is my parcel? }
    assert: [{ type: mentions-var, value: user_name }]
  - id: bob
    vars: { user_name: Bob, question: Can I get a refund? }
    assert: [{ type: icontains, value: refund }]
`;

/** The model's API refuses every call (a 400 is not retried); everything else reaches the registry. */
const failingModel: typeof globalThis.fetch = (input, init) =>
  new URL(input instanceof Request ? input.url : String(input)).hostname === 'api.openai.com'
    ? Promise.resolve(
        new Response(JSON.stringify({ error: { message: 'model not available' } }), {
          status: 400,
          headers: { 'content-type': 'application/json' },
        }),
      )
    : globalThis.fetch(input, init);

describe('promptops eval --upload with errored cases', () => {
  const demo = demoServer('upload-errors');

  it('records the errored cases as errors', async () => {
    const cwd = await tempDir();
    await writeAt(cwd, 'evals/greeter-openai.eval.yaml', suiteFile('greeter-openai'));
    const env = { ...demo.env, OPENAI_API_KEY: 'sk-test-not-a-key' };
    const result = await run(['eval', '--ref', 'v17', '--upload', '--no-cache'], { cwd, env, fetch: failingModel });
    expect(result.code, result.stderr).toBe(1);
    expect(result.stderr).not.toContain('assertions');
    const recorded = /recorded greeter-openai on customer_support_greeter as run #(\d+)/.exec(result.stdout);
    expect(recorded, result.stdout).not.toBeNull();
    const shown = await run(['runs', 'show', recorded![1]!, '--json'], { env: demo.env });
    const record = shown.json<EvalRunRecord>();
    expect(record.summary).toMatchObject({ total: 2, passed: 0, errors: 2 });
    expect(record.cases.map((c) => [c.id, c.pass, c.error?.includes('HTTP 400')])).toEqual([
      ['alice', false, true],
      ['bob', false, true],
    ]);
  });

  it('leaves no suite version behind when the registry refuses the run', async () => {
    const created = await run(['keys', 'create', 'writer', '--role', 'editor', '--json'], { env: demo.env });
    expect(created.code, created.stderr).toBe(0);
    const editorKey = created.json<{ secret: string }>().secret;
    const cwd = await tempDir();
    await writeAt(cwd, 'evals/greeter-editor.eval.yaml', suiteFile('greeter-editor'));
    const env = { ...demo.env, PROMPTOPS_API_KEY: editorKey, OPENAI_API_KEY: 'sk-test-not-a-key' };
    const result = await run(['eval', '--ref', 'v17', '--upload', '--no-cache'], { cwd, env, fetch: failingModel });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('evals:write');
    const response = await fetch(`${demo.env['PROMPTOPS_URL']}/api/v1/evals/suites`, {
      headers: { authorization: `Bearer ${demo.env['PROMPTOPS_API_KEY']}` },
    });
    const { suites } = (await response.json()) as { suites: { name: string }[] };
    expect(suites.map((s) => s.name)).not.toContain('greeter-editor');
  });
});
