import { normalTwoSided } from './normal.js';
import { rankWithTies } from './ranks.js';
import type { TestResult } from './test-result.js';

/** With no ties and both samples this small or smaller, Mann-Whitney's p-value is exact. */
export const MANN_WHITNEY_EXACT_MAX = 50;

/** P(U ≥ u) for samples of m and n, by the recurrence on the last observation's sample. */
const upperTail = (m: number, n: number, u: number): number => {
  // mass[j][k]: P(U = k) for samples of i (the outer loop) and j.
  let previous: Float64Array[] = Array.from({ length: n + 1 }, () => Float64Array.of(1));
  for (let i = 1; i <= m; i += 1) {
    const current: Float64Array[] = [new Float64Array(1).fill(1)];
    for (let j = 1; j <= n; j += 1) {
      const mass = new Float64Array(i * j + 1);
      const fromI = previous[j]!; // the largest value is in the first sample: it exceeds all j
      const fromJ = current[j - 1]!;
      const wi = i / (i + j);
      const wj = j / (i + j);
      for (let k = 0; k <= i * j; k += 1) {
        mass[k] = (k >= j && k - j < fromI.length ? wi * fromI[k - j]! : 0) + (k < fromJ.length ? wj * fromJ[k]! : 0);
      }
      current.push(mass);
    }
    previous = current;
  }
  const mass = previous[n]!;
  let tail = 0;
  for (let k = mass.length - 1; k >= Math.ceil(u); k -= 1) tail += mass[k]!;
  return tail;
};

/**
 * The Mann-Whitney U test of two independent samples. The statistic is U of `a` (pairs where a's value is
 * larger, ties counting 1/2). Exact without ties when both samples have at most 50 values; otherwise the
 * normal approximation with the tie-corrected variance and a continuity correction of 1/2 (SciPy's
 * `mannwhitneyu(..., use_continuity=True)`).
 */
export const mannWhitneyU = (a: ArrayLike<number>, b: ArrayLike<number>): TestResult => {
  const m = a.length;
  const n = b.length;
  if (m === 0 || n === 0) return { test: 'mann-whitney', method: 'exact', statistic: 0, pValue: 1 };
  const all = new Float64Array(m + n);
  for (let i = 0; i < m; i += 1) all[i] = a[i]!;
  for (let j = 0; j < n; j += 1) all[m + j] = b[j]!;
  const { ranks, tieTerm, hasTies } = rankWithTies(all);
  let rankSum = 0;
  for (let i = 0; i < m; i += 1) rankSum += ranks[i]!;
  const statistic = rankSum - (m * (m + 1)) / 2;
  const larger = Math.max(statistic, m * n - statistic);
  if (!hasTies && m <= MANN_WHITNEY_EXACT_MAX && n <= MANN_WHITNEY_EXACT_MAX) {
    return { test: 'mann-whitney', method: 'exact', statistic, pValue: Math.min(1, 2 * upperTail(m, n, larger)) };
  }
  const total = m + n;
  const sd = Math.sqrt(((m * n) / 12) * (total + 1 - tieTerm / (total * (total - 1))));
  const z = sd > 0 ? (larger - (m * n) / 2 - 0.5) / sd : 0;
  return { test: 'mann-whitney', method: 'asymptotic', statistic, pValue: z <= 0 ? 1 : normalTwoSided(z) };
};
