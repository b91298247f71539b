import { describe, expect, it } from 'vitest';
import { labelOrder, sortLabelNames } from '../src/pages/prompt/labels';

describe('label order', () => {
  it('puts production first, staging next, other labels by name, latest last', () => {
    expect(sortLabelNames(['latest', 'canary', 'staging', 'beta', 'production'])).toEqual([
      'production',
      'staging',
      'beta',
      'canary',
      'latest',
    ]);
  });

  it('does not change its input', () => {
    const labels = ['latest', 'production'];
    sortLabelNames(labels);
    expect(labels).toEqual(['latest', 'production']);
  });

  it('compares records by their label', () => {
    expect(labelOrder({ label: 'production' }, { label: 'staging' })).toBeLessThan(0);
    expect(labelOrder({ label: 'latest' }, { label: 'zeta' })).toBeGreaterThan(0);
    expect(labelOrder({ label: 'beta' }, { label: 'beta' })).toBe(0);
  });
});
