import { chiSquareIndependence } from '../stats/contingency.js';
import { jensenShannonDistance } from '../stats/jensen-shannon.js';
import { kolmogorovSmirnov } from '../stats/kolmogorov-smirnov.js';
import { mannWhitneyU } from '../stats/mann-whitney.js';
import { mcnemarTest } from '../stats/mcnemar.js';
import { medianDifference, pairedMedianDifference } from '../stats/medians.js';
import {
  pairedProportionDifference,
  proportionDifferenceInterval,
  twoProportionZ,
  type Estimate,
} from '../stats/proportions.js';
import { sortNumbers, sortedMedian } from '../stats/ranks.js';
import type { TestResult } from '../stats/test-result.js';
import { wilcoxonSignedRank } from '../stats/wilcoxon.js';
import type { DescriptorKind, DescriptorValue } from './descriptors.js';
import { ENDING_CLASSES, OPENING_CLASSES } from './phrases.js';
import type { DriftOptions } from './input.js';

/**
 * One descriptor compared between the versions, by the test that fits its kind and the pairing:
 *
 * | kind        | paired                          | unpaired                                  | difference (B − A)          |
 * | binary      | McNemar                         | two-proportion z                          | rates, Agresti-Min / -Caffo |
 * | numeric     | Wilcoxon signed-rank            | Mann-Whitney U (or KS)                    | medians, sign-test / McKean-Schrader |
 * | categorical | chi-square on the 2×k counts    | chi-square on the 2×k counts              | Jensen-Shannon distance     |
 */

export interface Difference {
  readonly measure: 'rate difference' | 'median difference' | 'Jensen-Shannon distance';
  readonly estimate: number;
  /** The confidence interval at 1 − alpha; null for the Jensen-Shannon distance, which has none here. */
  readonly lower: number | null;
  readonly upper: number | null;
}

/** A rate, a median, or shares per class. */
export type SideValue = number | Readonly<Record<string, number>>;

export interface Comparison {
  readonly count: { readonly a: number; readonly b: number };
  readonly a: SideValue | null;
  readonly b: SideValue | null;
  readonly difference: Difference | null;
  readonly test: TestResult | null;
}

/** Categories seen fewer than this many times in both versions together are pooled before chi-square. */
const RARE_CATEGORY = 5;
const CLASS_ORDER: readonly string[] = [
  ...OPENING_CLASSES,
  ...ENDING_CLASSES.filter((c) => !OPENING_CLASSES.includes(c as never)),
];

const rate = (values: readonly boolean[]): number => values.filter(Boolean).length / values.length;

const shares = (values: readonly string[], categories: readonly string[]): Record<string, number> =>
  Object.fromEntries(categories.map((c) => [c, values.filter((v) => v === c).length / values.length]));

const interval = (measure: Difference['measure'], e: Estimate): Difference => ({
  measure,
  estimate: e.estimate,
  lower: Number.isFinite(e.lower) ? e.lower : null,
  upper: Number.isFinite(e.upper) ? e.upper : null,
});

const compareCategorical = (a: readonly string[], b: readonly string[], enough: boolean): Comparison => {
  const seen = new Set([...a, ...b]);
  const categories = CLASS_ORDER.filter((c) => seen.has(c)).concat(
    [...seen].filter((c) => !CLASS_ORDER.includes(c)).sort(),
  );
  const countsA = categories.map((c) => a.filter((v) => v === c).length);
  const countsB = categories.map((c) => b.filter((v) => v === c).length);
  const common = categories.map((_, i) => countsA[i]! + countsB[i]! >= RARE_CATEGORY);
  const pooled = (counts: number[]): number[] => [
    ...counts.filter((_, i) => common[i]),
    counts.filter((_, i) => !common[i]).reduce((s, x) => s + x, 0),
  ];
  return {
    count: { a: a.length, b: b.length },
    a: shares(a, categories),
    b: shares(b, categories),
    difference: {
      measure: 'Jensen-Shannon distance',
      estimate: jensenShannonDistance(countsA, countsB),
      lower: null,
      upper: null,
    },
    test: enough ? chiSquareIndependence([pooled(countsA), pooled(countsB)]) : null,
  };
};

/** Compares paired values: `pairs` holds [A, B] for every pair where both were measured. */
export const comparePaired = (
  kind: DescriptorKind,
  pairs: readonly (readonly [DescriptorValue, DescriptorValue])[],
  options: DriftOptions,
): Comparison => {
  const n = pairs.length;
  const enough = n >= options.minSamples[kind];
  if (n === 0) return { count: { a: 0, b: 0 }, a: null, b: null, difference: null, test: null };
  if (kind === 'categorical')
    return compareCategorical(
      pairs.map((p) => String(p[0])),
      pairs.map((p) => String(p[1])),
      enough,
    );
  if (kind === 'binary') {
    const table = { both: 0, onlyA: 0, onlyB: 0, neither: 0 };
    for (const [x, y] of pairs) {
      if (x && y) table.both += 1;
      else if (x) table.onlyA += 1;
      else if (y) table.onlyB += 1;
      else table.neither += 1;
    }
    return {
      count: { a: n, b: n },
      a: (table.both + table.onlyA) / n,
      b: (table.both + table.onlyB) / n,
      difference: interval('rate difference', pairedProportionDifference(table, options.alpha)),
      test: enough ? mcnemarTest(table.onlyA, table.onlyB) : null,
    };
  }
  const a = pairs.map((p) => Number(p[0]));
  const b = pairs.map((p) => Number(p[1]));
  return {
    count: { a: n, b: n },
    a: sortedMedian(sortNumbers(a)),
    b: sortedMedian(sortNumbers(b)),
    difference: interval('median difference', pairedMedianDifference(a, b, options.alpha)),
    test: enough ? wilcoxonSignedRank(a, b) : null,
  };
};

/** Compares two independent samples of one descriptor. */
export const compareUnpaired = (
  kind: DescriptorKind,
  a: readonly DescriptorValue[],
  b: readonly DescriptorValue[],
  options: DriftOptions,
): Comparison => {
  const enough = Math.min(a.length, b.length) >= options.minSamples[kind];
  if (a.length === 0 || b.length === 0) {
    return { count: { a: a.length, b: b.length }, a: null, b: null, difference: null, test: null };
  }
  if (kind === 'categorical') return compareCategorical(a.map(String), b.map(String), enough);
  if (kind === 'binary') {
    const x = { events: a.filter(Boolean).length, count: a.length };
    const y = { events: b.filter(Boolean).length, count: b.length };
    return {
      count: { a: a.length, b: b.length },
      a: rate(a as boolean[]),
      b: rate(b as boolean[]),
      difference: interval('rate difference', proportionDifferenceInterval(x, y, options.alpha)),
      test: enough ? twoProportionZ(x, y) : null,
    };
  }
  const x = a.map(Number);
  const y = b.map(Number);
  return {
    count: { a: a.length, b: b.length },
    a: sortedMedian(sortNumbers(x)),
    b: sortedMedian(sortNumbers(y)),
    difference: interval('median difference', medianDifference(x, y, options.alpha)),
    test: enough ? (options.unpairedNumericTest === 'ks' ? kolmogorovSmirnov(x, y) : mannWhitneyU(x, y)) : null,
  };
};
