import { keyActorName, parseEvalSuiteFile, type EvalSuiteContent, type PromptContent } from '@promptops/core';
import { createProvider, runSuite } from '@promptops/evals';
import type { Actor, Clock } from '../context.js';
import { createEvalGate } from '../evals/gate.js';
import { createEvalService } from '../evals/service.js';
import type { ProjectRow, Storage } from '../storage/port.js';

/**
 * The taste test of the demo story: suite `greeter-basics` for `customer_support_greeter` (the same file
 * as `examples/evals/greeter-basics.eval.yaml`; a test keeps the two equal), run for real by the
 * `simulated` provider on v17 (it greets every customer by name: all pass) and on v18 (the "wording fix"
 * dropped "Always greet the user by name.": `mentions-var user_name` fails on every case, so every case
 * regresses from v17). The runs are recorded through the eval service, as an upload would be.
 */

const GREETER = 'customer_support_greeter';
export const DEMO_SUITE = 'greeter-basics';
const DAY_MS = 24 * 60 * 60 * 1000;

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
 * Pushes the suite and records the v17 and v18 runs, with the clock set to the days the story ran them:
 * v17's run before v18 was pushed, v18's before its promotion.
 */
export const seedDemoEvals = async (storage: Storage, project: ProjectRow, now: Date = new Date()): Promise<void> => {
  let at = now;
  const clock: Clock = { now: () => at };
  const evals = createEvalService(storage, clock, createEvalGate(storage));
  const actor: Actor = {
    projectId: project.id,
    projectName: project.name,
    role: 'reviewer',
    keyId: 'demo',
    stamp: 0,
    name: keyActorName('ci'),
    user: null,
  };
  const prompt = await storage.getPrompt(project.id, GREETER);
  if (prompt === undefined) throw new Error(`the demo has no prompt ${GREETER}`);
  const suite = demoSuite();
  const provider = createProvider(suite.provider, { env: {} });
  const runOn = async (version: number): Promise<void> => {
    const row = await storage.getVersionByNumber(prompt.id, version);
    if (row === undefined) throw new Error(`the demo has no ${GREETER} v${version}`);
    const { stats: _stats, ...run } = await runSuite({
      suite,
      prompt: { content: JSON.parse(row.content) as PromptContent, version },
      provider,
      cache: null,
      now: () => at,
    });
    await evals.recordRun(actor, run);
  };
  const steps: readonly [number, () => Promise<unknown>][] = [
    [5.5, () => evals.pushSuite(actor, { content: suite, message: 'greet customers by name, offer more help' })],
    [4.5, () => runOn(17)],
    [2.5, () => runOn(18)],
  ];
  for (const [daysAgo, step] of steps) {
    at = new Date(now.getTime() - daysAgo * DAY_MS);
    await step();
  }
};
