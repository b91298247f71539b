import { logGamma } from './chi-square.js';

/** ln C(n, k). */
export const logChoose = (n: number, k: number): number => logGamma(n + 1) - logGamma(k + 1) - logGamma(n - k + 1);

/** P(X ≤ k) for X ~ Binomial(n, p), by summing the mass from the nearer end (exact to rounding). */
export const binomialCdf = (k: number, n: number, p: number): number => {
  if (k < 0) return 0;
  if (k >= n) return 1;
  const logP = Math.log(p);
  const logQ = Math.log1p(-p);
  const mass = (i: number): number => Math.exp(logChoose(n, i) + i * logP + (n - i) * logQ);
  // Sum the smaller side, smallest terms first, so the tail keeps its relative accuracy.
  if (k < n * p) {
    let sum = 0;
    for (let i = 0; i <= k; i += 1) sum += mass(i);
    return Math.min(1, sum);
  }
  let upper = 0;
  for (let i = n; i > k; i -= 1) upper += mass(i);
  return Math.max(0, 1 - upper);
};
