import { describe, expect, it } from 'vitest';
import { editDistance, similarNames } from '../src/similar-names.js';

/** "Did you mean …?" for prompt names. */

const NAMES = [
  'customer_support_greeter',
  'summarize_ticket',
  'support/escalation_classifier',
  'release_notes_writer',
  'faq',
];

describe('editDistance (optimal string alignment)', () => {
  it('counts insertions, deletions, substitutions and adjacent transpositions as one edit each', () => {
    expect(editDistance('greeter', 'greeter')).toBe(0);
    expect(editDistance('greter', 'greeter')).toBe(1);
    expect(editDistance('greeterx', 'greeter')).toBe(1);
    expect(editDistance('grezter', 'greeter')).toBe(1);
    expect(editDistance('geerter', 'greeter')).toBe(2);
    expect(editDistance('gerter', 'greter')).toBe(1);
    expect(editDistance('', 'abc')).toBe(3);
    expect(editDistance('kitten', 'sitting')).toBe(3);
  });
});

describe('similarNames', () => {
  it('suggests a name one typo away', () => {
    expect(similarNames('customer_suport_greeter', NAMES)).toEqual(['customer_support_greeter']);
    expect(similarNames('sumarize_ticket', NAMES)).toEqual(['summarize_ticket']);
    expect(similarNames('fqa', NAMES)).toEqual(['faq']);
  });

  it('suggests the full name when the folder is missing or only a part is given', () => {
    expect(similarNames('escalation_classifier', NAMES)).toEqual(['support/escalation_classifier']);
    expect(similarNames('greeter', NAMES)).toEqual(['customer_support_greeter']);
    expect(similarNames('Customer_Support_Greeter', NAMES)).toEqual(['customer_support_greeter']);
  });

  it('suggests nothing for a name unlike any other, and at most `limit`, closest first', () => {
    expect(similarNames('billing_router', NAMES)).toEqual([]);
    expect(similarNames('x', NAMES)).toEqual([]);
    expect(similarNames('ab', ['abc', 'abd', 'ab_', 'zzz'], 2)).toEqual(['ab_', 'abc']);
  });
});
