import { chiSquareSurvival } from '../stats/chi-square.js';

/**
 * Sample-ratio mismatch: are the units in each arm the shares the assignment should give? A chi-square
 * goodness-of-fit test, flagged at p < 0.001 and run only once every arm has 8 units (GrowthBook's
 * thresholds): a mismatch means assignment or logging is broken, and every comparison is suspect.
 */

export const SRM_P_VALUE = 0.001;
export const SRM_MIN_UNITS = 8;

export interface SrmResult {
  /** False while an arm has fewer than SRM_MIN_UNITS units or an expected share is 0. */
  readonly tested: boolean;
  readonly mismatch: boolean;
  readonly statistic: number;
  readonly pValue: number;
  readonly observed: readonly number[];
  readonly expected: readonly number[];
}

export const sampleRatioMismatch = (observed: readonly number[], shares: readonly number[]): SrmResult => {
  const total = observed.reduce((sum, n) => sum + n, 0);
  const shareTotal = shares.reduce((sum, s) => sum + s, 0);
  const expected = shares.map((share) => (total * share) / shareTotal);
  const tested =
    observed.length >= 2 &&
    observed.length === shares.length &&
    observed.every((n) => n >= SRM_MIN_UNITS) &&
    expected.every((e) => e > 0);
  if (!tested) return { tested, mismatch: false, statistic: 0, pValue: 1, observed, expected };
  const statistic = observed.reduce((sum, n, i) => sum + (n - expected[i]!) ** 2 / expected[i]!, 0);
  const pValue = chiSquareSurvival(statistic, observed.length - 1);
  return { tested, mismatch: pValue < SRM_P_VALUE, statistic, pValue, observed, expected };
};
