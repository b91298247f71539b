import { regularizedGammaQ } from './chi-square.js';

/**
 * The standard normal distribution. The tail is erfc, computed as Q(1/2, z^2/2) by the incomplete gamma
 * function already used for chi-square (relative accuracy near 1e-15 far into the tail); the quantile is
 * Acklam's rational approximation polished by one Halley step against that tail.
 */

/** P(Z > z). */
export const normalSurvival = (z: number): number => {
  if (Number.isNaN(z)) return Number.NaN;
  const half = 0.5 * regularizedGammaQ(0.5, (z * z) / 2);
  return z >= 0 ? half : 1 - half;
};

/** P(Z ≤ z). */
export const normalCdf = (z: number): number => normalSurvival(-z);

/** Two-sided p-value of a z statistic: P(|Z| ≥ |z|). */
export const normalTwoSided = (z: number): number => Math.min(1, 2 * normalSurvival(Math.abs(z)));

const A = [
  -39.69683028665376, 220.9460984245205, -275.9285104469687, 138.357751867269, -30.66479806614716, 2.506628277459239,
];
const B = [-54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155288572];
const C = [
  -0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734, 4.374664141464968,
  2.938163982698783,
];
const D = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416];
const LOW = 0.02425;

const acklam = (p: number): number => {
  if (p < LOW) {
    const q = Math.sqrt(-2 * Math.log(p));
    return (
      (((((C[0]! * q + C[1]!) * q + C[2]!) * q + C[3]!) * q + C[4]!) * q + C[5]!) /
      ((((D[0]! * q + D[1]!) * q + D[2]!) * q + D[3]!) * q + 1)
    );
  }
  if (p > 1 - LOW) return -acklam(1 - p);
  const q = p - 0.5;
  const r = q * q;
  return (
    ((((((A[0]! * r + A[1]!) * r + A[2]!) * r + A[3]!) * r + A[4]!) * r + A[5]!) * q) /
    (((((B[0]! * r + B[1]!) * r + B[2]!) * r + B[3]!) * r + B[4]!) * r + 1)
  );
};

/** The z with P(Z ≤ z) = p, for 0 < p < 1. */
export const normalQuantile = (p: number): number => {
  if (!(p > 0 && p < 1)) {
    if (p === 0) return Number.NEGATIVE_INFINITY;
    if (p === 1) return Number.POSITIVE_INFINITY;
    return Number.NaN;
  }
  // Work in the lower half, where P(Z ≤ z) is computed without cancellation.
  if (p > 0.5) return -normalQuantile(1 - p);
  const x = acklam(p);
  const e = normalCdf(x) - p;
  const u = e * Math.sqrt(2 * Math.PI) * Math.exp((x * x) / 2);
  return x - u / (1 + (x * u) / 2);
};
