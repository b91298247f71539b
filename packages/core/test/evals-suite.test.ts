import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import {
  JUDGE_PROMPT_SHA,
  PromptopsError,
  caseHash,
  importPromptfooConfig,
  parseEvalSuiteContent,
  parseEvalSuiteFile,
  parseInlineEvalSuites,
  parseJudgeVerdict,
  parsePromptFile,
  suiteSha,
} from '../src/index.js';

const SUITE = `
name: greeter-basics
prompt: customer_support_greeter
provider: simulated
defaultTest:
  assert:
    - type: mentions-var
      value: user_name
cases:
  - id: alice
    vars: { user_name: Alice, question: Where is my order? }
    assert:
      - { type: icontains, value: order, weight: 2 }
dataset: data/more.jsonl
`;

const DATA: Record<string, string> = {
  'data/more.jsonl':
    '{"user_name":"Bob","question":"Hi?"}\n\n{"id":"carol","vars":{"user_name":"Carol","question":"Refund?"},"threshold":0.5}\n',
  'data/rows.csv': 'user_name,question,__expected,__id\nDan,"Hello, there?",contains: Dan,dan\nEve,Why?,plain text,\n',
};
const readDataset = (path: string): string => {
  const text = DATA[path];
  if (text === undefined) throw new Error(`ENOENT: ${path}`);
  return text;
};

const failure = (fn: () => unknown): PromptopsError => {
  try {
    fn();
  } catch (error) {
    if (error instanceof PromptopsError) return error;
    throw error;
  }
  throw new Error('expected a PromptopsError');
};

describe('eval suite files', () => {
  it('normalizes a suite: defaultTest folded in, datasets expanded, defaults filled', () => {
    const suite = parseEvalSuiteFile(SUITE, { file: 'evals/greeter.eval.yaml', readDataset });
    expect(suite.provider).toEqual({ id: 'simulated', model: 'simulated-1', params: {} });
    expect(suite.threshold).toBe(1);
    expect(suite.passRate).toBe(1);
    expect(suite.cases.map((c) => c.id)).toEqual(['alice', 'data/more.jsonl#1', 'carol']);
    expect(suite.cases[0]?.assert).toEqual([
      { type: 'mentions-var', value: 'user_name', weight: 1 },
      { type: 'icontains', value: 'order', weight: 2 },
    ]);
    expect(suite.cases[2]?.threshold).toBe(0.5);
    expect(parseEvalSuiteContent(JSON.parse(JSON.stringify(suite)))).toEqual(suite);
  });

  it('the sha ignores layout and key order; the case hash changes only with its case', () => {
    const a = parseEvalSuiteFile(SUITE, { file: 'a', readDataset });
    const reordered = parse(SUITE) as Record<string, unknown>;
    const b = parseEvalSuiteFile(JSON.stringify(Object.fromEntries(Object.entries(reordered).reverse())), {
      file: 'b',
      readDataset,
    });
    expect(suiteSha(b)).toBe(suiteSha(a));
    expect(suiteSha(a)).toMatch(/^[0-9a-f]{64}$/);
    const changed = parseEvalSuiteFile(SUITE.replace('Where is my order?', 'Where is my parcel?'), {
      file: 'c',
      readDataset,
    });
    expect(suiteSha(changed)).not.toBe(suiteSha(a));
    expect(caseHash(changed.cases[0]!)).not.toBe(caseHash(a.cases[0]!));
    expect(caseHash(changed.cases[1]!)).toBe(caseHash(a.cases[1]!));
  });

  it('reads CSV datasets with promptfoo special columns', () => {
    const suite = parseEvalSuiteFile('prompt: p\nname: s\ndataset: data/rows.csv\n', {
      file: 's.eval.yaml',
      readDataset,
    });
    expect(suite.cases).toEqual([
      {
        id: 'dan',
        vars: { user_name: 'Dan', question: 'Hello, there?' },
        assert: [{ type: 'contains', value: 'Dan', weight: 1 }],
      },
      {
        id: 'data/rows.csv#2',
        vars: { user_name: 'Eve', question: 'Why?' },
        assert: [{ type: 'equals', value: 'plain text', weight: 1 }],
      },
    ]);
  });

  it('names the file, the row and the field for a bad dataset row', () => {
    DATA['data/bad.jsonl'] = '{"vars":{"a":1},"assert":[{"type":"regex","value":"("}]}\nnot json\n';
    const error = failure(() =>
      parseEvalSuiteFile('prompt: p\nname: s\ndataset: data/bad.jsonl\n', { file: 'e.eval.yaml', readDataset }),
    );
    expect(error.message).toContain('e.eval.yaml');
    expect(error.issues?.map((i) => i.path)).toEqual(['data/bad.jsonl#2']);
    DATA['data/bad.jsonl'] = '{"vars":{"a":1},"assert":[{"type":"regex","value":"("}]}\n';
    const second = failure(() =>
      parseEvalSuiteFile('prompt: p\nname: s\ndataset: data/bad.jsonl\n', { file: 'e.eval.yaml', readDataset }),
    );
    expect(second.issues?.[0]?.path).toBe('data/bad.jsonl#1.assert[0].value');
    expect(second.issues?.[0]?.message).toContain('case "data/bad.jsonl#1"');
    const missing = failure(() =>
      parseEvalSuiteFile('prompt: p\nname: s\ndataset: nope.csv\n', { file: 'e.eval.yaml', readDataset }),
    );
    expect(missing.message).toContain('cannot read dataset nope.csv');
  });

  it('reports shape errors by field, with the fix', () => {
    const error = failure(() =>
      parseEvalSuiteFile('prompt: p\nname: s\nthreshhold: 1\ncases:\n  - id: a\n    vars: {}\n    asert: []\n', {
        file: 'x.eval.yaml',
      }),
    );
    expect(error.issues?.map((i) => i.path).sort()).toEqual(['cases[0].asert', 'threshhold']);
    expect(error.fix).toBeDefined();
    const dup = failure(() =>
      parseEvalSuiteFile('prompt: p\nname: s\ncases: [{id: a}, {id: a}]\n', { file: 'x.eval.yaml' }),
    );
    expect(dup.issues?.[0]).toMatchObject({ path: 'cases[1].id' });
    const provider = failure(() =>
      parseEvalSuiteFile('prompt: p\nname: s\nprovider: openia:gpt\ncases: [{id: a}]\n', { file: 'x' }),
    );
    expect(provider.issues?.[0]?.path).toBe('provider.id');
    const noPrompt = failure(() => parseEvalSuiteFile('name: s\ncases: [{id: a}]\n', { file: 'x' }));
    expect(noPrompt.issues?.[0]?.path).toBe('prompt');
    const defaults = failure(() =>
      parseEvalSuiteFile(
        'prompt: p\nname: s\ndefaultTest: { assert: [{ type: latency }] }\ncases: [{id: a}, {id: b}]\n',
        { file: 'x' },
      ),
    );
    expect(defaults.issues).toHaveLength(1);
    expect(defaults.issues?.[0]?.path).toBe('defaultTest.assert[0].threshold');
  });

  it('refuses an API key written into the suite', () => {
    const error = failure(() =>
      parseEvalSuiteFile('prompt: p\nname: s\nprovider: { id: openai, model: m, apiKey: sk-123 }\ncases: [{id: a}]\n', {
        file: 'x.eval.yaml',
      }),
    );
    expect(error.issues?.[0]?.path).toBe('provider.apiKey');
    expect(error.issues?.[0]?.message).toContain('apiKeyEnv');
    expect(error.message).not.toContain('sk-123');
  });

  it('parses provider shorthands', () => {
    const suite = (provider: string) =>
      parseEvalSuiteFile(`prompt: p\nname: s\nprovider: ${provider}\ncases: [{id: a}]\n`, { file: 'x' });
    expect(suite('openai:chat:gpt-4o-mini').provider).toEqual({ id: 'openai', model: 'gpt-4o-mini', params: {} });
    expect(suite('anthropic:messages:claude-3-5-haiku-latest').provider.model).toBe('claude-3-5-haiku-latest');
    expect(suite('{ id: openai, model: m, temperature: 0, baseUrl: "http://x/v1" }').provider).toEqual({
      id: 'openai',
      model: 'm',
      params: { temperature: 0, baseUrl: 'http://x/v1' },
    });
  });

  it('inline suites live under evals: in a prompt file and do not change its sha', () => {
    const prompt = 'type: text\nvariables: { user_name: string }\ntemplate: "Hi {{user_name}}"\n';
    const inline = `${prompt}evals:\n  cases:\n    - id: a\n      vars: { user_name: Ann }\n      assert: [{ type: mentions-var, value: user_name }]\n`;
    expect(parsePromptFile(inline, { file: 'p', defaultName: 'hi' })).toEqual(
      parsePromptFile(prompt, { file: 'p', defaultName: 'hi' }),
    );
    const suites = parseInlineEvalSuites(inline, { file: 'prompts/hi.prompt.yaml', promptName: 'hi' });
    expect(suites).toHaveLength(1);
    expect(suites[0]).toMatchObject({ name: 'hi', prompt: 'hi' });
    expect(parseInlineEvalSuites(prompt, { file: 'p', promptName: 'hi' })).toEqual([]);
    const bad = failure(() =>
      parseInlineEvalSuites(`${prompt}evals:\n  - cases: 3\n`, { file: 'prompts/hi.prompt.yaml', promptName: 'hi' }),
    );
    expect(bad.issues?.[0]?.path).toBe('evals[0].cases');
  });

  it('validates pushed content', () => {
    const error = failure(() =>
      parseEvalSuiteContent({
        name: 's',
        prompt: 'p',
        provider: { id: 'simulated', model: 'simulated-1', params: {} },
        threshold: 2,
        passRate: 1,
        cases: [],
      }),
    );
    expect(error.issues?.map((i) => i.path)).toEqual(['threshold', 'cases']);
  });
});

describe('judge verdicts', () => {
  it('reads JSON, fenced JSON and prose around JSON', () => {
    expect(parseJudgeVerdict('{"pass":true,"score":0.8,"reason":"ok"}')).toEqual({
      pass: true,
      score: 0.8,
      reason: 'ok',
    });
    expect(parseJudgeVerdict('Sure.\n```json\n{"score": 0.2}\n```')).toMatchObject({ pass: false, score: 0.2 });
    expect(parseJudgeVerdict('I think {"pass": true} indeed')).toMatchObject({ pass: true, score: 1 });
  });
  it('a reply without a verdict fails, quoting it', () => {
    expect(parseJudgeVerdict('looks good to me')).toMatchObject({ pass: false, score: 0 });
    expect(parseJudgeVerdict('looks good to me').reason).toContain('looks good');
    expect(JUDGE_PROMPT_SHA).toMatch(/^[0-9a-f]{64}$/);
  });
});

describe('promptfoo import', () => {
  const CONFIG = parse(`
description: Support bot
prompts:
  - file://prompts/support.txt
  - "Translate to French: {{ text }}"
providers:
  - id: openai:chat:gpt-4o-mini
    config: { temperature: 0.2, apiBaseUrl: "http://localhost:8000/v1" }
  - anthropic:messages:claude-3-5-haiku-latest
defaultTest:
  assert:
    - type: not-icontains
      value: as an AI
tests:
  - description: greets
    vars: { user_name: Alice, text: hello }
    assert:
      - type: icontains-any
        value: [Alice, alice]
        weight: 2
      - type: javascript
        value: output.length < 100
  - vars: { user_name: Bob, text: bye }
    threshold: 0.5
    assert:
      - type: similar
        value: Hello Bob
        threshold: 0.7
        metric: sim
`) as unknown;

  it('maps prompts, providers, defaultTest and tests to files that parse', () => {
    const result = importPromptfooConfig(CONFIG, { readFile: () => 'You help {{user_name}}.' });
    expect(result.prompts.map((p) => p.path)).toEqual(['support.prompt.yaml', 'prompt-2.prompt.yaml']);
    // One suite per prompt and provider.
    expect(result.suites.map((s) => s.path)).toEqual([
      'support-gpt-4o-mini.eval.yaml',
      'support-claude-3-5-haiku-latest.eval.yaml',
      'prompt-2-gpt-4o-mini.eval.yaml',
      'prompt-2-claude-3-5-haiku-latest.eval.yaml',
    ]);
    const prompt = parsePromptFile(result.prompts[0]!.text, { file: 'support.prompt.yaml', defaultName: 'support' });
    expect(prompt.config).toEqual({ provider: 'openai', model: 'gpt-4o-mini', params: { temperature: 0.2 } });
    // Declared: what the template reads; `text` goes to the other prompt only.
    expect(Object.keys(prompt.variables)).toEqual(['user_name']);
    const suite = parseEvalSuiteFile(result.suites[0]!.text, { file: 'support.eval.yaml' });
    expect(suite.provider).toEqual({
      id: 'openai',
      model: 'gpt-4o-mini',
      params: { temperature: 0.2, baseUrl: 'http://localhost:8000/v1' },
    });
    expect(suite.cases[0]).toMatchObject({
      id: 'case-1',
      description: 'greets',
      vars: { user_name: 'Alice' },
      assert: [
        { type: 'not-icontains', value: 'as an AI', weight: 1 },
        { type: 'icontains-any', value: ['Alice', 'alice'], weight: 2 },
      ],
    });
    expect(suite.cases[1]).toMatchObject({ threshold: 0.5 });
    const warnings = result.warnings.join('\n');
    expect(warnings).toMatch(/javascript.*no promptops counterpart/);
    expect(warnings).toMatch(/"metric" is not imported/);
    expect(warnings).toMatch(/support: text is read by neither its templates nor its assertions/);
  });

  it('refuses a config without prompts', () => {
    expect(() => importPromptfooConfig({ tests: [] })).toThrow(/prompts: no prompt can be imported/);
  });
});
