import { normalQuantile, normalTwoSided } from './normal.js';
import type { TestResult } from './test-result.js';

/** Events out of a count (e.g. outputs that mention the name, out of all outputs). */
export interface Proportion {
  readonly events: number;
  readonly count: number;
}

/** An estimate with its confidence interval. */
export interface Estimate {
  readonly estimate: number;
  readonly lower: number;
  readonly upper: number;
}

const clip = (x: number): number => Math.min(1, Math.max(-1, x));

/**
 * The two-proportion z test of B against A, with the pooled variance and no continuity correction (the
 * same p as the chi-square test of the 2×2 table). The statistic is for B − A.
 */
export const twoProportionZ = (a: Proportion, b: Proportion): TestResult => {
  const pooled = (a.events + b.events) / (a.count + b.count);
  const variance = pooled * (1 - pooled) * (1 / a.count + 1 / b.count);
  if (!(variance > 0)) return { test: 'two-proportion-z', method: 'asymptotic', statistic: 0, pValue: 1 };
  const statistic = (b.events / b.count - a.events / a.count) / Math.sqrt(variance);
  return { test: 'two-proportion-z', method: 'asymptotic', statistic, pValue: normalTwoSided(statistic) };
};

/**
 * B − A for independent samples: the observed difference, and Agresti and Caffo's (2000) interval
 * (a Wald interval after adding one event and one non-event to each sample), clipped to [−1, 1].
 */
export const proportionDifferenceInterval = (a: Proportion, b: Proportion, alpha = 0.05): Estimate => {
  const pa = (a.events + 1) / (a.count + 2);
  const pb = (b.events + 1) / (b.count + 2);
  const z = normalQuantile(1 - alpha / 2);
  const half = z * Math.sqrt((pa * (1 - pa)) / (a.count + 2) + (pb * (1 - pb)) / (b.count + 2));
  return {
    estimate: b.events / b.count - a.events / a.count,
    lower: clip(pb - pa - half),
    upper: clip(pb - pa + half),
  };
};

/** A paired 2×2 table: both yes, only A yes, only B yes, neither. */
export interface PairedTable {
  readonly both: number;
  readonly onlyA: number;
  readonly onlyB: number;
  readonly neither: number;
}

/**
 * B − A for paired yes/no outcomes: the observed difference (onlyB − onlyA) / n, and Agresti and Min's
 * (2005) interval (a Wald interval after adding 1/2 to each cell), clipped to [−1, 1].
 */
export const pairedProportionDifference = (table: PairedTable, alpha = 0.05): Estimate => {
  const n = table.both + table.onlyA + table.onlyB + table.neither;
  const adjusted = n + 2;
  const pa = (table.onlyA + 0.5) / adjusted;
  const pb = (table.onlyB + 0.5) / adjusted;
  const center = pb - pa;
  const half = normalQuantile(1 - alpha / 2) * Math.sqrt((pa + pb - center * center) / adjusted);
  return { estimate: (table.onlyB - table.onlyA) / n, lower: clip(center - half), upper: clip(center + half) };
};
