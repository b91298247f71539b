import { describe, expect, it } from 'vitest';
import {
  ASSERTION_TYPES,
  PromptopsError,
  parseEvalSuiteFile,
  runAssertion,
  scoreCase,
  type AssertionContext,
  type EvalAssertion,
} from '../src/index.js';

const ctx = (output: string, extra: Partial<AssertionContext> = {}): AssertionContext => ({
  output,
  vars: { user_name: 'Alice', question: 'How do I reset my password?' },
  latencyMs: 120,
  cost: 0.0004,
  ...extra,
});

interface Row {
  readonly assertion: Omit<EvalAssertion, 'weight'>;
  readonly pass: AssertionContext;
  readonly fail: AssertionContext;
  /** A malformed configuration and the field the error must name. */
  readonly malformed: { readonly assertion: Record<string, unknown>; readonly field: string };
}

const schema = { type: 'object', required: ['answer'], properties: { answer: { type: 'string' } } };

const ROWS: Record<string, Row> = {
  equals: {
    assertion: { type: 'equals', value: 'Hello' },
    pass: ctx('Hello'),
    fail: ctx('Hello!'),
    malformed: { assertion: { type: 'equals' }, field: 'value' },
  },
  contains: {
    assertion: { type: 'contains', value: 'Alice' },
    pass: ctx('Hi Alice'),
    fail: ctx('Hi alice'),
    malformed: { assertion: { type: 'contains', value: '' }, field: 'value' },
  },
  icontains: {
    assertion: { type: 'icontains', value: 'ALICE' },
    pass: ctx('Hi alice'),
    fail: ctx('Hi Bob'),
    malformed: { assertion: { type: 'icontains', value: { a: 1 } }, field: 'value' },
  },
  'contains-any': {
    assertion: { type: 'contains-any', value: ['refund', 'return'] },
    pass: ctx('You can return it'),
    fail: ctx('No Return'),
    malformed: { assertion: { type: 'contains-any', value: [] }, field: 'value' },
  },
  'contains-all': {
    assertion: { type: 'contains-all', value: 'Alice, password' },
    pass: ctx('Alice, your password'),
    fail: ctx('Alice, hello'),
    malformed: { assertion: { type: 'contains-all', value: 42 }, field: 'value' },
  },
  'icontains-any': {
    assertion: { type: 'icontains-any', value: ['REFUND', 'RETURN'] },
    pass: ctx('a refund'),
    fail: ctx('nothing'),
    malformed: { assertion: { type: 'icontains-any' }, field: 'value' },
  },
  'icontains-all': {
    assertion: { type: 'icontains-all', value: ['a', 'B'] },
    pass: ctx('A b'),
    fail: ctx('A c'),
    malformed: { assertion: { type: 'icontains-all', value: [{}] }, field: 'value' },
  },
  'starts-with': {
    assertion: { type: 'starts-with', value: 'Hello' },
    pass: ctx('Hello there'),
    fail: ctx('Oh, Hello'),
    malformed: { assertion: { type: 'starts-with' }, field: 'value' },
  },
  'ends-with': {
    assertion: { type: 'ends-with', value: 'help with?' },
    pass: ctx('Anything else I can help with?\n'),
    fail: ctx('Anything else I can help with'),
    malformed: { assertion: { type: 'ends-with', value: null }, field: 'value' },
  },
  regex: {
    assertion: { type: 'regex', value: '^hello\\b', options: { flags: 'i' } },
    pass: ctx('Hello, Alice'),
    fail: ctx('Well hello'),
    malformed: { assertion: { type: 'regex', value: '(unclosed' }, field: 'value' },
  },
  'is-json': {
    assertion: { type: 'is-json' },
    pass: ctx('{"a":1}'),
    fail: ctx('{a:1}'),
    malformed: { assertion: { type: 'is-json', value: 'not a schema' }, field: 'value' },
  },
  'json-schema': {
    assertion: { type: 'json-schema', value: schema },
    pass: ctx('{"answer":"yes"}'),
    fail: ctx('{"answer":3}'),
    malformed: { assertion: { type: 'json-schema', value: { type: 'no-such-type' } }, field: 'value' },
  },
  length: {
    assertion: { type: 'length', value: { unit: 'words', min: 2, max: 4 } },
    pass: ctx('one two three'),
    fail: ctx('one two three four five'),
    malformed: { assertion: { type: 'length', value: { min: 5, max: 2 } }, field: 'value' },
  },
  'mentions-var': {
    assertion: { type: 'mentions-var', value: 'user_name' },
    pass: ctx('Hello, alice!'),
    fail: ctx('Hello!'),
    malformed: { assertion: { type: 'mentions-var', value: 'no such-name' }, field: 'value' },
  },
  similar: {
    assertion: { type: 'similar', value: 'reset your password from the login page', threshold: 0.6 },
    pass: ctx('Reset your password from the login page.'),
    fail: ctx('Our office is closed on Sundays.'),
    malformed: { assertion: { type: 'similar', value: 'x', threshold: 2 }, field: 'threshold' },
  },
  latency: {
    assertion: { type: 'latency', threshold: 500 },
    pass: ctx('x', { latencyMs: 499 }),
    fail: ctx('x', { latencyMs: 501 }),
    malformed: { assertion: { type: 'latency' }, field: 'threshold' },
  },
  cost: {
    assertion: { type: 'cost', threshold: 0.001 },
    pass: ctx('x', { cost: 0.0005 }),
    fail: ctx('x', { cost: 0.002 }),
    malformed: { assertion: { type: 'cost', threshold: -1 }, field: 'threshold' },
  },
  'llm-rubric': {
    assertion: { type: 'llm-rubric', value: 'greets the user by name' },
    pass: ctx('Hello Alice', { verdict: { pass: true, score: 0.9, reason: 'uses the name' } }),
    fail: ctx('Hello', { verdict: { pass: false, score: 0.1, reason: 'no name' } }),
    malformed: { assertion: { type: 'llm-rubric', value: '  ' }, field: 'value' },
  },
};

const suiteWith = (assertion: Record<string, unknown>): string =>
  JSON.stringify({
    prompt: 'customer_support_greeter',
    cases: [
      { id: 'fine', vars: { user_name: 'Bob' }, assert: [{ type: 'contains', value: 'Bob' }] },
      { id: 'broken-case', vars: { user_name: 'Alice' }, assert: [{ type: 'contains', value: 'x' }, assertion] },
    ],
  });

describe('assertions', () => {
  it('covers every base type in the table', () => {
    const bases = ASSERTION_TYPES.filter((t) => !t.startsWith('not-'));
    expect(Object.keys(ROWS).sort()).toEqual([...bases].sort());
  });

  for (const [type, row] of Object.entries(ROWS)) {
    describe(type, () => {
      it('passes', () => {
        const result = runAssertion({ ...row.assertion, weight: 1 }, row.pass);
        expect(result, result.reason).toMatchObject({ type, pass: true, weight: 1 });
        expect(result.score).toBeGreaterThan(0);
      });
      it('fails with a reason naming what was expected and what came', () => {
        const result = runAssertion({ ...row.assertion, weight: 2 }, row.fail);
        expect(result.pass).toBe(false);
        expect(result.weight).toBe(2);
        expect(result.reason).toMatch(/^expected /);
        expect(result.score).toBeLessThan(1);
      });
      it('refuses a malformed configuration, naming the file, the case and the field', () => {
        let error: unknown;
        try {
          parseEvalSuiteFile(suiteWith(row.malformed.assertion), { file: 'evals/greeter.eval.yaml', defaultName: 'g' });
        } catch (caught) {
          error = caught;
        }
        expect(error).toBeInstanceOf(PromptopsError);
        const e = error as PromptopsError;
        expect(e.code).toBe('invalid_eval_suite');
        expect(e.message).toContain('evals/greeter.eval.yaml');
        expect(e.message).toContain('case "broken-case"');
        expect(e.issues?.map((i) => i.path)).toContain(`cases[1].assert[1].${row.malformed.field}`);
      });
    });
  }

  it('not- variants invert pass and score', () => {
    const result = runAssertion({ type: 'not-contains', value: 'sorry', weight: 1 }, ctx('Sorry!'));
    expect(result.pass).toBe(true);
    const failed = runAssertion({ type: 'not-icontains', value: 'sorry', weight: 1 }, ctx('Sorry!'));
    expect(failed).toMatchObject({ pass: false, score: 0 });
    expect(failed.reason).toContain('opposite');
  });

  it('refuses unknown types and not- of latency, cost and llm-rubric', () => {
    for (const type of ['contain', 'not-latency', 'not-cost', 'not-llm-rubric']) {
      expect(() =>
        parseEvalSuiteFile(suiteWith({ type, threshold: 1 }), { file: 'f.eval.yaml', defaultName: 'g' }),
      ).toThrow(/unknown assertion type/);
    }
  });

  it('mentions-var fails when the case lacks the variable, at parse time', () => {
    expect(() =>
      parseEvalSuiteFile(suiteWith({ type: 'mentions-var', value: 'question' }), {
        file: 'f.eval.yaml',
        defaultName: 'g',
      }),
    ).toThrow(/no variable "question"/);
  });

  it('llm-rubric with a threshold follows the judge score', () => {
    const verdict = { pass: true, score: 0.6, reason: 'ok' };
    expect(runAssertion({ type: 'llm-rubric', value: 'r', threshold: 0.7 }, ctx('x', { verdict })).pass).toBe(false);
    expect(runAssertion({ type: 'llm-rubric', value: 'r', threshold: 0.5 }, ctx('x', { verdict })).pass).toBe(true);
  });
});

describe('scoreCase', () => {
  const r = (pass: boolean, score: number, weight = 1) => ({ type: 't', pass, score, weight, reason: '' });
  it('without a threshold (1) every weighted assertion must pass', () => {
    expect(scoreCase([r(true, 1), r(true, 0.8)], 1)).toEqual({ pass: true, score: 0.9 });
    expect(scoreCase([r(true, 1), r(false, 0)], 1).pass).toBe(false);
    expect(scoreCase([r(true, 1), r(false, 0, 0)], 1)).toEqual({ pass: true, score: 1 });
  });
  it('with a threshold the weighted score decides', () => {
    expect(scoreCase([r(true, 1, 3), r(false, 0, 1)], 0.75)).toEqual({ pass: true, score: 0.75 });
    expect(scoreCase([r(true, 1, 1), r(false, 0, 1)], 0.75)).toEqual({ pass: false, score: 0.5 });
  });
  it('no assertions is a pass with score 1', () => {
    expect(scoreCase([], 1)).toEqual({ pass: true, score: 1 });
  });
});

describe('assertion values with variables', () => {
  it('renders {{var}} in string and list values with the case variables', () => {
    expect(runAssertion({ type: 'icontains', value: '{{user_name}}' }, ctx('hello alice')).pass).toBe(true);
    expect(runAssertion({ type: 'contains-any', value: ['{{user_name}}', 'Bob'] }, ctx('Hi Bob')).pass).toBe(true);
    expect(runAssertion({ type: 'contains', value: '{{user_name}}' }, ctx('Hi Bob')).reason).toContain('"Alice"');
  });
});
