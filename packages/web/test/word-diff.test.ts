import { describe, expect, it } from 'vitest';
import { wordDiff } from '../src/components/word-diff';

/** The example pairs of a drift report, side by side: which words each side lost or gained. */

const text = (parts: readonly { text: string }[]): string => parts.map((p) => p.text).join('');

describe('wordDiff', () => {
  it('marks the words only A has as removed and the words only B has as added', () => {
    const { a, b } = wordDiff('Hello, Chen! Thanks for asking.', 'Hello! Thanks for asking.');
    expect(a).toEqual([
      { op: 'equal', text: 'Hello' },
      { op: 'remove', text: ', Chen' },
      { op: 'equal', text: '! Thanks for asking.' },
    ]);
    expect(b).toEqual([{ op: 'equal', text: 'Hello! Thanks for asking.' }]);
  });

  it('keeps every character of each side, in order', () => {
    const left = 'The quick brown fox\njumps over the lazy dog.';
    const right = 'A quick red fox\n\njumps over the dog!';
    const { a, b } = wordDiff(left, right);
    expect(text(a)).toBe(left);
    expect(text(b)).toBe(right);
    expect(a.every((part) => part.op !== 'add')).toBe(true);
    expect(b.every((part) => part.op !== 'remove')).toBe(true);
    // The extra blank line is a change too, of whitespace only.
    expect(b.filter((part) => part.op === 'add').map((part) => part.text)).toEqual(['A', 'red', '\n\n', '!']);
  });

  it('gives one equal part for identical texts and whole sides for nothing in common', () => {
    expect(wordDiff('same words', 'same words')).toEqual({
      a: [{ op: 'equal', text: 'same words' }],
      b: [{ op: 'equal', text: 'same words' }],
    });
    expect(wordDiff('', 'new')).toEqual({ a: [], b: [{ op: 'add', text: 'new' }] });
  });

  it('marks a long middle changed as a whole rather than compare every word with every other', () => {
    const many = (prefix: string) => Array.from({ length: 3000 }, (_, i) => `${prefix}${i}`).join(' ');
    const { a, b } = wordDiff(`start ${many('x')} end`, `start ${many('y')} end`);
    expect(a.map((part) => part.op)).toEqual(['equal', 'remove', 'equal']);
    expect(b.map((part) => part.op)).toEqual(['equal', 'add', 'equal']);
  });
});
