import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  benjaminiHochbergAdjust,
  binomialCdf,
  chiSquareIndependence,
  holmAdjust,
  jensenShannonDistance,
  kolmogorovSmirnov,
  mannWhitneyU,
  mcnemarTest,
  medianDifference,
  normalCdf,
  normalQuantile,
  normalSurvival,
  pairedMedianDifference,
  pairedProportionDifference,
  proportionDifferenceInterval,
  twoProportionZ,
  wilcoxonSignedRank,
} from '@promptops/core/drift';

/** Reference values from SciPy 1.10.1 and statsmodels 0.13.5: scripts/drift/stats-fixtures.py made them. */
const fixtures = JSON.parse(readFileSync(new URL('./fixtures/drift-stats.json', import.meta.url), 'utf8')) as Record<
  string,
  Record<string, never>[]
> & { generator: Record<string, string> };

type Row = Record<string, never>;
const rows = (name: string): [string, Row][] =>
  fixtures[name]!.map((row, i) => [String((row as { name?: string }).name ?? i), row]);

/** Within 1e-6, absolutely, and relatively for values far below 1 (tail p-values). */
const near = (actual: number, expected: number): void => {
  expect(Math.abs(actual - expected), `${actual} vs ${expected}`).toBeLessThanOrEqual(1e-6);
  if (expected !== 0 && Math.abs(expected) < 1e-3) expect(Math.abs(actual / expected - 1)).toBeLessThanOrEqual(1e-6);
};

describe('distributions', () => {
  it.each(rows('normal'))('normal tail %s', (_, row: { z: number; sf: number; cdf: number }) => {
    near(normalSurvival(row.z), row.sf);
    near(normalCdf(row.z), row.cdf);
  });
  it.each(rows('normalQuantile'))('normal quantile %s', (_, row: { p: number; z: number }) => {
    near(normalQuantile(row.p), row.z);
  });
  it.each(rows('binomialCdf'))('binomial cdf %s', (_, row: { k: number; n: number; p: number; cdf: number }) => {
    near(binomialCdf(row.k, row.n, row.p), row.cdf);
  });
});

describe('paired tests', () => {
  it.each(rows('mcnemar'))(
    'McNemar %s',
    (_, row: { table: number[]; exact: boolean; statistic: number; p: number }) => {
      const result = mcnemarTest(row.table[1]!, row.table[2]!);
      expect(result.method).toBe(row.exact ? 'exact' : 'asymptotic');
      near(result.statistic, row.statistic);
      near(result.pValue, row.p);
    },
  );

  it.each(rows('wilcoxon'))(
    'Wilcoxon signed-rank: %s',
    (_, row: { a: number[]; b: number[]; method: string; statistic: number; p: number }) => {
      const result = wilcoxonSignedRank(row.a, row.b);
      expect(result.method).toBe(row.method === 'exact' ? 'exact' : 'asymptotic');
      near(result.statistic, row.statistic);
      near(result.pValue, row.p);
    },
  );

  it('Hollander and Wolfe (1973, p. 29): p = 0.0390625, exactly 10/256', () => {
    const row = fixtures.wilcoxon![0] as unknown as { a: number[]; b: number[] };
    expect(wilcoxonSignedRank(row.a, row.b).pValue).toBe(10 / 256);
  });

  it.each(rows('pairedProportion'))(
    'paired difference of proportions (Agresti-Min) %s',
    (_, row: { table: number[]; estimate: number; lower: number; upper: number }) => {
      const [both, onlyA, onlyB, neither] = row.table as [number, number, number, number];
      const result = pairedProportionDifference({ both, onlyA, onlyB, neither });
      near(result.estimate, row.estimate);
      near(result.lower, row.lower);
      near(result.upper, row.upper);
    },
  );

  it.each(rows('pairedMedian'))('median of paired differences: %s', (name, row: Row & { estimate: number }) => {
    const data = fixtures.wilcoxon!.find((w) => (w as { name: string }).name === name) as unknown as {
      a: number[];
      b: number[];
    };
    const result = pairedMedianDifference(data.a, data.b);
    const expected = row as unknown as { estimate: number; lower?: number; upper?: number };
    near(result.estimate, expected.estimate);
    near(result.lower, expected.lower!);
    near(result.upper, expected.upper!);
  });
});

describe('unpaired tests', () => {
  it.each(rows('mannWhitney'))(
    'Mann-Whitney U: %s',
    (_, row: { a: number[]; b: number[]; method: string; statistic: number; p: number }) => {
      const result = mannWhitneyU(row.a, row.b);
      expect(result.method).toBe(row.method === 'exact' ? 'exact' : 'asymptotic');
      near(result.statistic, row.statistic);
      near(result.pValue, row.p);
    },
  );

  it.each(rows('ks'))(
    'Kolmogorov-Smirnov: %s',
    (_, row: { a: number[]; b: number[]; method: string; statistic: number; p: number }) => {
      const result = kolmogorovSmirnov(row.a, row.b);
      expect(result.method).toBe(row.method);
      near(result.statistic, row.statistic);
      near(result.pValue, row.p);
    },
  );

  it.each(rows('twoProportion'))(
    'two-proportion z and Agresti-Caffo interval %s',
    (_, row: { a: number[]; b: number[]; z: number; p: number; lower: number; upper: number }) => {
      const a = { events: row.a[0]!, count: row.a[1]! };
      const b = { events: row.b[0]!, count: row.b[1]! };
      const test = twoProportionZ(a, b);
      near(test.statistic, row.z);
      near(test.pValue, row.p);
      const interval = proportionDifferenceInterval(a, b);
      near(interval.estimate, b.events / b.count - a.events / a.count);
      near(interval.lower, row.lower);
      near(interval.upper, row.upper);
    },
  );

  it.each(rows('chiSquare'))(
    'chi-square independence %s',
    (_, row: { table: number[][]; statistic: number; df: number; p: number }) => {
      const result = chiSquareIndependence(row.table);
      expect(result.df).toBe(row.df);
      near(result.statistic, row.statistic);
      near(result.pValue, row.p);
    },
  );

  it.each(rows('unpairedMedian'))('difference of medians: %s', (name, row: Row) => {
    const data = fixtures.mannWhitney!.find((w) => (w as { name: string }).name === name) as unknown as {
      a: number[];
      b: number[];
    };
    const expected = row as unknown as { estimate: number; lower: number; upper: number };
    const result = medianDifference(data.a, data.b);
    near(result.estimate, expected.estimate);
    near(result.lower, expected.lower);
    near(result.upper, expected.upper);
  });

  it.each(rows('jensenShannon'))(
    'Jensen-Shannon distance %s',
    (_, row: { p: number[]; q: number[]; distance: number }) => {
      near(jensenShannonDistance(row.p, row.q), row.distance);
    },
  );
});

describe('multiple testing', () => {
  it.each(rows('adjust'))('Holm and Benjamini-Hochberg %s', (_, row: { p: number[]; holm: number[]; bh: number[] }) => {
    holmAdjust(row.p).forEach((p, i) => near(p, row.holm[i]!));
    benjaminiHochbergAdjust(row.p).forEach((p, i) => near(p, row.bh[i]!));
  });
});

it('the fixtures name their generator', () => {
  expect(fixtures.generator).toMatchObject({ scipy: '1.10.1', script: 'scripts/drift/stats-fixtures.py' });
});
