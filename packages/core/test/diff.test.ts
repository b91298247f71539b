import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalJson, diffFields, diffPrompts, promptBody, type PromptContent } from '../src/index.js';
import { promptContentArb, seededRandom, shuffleKeys } from './arbitraries.js';
import { greeterV17, greeterV18, textContent } from './helpers.js';

describe('diffPrompts: the v17 -> v18 story', () => {
  const diff = diffPrompts(greeterV17(), greeterV18(), { from: 'v17', to: 'v18' });

  it('shows exactly one removed line and nothing added', () => {
    expect(diff.identical).toBe(false);
    expect(diff.lines.filter((line) => line.op === 'remove')).toEqual([
      { op: 'remove', text: 'Always greet the user by name.' },
    ]);
    expect(diff.lines.filter((line) => line.op === 'add')).toEqual([]);
    expect(diff.fields).toEqual([]);
  });

  it('keeps the other lines as context, in order', () => {
    expect(diff.lines).toEqual([
      { op: 'equal', text: '### messages[0] system' },
      { op: 'equal', text: 'You are a helpful support agent.' },
      { op: 'remove', text: 'Always greet the user by name.' },
      { op: 'equal', text: 'Always end with "Is there anything else I can help with?"' },
      { op: 'equal', text: '### messages[1] user' },
      { op: 'equal', text: '{{user_name}} asks: {{question}}' },
    ]);
  });

  it('gives a unified patch with the removed line', () => {
    const lines = diff.unified.split('\n');
    expect(lines).toContain('--- v17');
    expect(lines).toContain('+++ v18');
    expect(lines).toContain('-Always greet the user by name.');
    expect(lines.filter((line) => line.startsWith('-') && !line.startsWith('---'))).toEqual([
      '-Always greet the user by name.',
    ]);
    expect(lines.filter((line) => line.startsWith('+') && !line.startsWith('+++'))).toEqual([]);
    expect(diff.unified).toMatch(/^@@ -1,6 \+1,5 @@$/m);
  });
});

describe('diffPrompts: fields', () => {
  it('reports a config change as config.params.temperature, with from and to', () => {
    const v17 = greeterV17();
    const warmer: PromptContent = { ...v17, config: { ...v17.config, params: { temperature: 0.5 } } };
    const diff = diffPrompts(v17, warmer);
    expect(diff.fields).toEqual([{ path: 'config.params.temperature', from: 0.2, to: 0.5 }]);
    expect(diff.lines.every((line) => line.op === 'equal')).toBe(true);
    expect(diff.identical).toBe(false);
  });

  it('reports added and removed fields without the missing side', () => {
    const v17 = greeterV17();
    const changed: PromptContent = {
      ...v17,
      config: { provider: 'anthropic', params: { temperature: 0.2, max_tokens: 200 } },
      variables: { ...v17.variables, tone: { type: 'string', required: false, default: 'warm' } },
    };
    expect(diffFields(v17, changed)).toEqual([
      { path: 'config.model', from: 'gpt-4o-mini' },
      { path: 'config.params.max_tokens', to: 200 },
      { path: 'config.provider', from: 'openai', to: 'anthropic' },
      { path: 'variables.tone.default', to: 'warm' },
      { path: 'variables.tone.required', to: false },
      { path: 'variables.tone.type', to: 'string' },
    ]);
  });

  it("reports a variable's type change and the prompt name", () => {
    const v17 = greeterV17();
    const changed: PromptContent = {
      ...v17,
      name: 'support/greeter',
      variables: { ...v17.variables, question: { type: 'any', required: true } },
    };
    expect(diffFields(v17, changed)).toEqual([
      { path: 'name', from: 'customer_support_greeter', to: 'support/greeter' },
      { path: 'variables.question.type', from: 'string', to: 'any' },
    ]);
  });

  it('compares values, not key order or object identity', () => {
    const a = textContent('x', { config: { params: { stop: { b: 1, a: [1, 2] } } } });
    const b = textContent('x', { config: { params: { stop: { a: [1, 2], b: 1 } } } });
    expect(diffFields(a, b)).toEqual([]);
    const c = textContent('x', { config: { params: { stop: { b: 1, a: [2, 1] } } } });
    expect(diffFields(a, c)).toEqual([{ path: 'config.params.stop.a', from: [1, 2], to: [2, 1] }]);
  });
});

describe('diffPrompts: lines', () => {
  it('gives word-level parts for a line replaced by one line', () => {
    const diff = diffPrompts(
      textContent('Greet the user by name.\nBe brief.\n'),
      textContent('Greet the customer by name.\nBe brief.\n'),
    );
    const removed = diff.lines.find((line) => line.op === 'remove');
    const added = diff.lines.find((line) => line.op === 'add');
    expect(removed).toEqual({
      op: 'remove',
      text: 'Greet the user by name.',
      words: [
        { op: 'equal', text: 'Greet the ' },
        { op: 'remove', text: 'user' },
        { op: 'equal', text: ' by name.' },
      ],
    });
    expect(added).toEqual({
      op: 'add',
      text: 'Greet the customer by name.',
      words: [
        { op: 'equal', text: 'Greet the ' },
        { op: 'add', text: 'customer' },
        { op: 'equal', text: ' by name.' },
      ],
    });
    expect(diff.lines.at(-1)).toEqual({ op: 'equal', text: 'Be brief.' });
  });

  it('pairs several replaced lines one to one, and gives no word parts when the counts differ', () => {
    const pairs = diffPrompts(textContent('a b\nc d\nkeep\n'), textContent('a x\ny d\nkeep\n'));
    expect(pairs.lines.filter((line) => line.words !== undefined)).toHaveLength(4);
    const uneven = diffPrompts(textContent('one\nkeep\n'), textContent('two\nthree\nkeep\n'));
    expect(uneven.lines.filter((line) => line.op !== 'equal')).toEqual([
      { op: 'remove', text: 'one' },
      { op: 'add', text: 'two' },
      { op: 'add', text: 'three' },
    ]);
  });

  it('shows a role change and a slot change in the body', () => {
    const v17 = greeterV17();
    if (v17.type !== 'chat') throw new Error('the greeter is a chat prompt');
    const changed: PromptContent = {
      ...v17,
      messages: [{ ...v17.messages[0]!, role: 'developer' }, v17.messages[1]!],
      slots: { signature: '-- Support' },
    };
    const diff = diffPrompts(v17, changed);
    expect(diff.lines.filter((line) => line.op !== 'equal').map((line) => `${line.op} ${line.text}`)).toEqual([
      'remove ### messages[0] system',
      'add ### messages[0] developer',
      'add ### slot signature',
      'add -- Support',
    ]);
  });

  it('writes the body as one section per message and per slot, slots sorted', () => {
    expect(promptBody(textContent('T', { slots: { b: 'B\n', a: 'A' } }))).toBe('T\n### slot a\nA\n### slot b\nB\n');
    expect(promptBody(greeterV18())).toBe(
      '### messages[0] system\nYou are a helpful support agent.\nAlways end with "Is there anything else I can help with?"\n' +
        '### messages[1] user\n{{user_name}} asks: {{question}}\n',
    );
  });
});

describe('diffPrompts: identical', () => {
  it('is identical, with no changes, for the same content in any key order', () => {
    fc.assert(
      fc.property(promptContentArb(), fc.integer(), (content, seed) => {
        const diff = diffPrompts(content, shuffleKeys(content, seededRandom(seed)) as PromptContent);
        expect(diff.identical).toBe(true);
        expect(diff.fields).toEqual([]);
        expect(diff.lines.every((line) => line.op === 'equal')).toBe(true);
        expect(diff.unified).not.toMatch(/^@@/m);
      }),
    );
  });

  it('is not identical when contents differ', () => {
    fc.assert(
      fc.property(promptContentArb(), promptContentArb(), (a, b) => {
        fc.pre(canonicalJson(a) !== canonicalJson(b));
        expect(diffPrompts(a, b).identical).toBe(false);
      }),
    );
  });

  it('is not identical when only a final newline differs (the body text alone cannot tell)', () => {
    expect(diffPrompts(textContent('hello'), textContent('hello\n')).identical).toBe(false);
    expect(diffPrompts(textContent('hello'), textContent('hello')).identical).toBe(true);
  });
});
