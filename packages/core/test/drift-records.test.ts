import { describe, expect, it } from 'vitest';
import { checkNoDrift, coveredByNoDrift, noDriftViolations, type DriftReport } from '../src/index.js';

describe('a policy’s noDrift descriptors', () => {
  it('accepts descriptor names, variables, assertions and groups; sorted, once each', () => {
    expect(checkNoDrift(['mentions.user_name', 'length.*', 'refusal', 'assertion.ends-with', 'refusal'])).toEqual([
      'assertion.ends-with',
      'length.*',
      'mentions.user_name',
      'refusal',
    ]);
    expect(checkNoDrift(undefined)).toEqual([]);
  });

  it('names every unknown entry in one error', () => {
    expect(() => checkNoDrift(['tone', 'refusal', 'mention.name'])).toThrow(
      expect.objectContaining({
        code: 'invalid_request',
        issues: [
          { path: 'noDrift[0]', message: "'tone' is not a drift descriptor" },
          { path: 'noDrift[2]', message: "'mention.name' is not a drift descriptor" },
        ],
      }),
    );
    expect(() => checkNoDrift('refusal')).toThrow(/must be a list/);
  });

  it('covers names exactly or under a group, and finds the drifted ones', () => {
    expect(coveredByNoDrift(['mentions.*'], 'mentions.user_name')).toBe(true);
    expect(coveredByNoDrift(['mentions.user'], 'mentions.user_name')).toBe(false);
    const report = {
      descriptors: [
        { name: 'mentions.user_name', drifted: true },
        { name: 'length.chars', drifted: true },
        { name: 'refusal', drifted: false },
      ],
    } as unknown as DriftReport;
    expect(noDriftViolations(report, ['mentions.*', 'refusal'])).toEqual(['mentions.user_name']);
  });
});
