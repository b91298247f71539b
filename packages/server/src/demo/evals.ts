import {
  parseEvalSuiteFile,
  tenantEffectivePrompt,
  type EvalSuiteContent,
  type PromptContent,
  type PromptOverride,
} from '@promptops/core';
import { createProvider, runSuite } from '@promptops/evals';
import type { Actor, Clock } from '../context.js';
import { createEvalGate } from '../evals/gate.js';
import { createEvalService } from '../evals/service.js';
import type { EvalStores } from '../evals/service.js';
import type { ProjectRow } from '../registry/store.js';
import type { TenantReads } from '../tenants/store.js';

/**
 * The taste test of the demo story: suite `greeter-basics` for `customer_support_greeter` (the same file
 * as `examples/evals/greeter-basics.eval.yaml`; a test keeps the two equal), run for real by the
 * `simulated` provider on v17 (it greets every customer by name: all pass) and on v18 (the "wording fix"
 * dropped "Always greet the user by name.": `mentions-var user_name` fails on every case, so every case
 * regresses from v17). The runs are recorded through the eval service, as an upload would be, by bob.
 */

const GREETER = 'customer_support_greeter';
export const DEMO_SUITE = 'greeter-basics';

export const DEMO_SUITE_FILE = `# The greeter's taste test: every answer greets the user by name and ends with the closing phrase.
# With the simulated provider it passes on v17 and fails on v18 (the line "Always greet the user by
# name." removed): mentions-var user_name regresses on every case.
name: greeter-basics
prompt: customer_support_greeter
provider: simulated
defaultTest:
  assert:
    - type: mentions-var
      value: user_name
    - type: ends-with
      value: Is there anything else I can help with?
    - type: not-icontains
      value: as an AI
cases:
  - id: alice-password
    vars: { user_name: Alice, question: How do I reset my password? }
  - id: bob-refund
    vars: { user_name: Bob, question: Can I get a refund for my last order? }
    assert:
      - type: icontains
        value: refund
  - id: chen-shipping
    vars: { user_name: Chen, question: Where is my parcel? }
  - id: dana-invoice
    vars: { user_name: Dana, question: I need a copy of my invoice. }
    assert:
      - type: length
        value: { unit: words, max: 80 }
  - id: emeka-account
    vars: { user_name: Emeka, question: How do I close my account? }
`;

export const demoSuite = (): EvalSuiteContent =>
  parseEvalSuiteFile(DEMO_SUITE_FILE, { file: 'evals/greeter-basics.eval.yaml' });

/**
 * The suite push and the v17 and v18 runs, each with the day the story ran it (v17's run before v18 was
 * pushed, v18's before its promotion), for the seed to take in time order with the other steps: `clock`
 * is the seed's, set to each step's day.
 */
export const demoEvalSteps = (
  stores: EvalStores & { readonly tenants?: Pick<TenantReads, 'currentOverrides'> },
  project: ProjectRow,
  clock: Clock,
): { readonly daysAgo: number; readonly run: () => Promise<unknown> }[] => {
  const { push, runOn, runTenantsOn } = demoSuiteSteps(stores, project, clock, demoSuite());
  return [
    { daysAgo: 5.5, run: () => push('greet customers by name, offer more help') },
    { daysAgo: 4.5, run: () => runOn(17) },
    { daysAgo: 2.5, run: () => runOn(18) },
    // Once tenants have overrides on production (demo/tenants.ts), moving production checks each tenant's
    // effective prompt too: bob runs the suite for them on both versions, as `eval --against production` does.
    { daysAgo: 0.2, run: () => runTenantsOn([17, 18], 'production') },
  ];
};

/** bob, a reviewer: recording results is `evals:write`. */
export const demoBob = (project: ProjectRow): Actor => ({
  projectId: project.id,
  projectName: project.name,
  role: 'reviewer',
  keyId: 'demo',
  stamp: 0,
  name: 'bob',
  user: 'bob',
});

/** Pushing a demo suite and running it on a greeter version, by bob, through the real eval service. */
export const demoSuiteSteps = (
  stores: EvalStores & { readonly tenants?: Pick<TenantReads, 'currentOverrides'> },
  project: ProjectRow,
  clock: Clock,
  suite: EvalSuiteContent,
): {
  readonly push: (message: string) => Promise<unknown>;
  readonly runOn: (version: number) => Promise<void>;
  readonly runTenantsOn: (versions: readonly number[], label: string) => Promise<void>;
} => {
  const evals = createEvalService(stores, clock, createEvalGate(stores.evals));
  const actor = demoBob(project);
  const provider = createProvider(suite.provider, { env: {} });
  const versionOf = async (version: number) => {
    const prompt = await stores.registry.getPrompt(project.id, GREETER);
    const row = prompt && (await stores.registry.getVersionByNumber(prompt.id, version));
    if (prompt === undefined || row === undefined) throw new Error(`the demo has no ${GREETER} v${version}`);
    return { promptId: prompt.id, sha: row.sha, content: JSON.parse(row.content) as PromptContent };
  };
  return {
    push: (message) => evals.pushSuite(actor, { content: suite, message }),
    async runOn(version) {
      const { content } = await versionOf(version);
      const { stats: _stats, ...run } = await runSuite({
        suite,
        prompt: { content, version },
        provider,
        cache: null,
        now: () => clock.now(),
      });
      await evals.recordRun(actor, run);
    },
    /** The suite on each tenant's effective prompt of each version, for the overrides following `label`. */
    async runTenantsOn(versions, label) {
      if (stores.tenants === undefined) return;
      for (const version of versions) {
        const { promptId, sha, content } = await versionOf(version);
        const overrides = (await stores.tenants.currentOverrides(promptId)).filter(
          (o) => o.label === label && o.baseSha === null,
        );
        for (const o of overrides) {
          const entry = { ...o, override: JSON.parse(o.content) as PromptOverride };
          const tenant = tenantEffectivePrompt({ name: GREETER, label, sha, content }, o.tenant, entry);
          const { stats: _stats, ...run } = await runSuite({
            suite,
            prompt: { content, version },
            tenant,
            provider,
            cache: null,
            now: () => clock.now(),
          });
          await evals.recordRun(actor, run);
        }
      }
    },
  };
};
