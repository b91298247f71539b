import type { TestResult } from './test-result.js';

/** Up to this product of the sample sizes, the two-sample KS p-value is exact (SciPy's limit as well). */
export const KS_EXACT_MAX_PRODUCT = 10_000;

/**
 * P(D ≥ d) exactly: 1 − the share of lattice paths from (0, 0) to (m, n) that stay strictly inside
 * |i n − j m| < h, where h = d m n is a whole number (Hodges 1957). Counts are kept divided by
 * C(i + j, i), so nothing overflows.
 */
const exactTail = (m: number, n: number, h: number): number => {
  let row = new Float64Array(n + 1);
  for (let j = 0; j <= n; j += 1) row[j] = Math.abs(j * m) < h ? (j === 0 ? 1 : row[j - 1]!) : 0;
  for (let i = 1; i <= m; i += 1) {
    const next = new Float64Array(n + 1);
    next[0] = i * n < h ? row[0]! : 0;
    for (let j = 1; j <= n; j += 1) {
      next[j] = Math.abs(i * n - j * m) < h ? (i / (i + j)) * row[j]! + (j / (i + j)) * next[j - 1]! : 0;
    }
    row = next;
  }
  return Math.min(1, Math.max(0, 1 - row[n]!));
};

/** Kolmogorov's limiting distribution: P(K > x) = 2 Σ (−1)^(k−1) exp(−2 k^2 x^2). */
export const kolmogorovSurvival = (x: number): number => {
  if (x <= 0) return 1;
  if (x < 1) {
    // The theta-function form converges fast for small x: P(K ≤ x) = √(2π)/x Σ exp(−(2k−1)^2 π^2 / (8 x^2)).
    let sum = 0;
    for (let k = 1; k <= 20; k += 1) sum += Math.exp((-((2 * k - 1) ** 2) * Math.PI ** 2) / (8 * x * x));
    return Math.min(1, Math.max(0, 1 - (Math.sqrt(2 * Math.PI) / x) * sum));
  }
  let sum = 0;
  for (let k = 1; k <= 100; k += 1) {
    const term = Math.exp(-2 * k * k * x * x);
    sum += k % 2 === 1 ? term : -term;
    if (term < 1e-17) break;
  }
  return Math.min(1, Math.max(0, 2 * sum));
};

/**
 * The two-sample Kolmogorov-Smirnov test: D = the largest gap between the two empirical distribution
 * functions. Exact while m n ≤ 10,000 (SciPy's `ks_2samp(method="exact")`); beyond, Kolmogorov's limiting
 * distribution at √(m n / (m + n)) D. With tied values the test is conservative.
 */
export const kolmogorovSmirnov = (a: ArrayLike<number>, b: ArrayLike<number>): TestResult => {
  const m = a.length;
  const n = b.length;
  if (m === 0 || n === 0) return { test: 'ks', method: 'exact', statistic: 0, pValue: 1 };
  const x = Float64Array.from(a).sort();
  const y = Float64Array.from(b).sort();
  // The gap in whole units: |i n − j m| = D m n after each distinct value.
  let i = 0;
  let j = 0;
  let widest = 0;
  while (i < m || j < n) {
    const value = j >= n || (i < m && x[i]! <= y[j]!) ? x[i]! : y[j]!;
    while (i < m && x[i] === value) i += 1;
    while (j < n && y[j] === value) j += 1;
    widest = Math.max(widest, Math.abs(i * n - j * m));
  }
  const statistic = widest / (m * n);
  if (m * n <= KS_EXACT_MAX_PRODUCT) {
    return { test: 'ks', method: 'exact', statistic, pValue: widest === 0 ? 1 : exactTail(m, n, widest) };
  }
  return {
    test: 'ks',
    method: 'asymptotic',
    statistic,
    pValue: kolmogorovSurvival(Math.sqrt((m * n) / (m + n)) * statistic),
  };
};
