import { describe, expect, it } from 'vitest';
import type { DiffLine } from '../src/api/types';
import { sectionTitle, splitRows } from '../src/components/diff-rows';

/** The side-by-side diff: which line faces which. */

const equal = (text: string): DiffLine => ({ op: 'equal', text });
const add = (text: string): DiffLine => ({ op: 'add', text });
const remove = (text: string): DiffLine => ({ op: 'remove', text });

describe('splitRows', () => {
  it('puts an equal line on both sides', () => {
    const line = equal('Hello.');
    expect(splitRows([line])).toEqual([{ left: line, right: line }]);
  });

  it('zips a run of removals with the run of additions after it, so a replaced line faces its replacement', () => {
    const lines = [equal('a'), remove('b'), remove('c'), add('B'), add('C'), equal('d')];
    expect(splitRows(lines)).toEqual([
      { left: lines[0], right: lines[0] },
      { left: lines[1], right: lines[3] },
      { left: lines[2], right: lines[4] },
      { left: lines[5], right: lines[5] },
    ]);
  });

  it('leaves a side empty where one run is longer, with no key for the missing side', () => {
    const lines = [remove('b'), add('B'), add('C')];
    const rows = splitRows(lines);
    expect(rows).toEqual([{ left: lines[0], right: lines[1] }, { right: lines[2] }]);
    expect('left' in rows[1]!).toBe(false);
    expect(splitRows([remove('gone')])).toEqual([{ left: { op: 'remove', text: 'gone' } }]);
  });

  it('does not pair an addition with a removal that comes after it', () => {
    const lines = [add('new'), remove('old')];
    expect(splitRows(lines)).toEqual([{ right: lines[0] }, { left: lines[1] }]);
  });

  it('returns no rows for no lines', () => {
    expect(splitRows([])).toEqual([]);
  });
});

describe('sectionTitle', () => {
  it('names message and slot sections, counting messages from 1', () => {
    expect(sectionTitle('### messages[0] system')).toBe('message 1 · system');
    expect(sectionTitle('### messages[2] user')).toBe('message 3 · user');
    expect(sectionTitle('### slot tone')).toBe('slot tone');
  });

  it('is undefined for any other line', () => {
    expect(sectionTitle('Hello {{user_name}}')).toBeUndefined();
    expect(sectionTitle('### notes')).toBeUndefined();
    expect(sectionTitle(' ### slot tone')).toBeUndefined();
  });
});
