import { describe, expect, it } from 'vitest';
import { clip, clipWords, excerptAround, runAssertion, wrapWords } from '../src/index.js';

/** Failure reasons show the part of an answer that matters, and never end or start in the middle of a word. */

const ANSWER =
  'Hello! Thanks for your question about "How do I reset my password?". I have looked into it, and the steps in your account page should solve it. Is there anything else I can help with?';

describe('eval excerpts', () => {
  it('clips after a whole word', () => {
    expect(clipWords('alpha beta gamma delta', 13)).toBe('alpha beta…');
    expect(clipWords('alpha beta', 40)).toBe('alpha beta');
    expect(clip(ANSWER)).not.toMatch(/accoun…/);
    expect(clip(ANSWER)).toMatch(/ (?:your|in|steps|the)…"$/);
    // One word longer than the budget has to be cut somewhere.
    expect(clipWords('x'.repeat(50), 10)).toBe(`${'x'.repeat(10)}…`);
  });

  it('shows the window around a match, starting and ending on word boundaries', () => {
    const text = `${'lorem ipsum '.repeat(30)}as an AI I cannot say ${'dolor sit '.repeat(30)}`.trim();
    const at = text.indexOf('as an AI');
    const excerpt = excerptAround(text, at, 'as an AI'.length, 60);
    expect(excerpt).toContain('as an AI I cannot say');
    expect(excerpt.length).toBeLessThanOrEqual(62);
    expect(excerpt).toMatch(/^…(lorem|ipsum) /);
    expect(excerpt).toMatch(/ (dolor|sit)…$/);
  });

  it('a failing not-contains shows where the forbidden text is, however late it comes', () => {
    const output = `${'This is a long and careful answer. '.repeat(8)}As an AI, I cannot check your order.`;
    const result = runAssertion(
      { type: 'not-icontains', value: 'as an AI' },
      { output, vars: {}, latencyMs: null, cost: null },
    );
    expect(result.pass).toBe(false);
    expect(result.reason).toContain('As an AI, I cannot check your order.');
  });

  it('an ends-with failure shows the end from a word boundary', () => {
    const result = runAssertion(
      { type: 'ends-with', value: 'Goodbye.' },
      { output: ANSWER, vars: {}, latencyMs: null, cost: null },
    );
    expect(result.reason).toMatch(/got "…(?:[A-Za-z]+) [^"]*Is there anything else I can help with\?"$/);
    expect(result.reason).not.toMatch(/…"?ps in/);
  });

  it('wraps at word boundaries within the width', () => {
    const lines = wrapWords(ANSWER, 40);
    for (const line of lines) expect(line.length).toBeLessThanOrEqual(40);
    expect(lines.join(' ')).toBe(ANSWER);
    expect(wrapWords('', 10)).toEqual(['']);
    expect(wrapWords(`short ${'y'.repeat(25)} end`, 10)).toEqual(['short', 'yyyyyyyyyy', 'yyyyyyyyyy', 'yyyyy end']);
  });
});
