import { normalTwoSided } from './normal.js';
import { rankWithTies } from './ranks.js';
import type { TestResult } from './test-result.js';

/** Up to this many non-zero differences without ties, the signed-rank test uses its exact distribution. */
export const WILCOXON_EXACT_MAX = 50;

/** P(T+ = s) for s = 0..n(n+1)/2 under the null: each rank's sign a fair coin. */
const signedRankDistribution = (n: number): Float64Array => {
  const max = (n * (n + 1)) / 2;
  const mass = new Float64Array(max + 1);
  mass[0] = 1;
  let top = 0;
  for (let rank = 1; rank <= n; rank += 1) {
    top += rank;
    for (let s = top; s >= 0; s -= 1) mass[s] = 0.5 * (mass[s]! + (s >= rank ? mass[s - rank]! : 0));
  }
  return mass;
};

/**
 * Wilcoxon's signed-rank test on paired values (differences b − a). Zero differences are dropped
 * (Wilcoxon's convention, SciPy's `zero_method="wilcox"`). With at most 50 remaining differences and no
 * tied magnitudes the p-value is exact; otherwise it is the normal approximation with the tie correction
 * of the variance and a continuity correction of 1/2. The statistic is min(T+, T−), as SciPy reports it.
 */
export const wilcoxonSignedRank = (a: ArrayLike<number>, b: ArrayLike<number>): TestResult => {
  const differences: number[] = [];
  for (let i = 0; i < a.length; i += 1) {
    const d = b[i]! - a[i]!;
    if (d !== 0) differences.push(d);
  }
  const n = differences.length;
  if (n === 0) return { test: 'wilcoxon', method: 'exact', statistic: 0, pValue: 1 };
  const { ranks, tieTerm, hasTies } = rankWithTies(differences.map(Math.abs));
  let plus = 0;
  for (let i = 0; i < n; i += 1) if (differences[i]! > 0) plus += ranks[i]!;
  const total = (n * (n + 1)) / 2;
  const statistic = Math.min(plus, total - plus);
  if (n <= WILCOXON_EXACT_MAX && !hasTies) {
    const mass = signedRankDistribution(n);
    let lower = 0;
    for (let s = 0; s <= statistic; s += 1) lower += mass[s]!;
    return { test: 'wilcoxon', method: 'exact', statistic, pValue: Math.min(1, 2 * lower) };
  }
  const mean = total / 2;
  const variance = (n * (n + 1) * (2 * n + 1) - tieTerm / 2) / 24;
  const d = plus - mean;
  const corrected = d - 0.5 * Math.sign(d);
  return {
    test: 'wilcoxon',
    method: 'asymptotic',
    statistic,
    pValue: variance > 0 ? normalTwoSided(corrected / Math.sqrt(variance)) : 1,
  };
};
