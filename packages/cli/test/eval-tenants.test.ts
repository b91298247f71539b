import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer } from '@promptops/server';
import type { EvalGateVerdict, EvalRunInput, PromptContent } from '@promptops/core';
import { run, tempDir, writeAt } from './helpers.js';

/**
 * `promptops eval` per tenant against a real server: with a label (`--ref LABEL` or `--against LABEL`) the
 * suite runs on the shared prompt and on each tenant's effective prompt (tenants with an override following
 * the label, and tenants a case names); `--against` records every run and the gate names the failing tenant.
 */

const ADMIN = 'po_eval_tenants_admin_key_0123456789abcdef';

const prompt = (template: string): PromptContent => ({
  name: 'greeter',
  type: 'text',
  template,
  config: { provider: 'openai', model: 'gpt-4o-mini', params: {} },
  variables: { user_name: { type: 'string', required: true }, question: { type: 'string', required: true } },
  slots: { style: 'Always greet the user by name.' },
});

const SUITE = `name: tenants
prompt: greeter
provider: simulated
cases:
  - id: says-hello
    vars: { user_name: Ana, question: Where is my order? }
    assert: [{ type: icontains, value: hello }]
  - id: acme-greets-by-name
    tenant: acme
    vars: { user_name: Zed, question: Where is my order? }
    assert: [{ type: mentions-var, value: user_name }]
`;

interface EvalJson {
  readonly passed: boolean;
  readonly suites: readonly { readonly passed: boolean; readonly run: EvalRunInput }[];
  readonly gates?: readonly EvalGateVerdict[];
}

describe('promptops eval per tenant', () => {
  let server: Awaited<ReturnType<typeof startServer>> | undefined;
  let env: Record<string, string> = {};
  let cwd = '';

  const api = async (method: string, path: string, body: unknown): Promise<Record<string, unknown>> => {
    const response = await fetch(`${env['PROMPTOPS_URL']}/api/v1${path}`, {
      method,
      headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    const json = (await response.json()) as Record<string, unknown>;
    expect(response.status, JSON.stringify(json)).toBeLessThan(300);
    return json;
  };

  beforeAll(async () => {
    const dir = await tempDir('promptops-cli-eval-tenants-');
    server = await startServer({
      host: '127.0.0.1',
      port: 0,
      demo: false,
      dataDir: join(dir, 'data'),
      initAdminKey: ADMIN,
      print: () => {},
    });
    env = { PROMPTOPS_URL: server.url, PROMPTOPS_API_KEY: ADMIN };
    const v1 = await api('POST', '/prompts/greeter/versions', {
      content: prompt('{{> style}} Help {{user_name}}.\n{{question}}'),
      parent: null,
    });
    await api('POST', '/prompts/greeter/versions', {
      content: prompt('{{> style}} Help {{user_name}} kindly.\n{{question}}'),
      parent: v1['sha'],
    });
    await api('PUT', '/prompts/greeter/labels/production', { ref: 'v1' });
    await api('PUT', '/prompts/greeter/tenants/acme/override', {
      override: { slots: { style: 'Be brief.' } },
      label: 'production',
      message: 'acme: brief',
    });
    await api('PUT', '/prompts/greeter/tenants/globex/override', {
      override: { slots: { style: 'Always greet the user by name. Be warm.' } },
      label: 'production',
      message: 'globex: warm',
    });
    cwd = await tempDir();
    await writeAt(cwd, 'evals/tenants.eval.yaml', SUITE);
  });
  afterAll(async () => {
    await server?.close();
  });

  it('runs the shared cases for every tenant and a tenant case for its tenant only, on its effective prompt', async () => {
    const result = await run(['eval', '--ref', 'production', '--no-cache', '--json'], { cwd, env });
    expect(result.code, result.stderr).toBe(1);
    const { suites } = result.json<EvalJson>();
    const summary = suites.map((s) => [s.run.tenant?.id ?? null, s.run.cases.map((c) => c.id), s.passed]);
    expect(summary).toEqual([
      [null, ['says-hello'], true],
      ['acme', ['says-hello', 'acme-greets-by-name'], false],
      ['globex', ['says-hello'], true],
    ]);
    const [shared, acme, globex] = suites;
    expect(acme!.run.prompt.sha).toBe(shared!.run.prompt.sha);
    expect(acme!.run.tenant?.effectiveSha).not.toBe(shared!.run.prompt.sha);
    expect(globex!.run.tenant?.effectiveSha).not.toBe(acme!.run.tenant?.effectiveSha);
  });

  it('records every run with --against and the gate names the failing tenant', async () => {
    const result = await run(['eval', '--ref', 'v2', '--against', 'production', '--no-cache', '--json'], { cwd, env });
    expect(result.code, result.stderr).toBe(1);
    const { gates } = result.json<EvalJson>();
    expect(gates).toHaveLength(1);
    const suite = gates![0]!.suites[0]!;
    expect(suite.status).toBe('failed');
    expect(suite.tenants?.failed.map((t) => [t.tenant, t.status])).toEqual([['acme', 'failed']]);
    expect(suite.message).toContain('failing for acme');

    const listed = await run(['runs', 'list', '--suite', 'tenants'], { env });
    expect(listed.stdout).toMatch(/greeter@v2 \(tenant acme\)\s+\w{7}\s+fail\s+1\/2/);
    expect(listed.stdout).toMatch(/greeter@v2 \(tenant globex\)\s+\w{7}\s+pass\s+1\/1/);

    const human = await run(['gate', 'greeter', 'v2', '--label', 'production', '--suite', 'tenants'], { env });
    expect(human.code).toBe(1);
    expect(human.stdout).toContain('acme');
  });

  it('check --against runs the suites on the tenants too and reports the failing tenant', async () => {
    const dir = await tempDir();
    await writeAt(dir, 'evals/tenants.eval.yaml', SUITE);
    await writeAt(
      dir,
      'prompts/greeter.prompt.yaml',
      [
        'type: text',
        'model: { provider: openai, name: gpt-4o-mini }',
        'variables: { user_name: string, question: string }',
        'slots: { style: Always greet the user by name. }',
        'template: |',
        '  {{> style}} Help {{user_name}} warmly.',
        '  {{question}}',
        '',
      ].join('\n'),
    );
    const pushed = await run(['push', '-m', 'warmly'], { cwd: dir, env });
    expect(pushed.code, pushed.stderr).toBe(0);
    const result = await run(['check', '--against', 'production', '--json'], { cwd: dir, env });
    expect(result.code, result.stdout).toBe(1);
    const messages = result.json<{ problems: { code: string; message: string }[] }>().problems.map((p) => p.message);
    expect(messages.some((m) => m.includes('suite "tenants" for tenant acme'))).toBe(true);
    expect(messages.some((m) => m.includes('for tenant globex'))).toBe(false);
  });

  it('says which tenant cases it could not run without a label', async () => {
    const result = await run(['eval', '--ref', 'v1', '--no-cache'], { cwd, env });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toContain('cases for acme not run');
  });

  it('refuses a case whose tenant is not a tenant id, naming the case', async () => {
    const bad = await tempDir();
    await writeAt(bad, 'evals/tenants.eval.yaml', SUITE.replace('tenant: acme', 'tenant: "acme corp"'));
    const result = await run(['eval', '--ref', 'production', '--no-cache'], { cwd: bad, env });
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('cases[1].tenant');
    expect(result.stderr).toContain('case "acme-greets-by-name"');
  });
});
