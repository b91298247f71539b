import {
  contentSha,
  type AssertionResult,
  type EvalCase,
  type EvalCaseResult,
  type EvalRunInput,
  type EvalSuiteContent,
} from '@promptops/core';
import type { Actor, Clock } from '../context.js';
import { createEvalGate } from '../evals/gate.js';
import { createEvalService } from '../evals/service.js';
import type { ProjectRow, Storage } from '../storage/port.js';

/**
 * The taste test of the demo story: suite `greeter-basics` for `customer_support_greeter`, with a run on
 * v17 (every case greets the customer by name: all pass) and one on v18 (the "wording fix" dropped
 * "Always greet the user by name.": `mentions-var user_name` fails on every case, so every case
 * regresses from v17). The outputs are fixed texts that follow each version's instructions, computed
 * here deterministically; the assertions are checked by the two small functions below.
 */

const GREETER = 'customer_support_greeter';
export const DEMO_SUITE = 'greeter-basics';
const DAY_MS = 24 * 60 * 60 * 1000;

const CUSTOMERS: readonly { id: string; user_name: string; question: string; answer: string }[] = [
  {
    id: 'password-reset',
    user_name: 'Maria',
    question: 'How do I reset my password?',
    answer: 'Use "Forgot password" on the sign-in page and follow the link we email you.',
  },
  {
    id: 'refund-status',
    user_name: 'Kenji',
    question: 'Where is my refund?',
    answer: 'Refunds reach your card 5 to 7 business days after we approve them.',
  },
  {
    id: 'shipping-time',
    user_name: 'Amara',
    question: 'How long does shipping take?',
    answer: 'Standard shipping takes 3 to 5 business days.',
  },
  {
    id: 'cancel-plan',
    user_name: 'Luis',
    question: 'How do I cancel my plan?',
    answer: 'Open Settings, then Billing, and choose "Cancel plan".',
  },
];

const CLOSING = 'Is there anything else I can help with?';

export const demoSuite = (): EvalSuiteContent => ({
  name: DEMO_SUITE,
  prompt: GREETER,
  provider: { id: 'simulated', model: 'simulated', params: {} },
  threshold: 1,
  passRate: 1,
  cases: CUSTOMERS.map((c): EvalCase => ({
    id: c.id,
    vars: { user_name: c.user_name, question: c.question },
    assert: [
      { type: 'mentions-var', value: 'user_name' },
      { type: 'icontains', value: 'anything else I can help with' },
    ],
  })),
});

/** What each version answers: v17 greets by name, v18 does not; both close with the offer to help. */
const outputOf = (version: 17 | 18, customer: (typeof CUSTOMERS)[number]): string =>
  version === 17 ? `Hi ${customer.user_name}! ${customer.answer} ${CLOSING}` : `Hello! ${customer.answer} ${CLOSING}`;

const assertOne = (type: string, value: string, output: string, vars: Record<string, unknown>): AssertionResult => {
  const expected = type === 'mentions-var' ? String(vars[value]) : value;
  const pass = output.toLowerCase().includes(expected.toLowerCase());
  const what = type === 'mentions-var' ? `the value of {{${value}}} ("${expected}")` : `"${expected}"`;
  return {
    type,
    pass,
    score: pass ? 1 : 0,
    weight: 1,
    reason: pass ? `output contains ${what}` : `expected ${what} in the output, got "${output}"`,
  };
};

const runOf = (suite: EvalSuiteContent, version: 17 | 18, sha: string, startedAt: Date): EvalRunInput => ({
  suite: { name: suite.name, sha: contentSha(suite) },
  prompt: { name: GREETER, sha, version },
  provider: suite.provider,
  startedAt: startedAt.toISOString(),
  durationMs: 38,
  cases: suite.cases.map((c, index): EvalCaseResult => {
    const customer = CUSTOMERS[index]!;
    const output = outputOf(version, customer);
    const assertions = c.assert.map((a) => assertOne(a.type, String(a.value), output, c.vars));
    const score = assertions.reduce((sum, a) => sum + a.score, 0) / assertions.length;
    return {
      id: c.id,
      caseHash: contentSha({ vars: c.vars, assert: c.assert, threshold: c.threshold ?? null }),
      vars: c.vars,
      output,
      error: null,
      pass: score >= suite.threshold,
      score,
      assertions,
      latencyMs: 0,
      usage: { inputTokens: 60 + index, outputTokens: output.split(' ').length },
      cost: 0,
      cached: false,
    };
  }),
});

/**
 * Pushes the suite and records the v17 and v18 runs through the eval service (as the API would), with
 * the clock set to the days the story ran them: v17's run before v18 was pushed, v18's before its promotion.
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
    name: 'ci',
    user: null,
  };
  const prompt = await storage.getPrompt(project.id, GREETER);
  if (prompt === undefined) throw new Error(`the demo has no prompt ${GREETER}`);
  const shaOf = async (version: number): Promise<string> => {
    const row = await storage.getVersionByNumber(prompt.id, version);
    if (row === undefined) throw new Error(`the demo has no ${GREETER} v${version}`);
    return row.sha;
  };
  const suite = demoSuite();
  const steps: readonly [number, () => Promise<unknown>][] = [
    [5.5, () => evals.pushSuite(actor, { content: suite, message: 'greet customers by name, offer more help' })],
    [4.5, async () => evals.recordRun(actor, runOf(suite, 17, await shaOf(17), at))],
    [2.5, async () => evals.recordRun(actor, runOf(suite, 18, await shaOf(18), at))],
  ];
  for (const [daysAgo, step] of steps) {
    at = new Date(now.getTime() - daysAgo * DAY_MS);
    await step();
  }
};
