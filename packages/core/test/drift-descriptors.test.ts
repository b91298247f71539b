import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { DRIFT_DESCRIPTORS, describeOutput, endingPhrase, openingPhrase, pairSimilarity } from '@promptops/core/drift';
import { normalizeText } from '../src/evals/similarity.js';

describe('output descriptors', () => {
  it('measures length, mentions, format and phrasing of one output', () => {
    const d = describeOutput(
      { output: 'Hello, Ann!\n\n## Steps\n- open the app\n- tap Orders\n\nLet me know if anything else comes up.' },
      { vars: { user_name: 'ann', order_id: 'A-17', count: 3, nested: { x: 1 } } },
    );
    expect(d['length.chars']).toBe(89);
    expect(d['length.words']).toBe(19);
    expect(d['mentions.user_name']).toBe(true); // case-insensitive, as the mentions-var assertion
    expect(d['mentions.order_id']).toBe(false);
    expect(d['mentions.count']).toBe(false);
    expect(d).not.toHaveProperty('mentions.nested'); // only text and numbers are looked for
    expect(d['format.list']).toBe(true);
    expect(d['format.heading']).toBe(true);
    expect(d['format.code']).toBe(false);
    expect(d['json.valid']).toBe(false);
    expect(d).not.toHaveProperty('json.schema'); // no schema configured
    expect(d.refusal).toBe(false);
    expect(d.opening).toBe('greeting');
    expect(d.ending).toBe('offer');
    expect(d).not.toHaveProperty('tokens');
    expect(d).not.toHaveProperty('latency');
  });

  it('counts characters as code points, and takes tokens, latency and assertion results when given', () => {
    const d = describeOutput(
      { output: 'Grüße 👋', tokens: 12, latencyMs: 840, assertions: { polite: true, 'under-50-words': false } },
      {},
    );
    expect(d['length.chars']).toBe(7);
    expect(d.tokens).toBe(12);
    expect(d.latency).toBe(840);
    expect(d['assertion.polite']).toBe(true);
    expect(d['assertion.under-50-words']).toBe(false);
  });

  it('checks JSON validity and, given a schema, schema validity', () => {
    const schema = { type: 'object', required: ['answer'] };
    expect(describeOutput({ output: ' {"answer": "yes"} ' }, { jsonSchema: schema })).toMatchObject({
      'json.valid': true,
      'json.schema': true,
      opening: 'json',
    });
    expect(describeOutput({ output: '{"reply": 1}' }, { jsonSchema: schema })['json.schema']).toBe(false);
    expect(describeOutput({ output: 'answer: yes' }, { jsonSchema: schema })['json.schema']).toBe(false);
  });

  it.each([
    ["I'm sorry, but I can't help with that request.", true],
    ['I cannot provide medical advice.', true],
    ['As an AI language model, I do not have opinions.', true],
    ['I am unable to access your account.', true],
    ['I’m not able to share that.', true],
    ['Sure, I can help with that.', false],
    ["Sorry for the wait! Here's your order status.", false],
  ])('refusal-like: %s → %s', (output, refusal) => {
    expect(describeOutput({ output }, {}).refusal).toBe(refusal);
  });

  it.each([
    ['Hi there, Ann!', 'greeting'],
    ['Good morning! Your order shipped.', 'greeting'],
    ['Thanks for reaching out.', 'thanks'],
    ['Unfortunately the order is late.', 'apology'],
    ['Certainly, here it is.', 'affirmation'],
    ["I can't do that.", 'refusal'],
    ['Could you share your order number?', 'question'],
    ['```js\nx()\n```', 'code'],
    ['# Title', 'heading'],
    ['', 'empty'],
    ['The order shipped yesterday.', 'other'],
  ])('opening of %j is %s', (output, expected) => {
    expect(openingPhrase(output)).toBe(expected);
  });

  it.each([
    ['Is there anything else I can help with?', 'question'],
    ['Hope this helps.', 'offer'],
    ['Thank you for your patience.', 'thanks'],
    ['Best regards,\nSupport', 'sign-off'],
    ['{"a": 1}', 'json'],
    ['The order shipped yesterday.', 'other'],
  ])('ending of %j is %s', (output, expected) => {
    expect(endingPhrase(output)).toBe(expected);
  });

  it('lexical similarity of a pair is token Jaccard: order and punctuation do not count', () => {
    expect(pairSimilarity('Hello, Ann!', 'ann hello')).toBe(1);
    expect(pairSimilarity('a b c d', 'a b x y')).toBeCloseTo(2 / 6, 12);
    expect(pairSimilarity('', '')).toBe(1);
  });

  it('every descriptor names its kind, family and words', () => {
    for (const [name, spec] of Object.entries(DRIFT_DESCRIPTORS)) {
      expect(['binary', 'numeric', 'categorical'], name).toContain(spec.kind);
      expect(spec.family.length, name).toBeGreaterThan(0);
    }
  });
});

describe('word and token counting', () => {
  // Every character JavaScript's \s matches, plus neighbours that it does not (U+0085, U+180E, U+200B).
  const SPACES = [' ', '\t', '\n', '\v', '\f', '\r', '\u00a0', '\u1680', '\u2000', '\u200a', '\u2028', '\u2029'];
  const MORE = ['\u202f', '\u205f', '\u3000', '\ufeff', '\u0085', '\u180e', '\u200b'];
  const text = fc
    .array(fc.oneof(fc.constantFrom(...SPACES, ...MORE, 'a', 'É', '1', '.', '😀'), fc.string()), { maxLength: 40 })
    .map((parts) => parts.join(''));

  it('counts words as trim().split(/\\s+/) does', () => {
    fc.assert(
      fc.property(text, (output) => {
        const trimmed = output.trim();
        const expected = trimmed === '' ? 0 : trimmed.split(/\s+/).length;
        expect(describeOutput({ output })['length.words']).toBe(expected);
      }),
      { numRuns: 2000 },
    );
  });

  it('scores pair similarity on the words normalizeText keeps', () => {
    const reference = (a: string, b: string): number => {
      const words = (s: string) => new Set(normalizeText(s).split(' ').filter(Boolean));
      const [left, right] = [words(a), words(b)];
      if (left.size === 0 && right.size === 0) return 1;
      const shared = [...left].filter((w) => right.has(w)).length;
      return shared / (left.size + right.size - shared);
    };
    fc.assert(
      fc.property(text, text, (a, b) => {
        expect(pairSimilarity(a, b)).toBe(reference(a, b));
      }),
      { numRuns: 2000 },
    );
  });
});
