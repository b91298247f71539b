import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  contentSha,
  parseEvalSuiteFile,
  tenantEffectivePrompt,
  type EvalRunInput,
  type PromptContent,
  type PromptOverride,
} from '@promptops/core';
import { createMemoryCache, createProvider, runSuite } from '@promptops/evals';
import { DIALECTS, openTestRegistry, type TestRegistry } from './support/registry.js';

/**
 * The eval gate over every tenant's effective prompt: when the base moves on a label whose policy requires
 * a suite, the suite's recorded runs must pass for the shared prompt and for each tenant with an override
 * following the label (and each tenant a case names); a refusal names the tenants whose effective prompt
 * fails or has no run. Runs are made by the real runner on the simulated provider.
 */

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const prompt = (template: string): PromptContent => ({
  name: 'greeter',
  type: 'text',
  template,
  config: { provider: 'openai', model: 'gpt-4o-mini', params: {} },
  variables: { user_name: { type: 'string', required: true }, question: { type: 'string', required: true } },
  slots: { style: 'Always greet the user by name.' },
});
const V1 = prompt('{{> style}} Help {{user_name}}.\n{{question}}');
// A shared-only change: the slot stays, the wording around it moves.
const V2 = prompt('{{> style}} Help {{user_name}} kindly.\n{{question}}');

const SUITE = parseEvalSuiteFile(
  [
    'name: tenants',
    'prompt: greeter',
    'provider: simulated',
    'cases:',
    '  - id: says-hello',
    '    vars: { user_name: Ana, question: Where is my order? }',
    '    assert: [{ type: icontains, value: hello }]',
    '  - id: acme-greets-by-name',
    '    tenant: acme',
    '    vars: { user_name: Zed, question: Where is my order? }',
    '    assert: [{ type: mentions-var, value: user_name }]',
  ].join('\n'),
  { file: 'evals/tenants.eval.yaml' },
);
const provider = createProvider(SUITE.provider, { env: {} });

for (const dialect of DIALECTS) {
  describe(`the eval gate per tenant, on ${dialect}`, () => {
    let registry: TestRegistry;
    const shas: Record<string, string> = {};
    const call = async (method: 'GET' | 'POST' | 'PUT', url: string, body?: unknown, key = registry.keys.admin) => {
      const response = await registry.app.inject({
        method,
        url,
        headers: { authorization: `Bearer ${key}` },
        ...(body === undefined ? {} : { payload: body as Json }),
      });
      return { status: response.statusCode, body: response.json() as Json };
    };
    const setOverride = async (tenant: string, override: PromptOverride) => {
      const set = await call('PUT', `/api/v1/prompts/greeter/tenants/${tenant}/override`, {
        override,
        label: 'production',
        message: `${tenant} wording`,
      });
      expect(set.status, JSON.stringify(set.body)).toBeLessThan(300);
      return set.body['override'] as Json;
    };
    /** Runs the suite for `tenant` (null: shared) on `content` and records it. */
    const record = async (content: PromptContent, version: number, tenant: string | null): Promise<Json> => {
      const overrideRow =
        tenant === null ? null : await call('GET', `/api/v1/prompts/greeter/tenants/${tenant}/override`);
      const entry =
        overrideRow === null || overrideRow.status !== 200
          ? null
          : {
              version: overrideRow.body['override']['version'] as number,
              sha: overrideRow.body['override']['sha'] as string,
              label: 'production',
              override: overrideRow.body['override']['override'] as PromptOverride,
            };
      const sha = contentSha(content);
      const run = await runSuite({
        suite: SUITE,
        prompt: { content, version },
        provider,
        cache: createMemoryCache(),
        ...(tenant === null
          ? {}
          : { tenant: tenantEffectivePrompt({ name: 'greeter', label: 'production', sha, content }, tenant, entry) }),
      });
      const { stats: _stats, ...input } = run;
      const upload: EvalRunInput = { ...input, suite: { ...input.suite, content: SUITE } };
      const recorded = await call('POST', '/api/v1/evals/runs', upload, registry.keys.reviewer);
      expect(recorded.status, JSON.stringify(recorded.body)).toBe(201);
      return recorded.body;
    };
    const promote = (ref: string) => call('PUT', '/api/v1/prompts/greeter/labels/production', { ref });

    beforeAll(async () => {
      registry = await openTestRegistry(dialect);
      const v1 = await call('POST', '/api/v1/prompts/greeter/versions', { content: V1, parent: null, message: 'v1' });
      expect(v1.status, JSON.stringify(v1.body)).toBe(201);
      shas['v1'] = v1.body['sha'] as string;
      const v2 = await call('POST', '/api/v1/prompts/greeter/versions', {
        content: V2,
        parent: shas['v1'],
        message: 'v2: kinder',
      });
      expect(v2.status, JSON.stringify(v2.body)).toBe(201);
      shas['v2'] = v2.body['sha'] as string;
      expect((await promote('v1')).status).toBe(200);
      const policy = await call('PUT', '/api/v1/policies/production', {
        protected: false,
        suites: [{ suite: 'tenants' }],
      });
      expect(policy.status, JSON.stringify(policy.body)).toBe(200);
      // acme drops "greet by name": its own case fails; globex keeps it and adds a sentence.
      await setOverride('acme', { slots: { style: 'Be brief.' } });
      await setOverride('globex', { slots: { style: 'Always greet the user by name. Be warm.' } });
    });
    afterAll(async () => registry.close());

    it('records the tenant and the effective sha of a tenant run, and refuses a bad tenant id', async () => {
      const run = await record(V2, 2, 'acme');
      expect(run['tenant']).toMatchObject({ id: 'acme' });
      expect(run['tenant']['effectiveSha']).not.toBe(shas['v2']);
      expect(run['prompt']['sha']).toBe(shas['v2']);
      expect(run['cases'].map((c: Json) => c['id'])).toEqual(['says-hello', 'acme-greets-by-name']);
      expect(run['passed']).toBe(false);

      const shared = await record(V2, 2, null);
      expect(shared['tenant']).toBeNull();
      expect(shared['cases'].map((c: Json) => c['id'])).toEqual(['says-hello']);

      const wrongCases = await call(
        'POST',
        '/api/v1/evals/runs',
        { ...(await buildUpload(V2, 2)), tenant: { id: 'globex', effectiveSha: shas['v2'], overrideSha: null } },
        registry.keys.reviewer,
      );
      // A shared run's cases uploaded as globex's lack nothing (globex has no case of its own): accepted.
      expect(wrongCases.status, JSON.stringify(wrongCases.body)).toBe(201);
      const acmeMissing = await call(
        'POST',
        '/api/v1/evals/runs',
        { ...(await buildUpload(V2, 2)), tenant: { id: 'acme', effectiveSha: shas['v2'], overrideSha: null } },
        registry.keys.reviewer,
      );
      expect(acmeMissing.status).toBe(422);
      expect(acmeMissing.body['error']['message']).toContain('missing acme-greets-by-name');
      const badId = await call(
        'POST',
        '/api/v1/evals/runs',
        { ...(await buildUpload(V2, 2)), tenant: { id: 'no spaces', effectiveSha: shas['v2'], overrideSha: null } },
        registry.keys.reviewer,
      );
      expect(badId.status).toBe(400);
      expect(JSON.stringify(badId.body)).toContain('tenant.id');
    });

    const buildUpload = async (content: PromptContent, version: number): Promise<Json> => {
      const { stats: _stats, ...input } = await runSuite({
        suite: SUITE,
        prompt: { content, version },
        provider,
        cache: createMemoryCache(),
      });
      return { ...input, suite: { ...input.suite, content: SUITE } };
    };

    it('refuses a base move whose suite fails for a tenant, naming that tenant only', async () => {
      await record(V2, 2, null);
      await record(V2, 2, 'acme');
      await record(V2, 2, 'globex');
      const refused = await promote('v2');
      expect(refused.status, JSON.stringify(refused.body)).toBe(409);
      expect(refused.body['error']['code']).toBe('eval_gate_failed');
      expect(refused.body['error']['message']).toContain('acme');
      expect(refused.body['error']['message']).not.toContain('globex');
      const suite = refused.body['error']['details']['evals']['suites'][0] as Json;
      expect(suite['status']).toBe('failed');
      expect(suite['tenants']['checked']).toBe(2);
      expect(suite['tenants']['failed']).toEqual([
        expect.objectContaining({ tenant: 'acme', status: 'failed', failedCases: ['acme-greets-by-name'] }),
      ]);
      // GET /gate says the same.
      const gate = await call('GET', `/api/v1/prompts/greeter/gate?ref=v2&label=production&suite=tenants`);
      expect(gate.status, JSON.stringify(gate.body)).toBe(200);
      expect(gate.body['passed']).toBe(false);
      // A change request's eval check asks the same gate: it fails naming acme.
      const opened = await call(
        'POST',
        '/api/v1/reviews',
        { name: 'greeter', ref: 'v2', label: 'production', message: 'kinder wording' },
        registry.keys.editor,
      );
      expect(opened.status, JSON.stringify(opened.body)).toBe(201);
      expect(opened.body['checks']['evals']['status']).toBe('failed');
      expect(opened.body['checks']['evals']['message']).toContain('failing for tenant acme');
      expect(opened.body['checks']['evals']['message']).not.toContain('globex');
    });

    it('a changed override needs a run on its new effective prompt; then a shared-only change passes', async () => {
      await setOverride('acme', { slots: { style: 'Always greet the user by name. Be brief.' } });
      const missing = await promote('v2');
      expect(missing.status, JSON.stringify(missing.body)).toBe(409);
      const suite = missing.body['error']['details']['evals']['suites'][0] as Json;
      expect(suite['status']).toBe('missing');
      expect(suite['tenants']['failed']).toEqual([expect.objectContaining({ tenant: 'acme', status: 'missing' })]);
      expect(missing.body['error']['message']).toContain('acme');

      const run = await record(V2, 2, 'acme');
      expect(run['passed']).toBe(true);
      const moved = await promote('v2');
      expect(moved.status, JSON.stringify(moved.body)).toBe(200);
    });

    it('moving the base back needs every tenant checked on that base too', async () => {
      // Back to v1: acme's current override on v1 has had no run.
      const back = await promote('v1');
      expect(back.status, JSON.stringify(back.body)).toBe(409);
      expect(back.body['error']['message']).toMatch(/acme/);
    });
  });
}
