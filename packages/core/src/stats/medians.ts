import { logChoose } from './binomial.js';
import { normalQuantile } from './normal.js';
import type { Estimate } from './proportions.js';
import { sortNumbers, sortedMedian } from './ranks.js';

// As binomialCdf computes ln p and ln(1 − p), so the sums are the same to the last bit.
const LOG_HALF = Math.log(0.5);
const LOG1P_HALF = Math.log1p(-0.5);

/**
 * The median of the paired differences b − a, with the sign-test interval [d(k), d(n−k+1)], k the
 * largest with 2 P(Bin(n, ½) ≤ k − 1) ≤ alpha: distribution-free, coverage at least 1 − alpha, any
 * n. Below 6 pairs no such k exists at 95 % and the bounds are infinite.
 */
export const pairedMedianDifference = (a: ArrayLike<number>, b: ArrayLike<number>, alpha = 0.05): Estimate => {
  const n = a.length;
  const differences = new Float64Array(n);
  for (let i = 0; i < n; i += 1) differences[i] = b[i]! - a[i]!;
  differences.sort();
  // The largest k with 2·P(X ≤ k − 1) ≤ alpha, X ~ Binomial(n, 1/2): the lower tail summed as it grows,
  // term by term in the order binomialCdf sums it (linear, where calling it for each k was quadratic).
  let k = 0;
  let lower = 0;
  while (k < n) {
    lower += Math.exp(logChoose(n, k) + k * LOG_HALF + (n - k) * LOG1P_HALF);
    if (2 * Math.min(1, lower) > alpha) break;
    k += 1;
  }
  const estimate = sortedMedian(differences);
  if (k === 0) return { estimate, lower: Number.NEGATIVE_INFINITY, upper: Number.POSITIVE_INFINITY };
  return { estimate, lower: differences[k - 1]!, upper: differences[n - k]! };
};

/** McKean and Schrader's (1984) standard error of a sample median, from two order statistics. */
export const medianStandardError = (sorted: ArrayLike<number>, alpha = 0.05): number => {
  const n = sorted.length;
  const z = normalQuantile(1 - alpha / 2);
  const c = Math.max(1, Math.floor((n + 1) / 2 - z * Math.sqrt(n / 4) + 0.5));
  return (sorted[n - c]! - sorted[c - 1]!) / (2 * z);
};

/**
 * The difference of medians median(b) − median(a) of independent samples, with a Wald interval from
 * McKean and Schrader's standard error of each median.
 */
export const medianDifference = (a: ArrayLike<number>, b: ArrayLike<number>, alpha = 0.05): Estimate => {
  const x = sortNumbers(a);
  const y = sortNumbers(b);
  const estimate = sortedMedian(y) - sortedMedian(x);
  const se = Math.hypot(medianStandardError(x, alpha), medianStandardError(y, alpha));
  const half = normalQuantile(1 - alpha / 2) * se;
  return { estimate, lower: estimate - half, upper: estimate + half };
};
