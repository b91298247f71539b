import { describe, expect, it } from 'vitest';
import {
  parseEvalSuiteFile,
  promptSha,
  tenantEffectivePrompt,
  type PromptContent,
  type PromptopsError,
} from '@promptops/core';
import { createMemoryCache, createProvider, runSuite } from '../src/index.js';

/**
 * Suites per tenant: a case naming a tenant runs only in that tenant's run, rendered against the tenant's
 * effective prompt; cases naming none run in every run. The run records the tenant and the effective sha,
 * and the result cache is keyed by the effective content, never the base's.
 */

const BASE: PromptContent = {
  name: 'greeter',
  type: 'text',
  template: '{{> style}} Help {{user_name}}.\n{{question}}',
  config: { provider: 'openai', model: 'gpt-4o-mini', params: {} },
  variables: { user_name: { type: 'string', required: true }, question: { type: 'string', required: true } },
  slots: { style: 'Always greet the user by name.' },
};

const SUITE = parseEvalSuiteFile(
  [
    'name: tenants',
    'prompt: greeter',
    'provider: simulated',
    'cases:',
    '  - id: shared',
    '    vars: { user_name: Ana, question: Where is my order? }',
    '    assert: [{ type: icontains, value: hello }]',
    '  - id: acme-names',
    '    tenant: acme',
    '    vars: { user_name: Zed, question: Where is my order? }',
    '    assert: [{ type: mentions-var, value: user_name }]',
  ].join('\n'),
  { file: 'evals/tenants.eval.yaml' },
);

const provider = createProvider(SUITE.provider, { env: {} });
const acmeOverride = {
  version: 1,
  sha: 'f'.repeat(64),
  label: 'production',
  override: { slots: { style: 'Be brief.' } },
};
const base = { name: 'greeter', label: 'production', sha: promptSha(BASE), content: BASE };

describe('runSuite per tenant', () => {
  it('reads tenant: on a case and refuses a bad tenant id naming the case', () => {
    expect(SUITE.cases.map((c) => c.tenant ?? null)).toEqual([null, 'acme']);
    let error: PromptopsError | undefined;
    try {
      parseEvalSuiteFile(
        'prompt: greeter\nname: bad\ncases:\n  - id: ok\n    vars: {}\n  - id: wrong\n    tenant: "no spaces"\n    vars: {}\n',
        { file: 'evals/bad.eval.yaml' },
      );
    } catch (caught) {
      error = caught as PromptopsError;
    }
    expect(error?.code).toBe('invalid_eval_suite');
    expect(error?.message).toContain('cases[1].tenant');
    expect(error?.message).toContain('case "wrong"');
  });

  it('runs shared cases only for the shared prompt, and a tenant case against its effective prompt', async () => {
    const cache = createMemoryCache();
    const shared = await runSuite({ suite: SUITE, prompt: { content: BASE, version: 3 }, provider, cache });
    expect(shared.cases.map((c) => c.id)).toEqual(['shared']);
    expect(shared.tenant ?? null).toBeNull();
    expect(shared.prompt.sha).toBe(promptSha(BASE));

    const acme = tenantEffectivePrompt(base, 'acme', acmeOverride);
    expect(acme.sha).not.toBe(base.sha);
    const run = await runSuite({ suite: SUITE, prompt: { content: BASE, version: 3 }, provider, cache, tenant: acme });
    expect(run.cases.map((c) => c.id)).toEqual(['shared', 'acme-names']);
    expect(run.tenant).toEqual({ id: 'acme', effectiveSha: acme.sha, overrideSha: acmeOverride.sha });
    expect(run.prompt.sha).toBe(base.sha);
    // Acme's wording drops "greet by name": its own case fails, which the shared prompt would pass.
    expect(run.cases.find((c) => c.id === 'acme-names')?.pass, JSON.stringify(run.cases)).toBe(false);
    // The shared case is not served from the shared prompt's cached output: the key is the effective sha.
    expect(run.cases.find((c) => c.id === 'shared')?.cached).toBe(false);
    expect(run.stats.calls).toBe(2);

    // A tenant without an override on the label gets the shared prompt: the shared case's output is reused.
    const globex = tenantEffectivePrompt(base, 'globex', null);
    expect(globex.sha).toBe(base.sha);
    const plain = await runSuite({
      suite: SUITE,
      prompt: { content: BASE, version: 3 },
      provider,
      cache,
      tenant: globex,
    });
    expect(plain.cases.map((c) => c.id)).toEqual(['shared']);
    expect(plain.cases[0]?.cached).toBe(true);
    expect(plain.tenant).toEqual({ id: 'globex', effectiveSha: base.sha, overrideSha: null });
  });
});
