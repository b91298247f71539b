import type { AssertionResult, EvalCaseResult, EvalRunInput, EvalSuiteContent } from '@promptops/core';

/** Suites and runs for tests: a runner's upload, with assertions checked by two tiny stand-ins. */

export const greeterSuite = (
  overrides: Partial<EvalSuiteContent> = {},
  names: readonly string[] = ['ana', 'bo', 'chen'],
): EvalSuiteContent => ({
  name: 'greeter-basics',
  prompt: 'greeter',
  provider: { id: 'simulated', model: 'simulated-1', params: {} },
  threshold: 1,
  passRate: 1,
  cases: names.map((name) => ({
    id: `greets-${name}`,
    vars: { user_name: name },
    assert: [
      { type: 'mentions-var', value: 'user_name' },
      { type: 'icontains', value: 'anything else' },
    ],
  })),
  ...overrides,
});

const check = (type: string, value: unknown, output: string, vars: Record<string, unknown>): AssertionResult => {
  const expected = type === 'mentions-var' ? String(vars[String(value)]) : String(value);
  const pass = output.toLowerCase().includes(expected.toLowerCase());
  return {
    type,
    pass,
    score: pass ? 1 : 0,
    weight: 1,
    reason: pass ? `output contains "${expected}"` : `expected "${expected}" in the output, got "${output}"`,
  };
};

/** A run of `suite` on a prompt version, with one output per case id (default: greets by name). */
export const runInput = (
  suite: EvalSuiteContent,
  suiteSha: string,
  prompt: { sha: string; version: number | null },
  output: (vars: Record<string, unknown>, id: string) => string = (vars) =>
    `Hi ${String(vars['user_name'])}! Is there anything else I can help with?`,
): EvalRunInput => ({
  suite: { name: suite.name, sha: suiteSha },
  prompt: { name: suite.prompt, sha: prompt.sha, version: prompt.version },
  provider: suite.provider,
  startedAt: '2025-01-31T12:00:00.000Z',
  durationMs: 42,
  cases: suite.cases.map((c): EvalCaseResult => {
    const text = output(c.vars, c.id);
    const assertions = c.assert.map((a) => check(a.type, a.value, text, c.vars));
    const score = assertions.filter((a) => a.pass).length / Math.max(assertions.length, 1);
    return {
      id: c.id,
      caseHash: 'a'.repeat(64),
      vars: c.vars,
      output: text,
      error: null,
      pass: score >= 1,
      score,
      assertions,
      latencyMs: 12,
      usage: { inputTokens: 20, outputTokens: 10 },
      cost: 0.0001,
      cached: false,
    };
  }),
});
