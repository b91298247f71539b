/**
 * Asymptotic confidence sequences (Waudby-Smith, Arbour, Sinha, Kennedy and Ramdas, "Time-uniform central
 * limit theory and asymptotic confidence sequences", eq. 9, as GrowthBook's sequential testing computes
 * them): intervals for a difference between arms that stay valid however often they are looked at, so a
 * guardrail may be checked after every batch of traces without inflating false aborts.
 */

export interface MeanStats {
  readonly count: number;
  readonly sum: number;
  readonly sumOfSquares: number;
}

export interface ProportionStats {
  readonly count: number;
  readonly events: number;
}

/** candidate − baseline, with its confidence sequence at the time of the look. */
export interface DifferenceInterval {
  readonly estimate: number;
  readonly lower: number;
  readonly upper: number;
  readonly standardError: number;
}

/** GrowthBook's default tuning: the sequence is tightest near this many observations (both arms). */
export const DEFAULT_SEQUENTIAL_TUNING = 5000;

/** The mixing parameter for a tuning sample size `tuning` (eq. 161 of the paper, two-sided). */
export const sequentialRho = (alpha: number, tuning: number): number => {
  const logAlpha = Math.log(alpha);
  return Math.sqrt((-2 * logAlpha + Math.log(1 - 2 * logAlpha)) / tuning);
};

/**
 * Half-width after `n` observations with per-observation variance `variance`:
 * sqrt(variance) * sqrt(2 (n rho^2 + 1) / (n rho)^2 * ln(sqrt(n rho^2 + 1) / alpha)).
 */
export const confidenceSequenceHalfWidth = (variance: number, n: number, alpha: number, tuning: number): number => {
  const rho = sequentialRho(alpha, tuning);
  const nr2 = n * rho * rho;
  return Math.sqrt(variance) * Math.sqrt(((2 * (nr2 + 1)) / (nr2 * n)) * Math.log(Math.sqrt(nr2 + 1) / alpha));
};

const interval = (
  estimate: number,
  standardError: number,
  n: number,
  alpha: number,
  tuning: number,
): DifferenceInterval => {
  // Two samples: the per-observation analogue of SE^2 is SE^2 * (n_candidate + n_baseline).
  const half = confidenceSequenceHalfWidth(standardError * standardError * n, n, alpha, tuning);
  return { estimate, lower: estimate - half, upper: estimate + half, standardError };
};

const meanAndVariance = (stats: MeanStats): { mean: number; variance: number } => {
  const mean = stats.sum / stats.count;
  const variance = Math.max(0, (stats.sumOfSquares - stats.sum * mean) / (stats.count - 1));
  return { mean, variance };
};

/** Difference of means (latency, score); each arm needs at least 2 observations. */
export const meanDifference = (
  candidate: MeanStats,
  baseline: MeanStats,
  alpha: number,
  tuning: number,
): DifferenceInterval => {
  const c = meanAndVariance(candidate);
  const b = meanAndVariance(baseline);
  const se = Math.sqrt(c.variance / candidate.count + b.variance / baseline.count);
  return interval(c.mean - b.mean, se, candidate.count + baseline.count, alpha, tuning);
};

/**
 * Difference of proportions (error rate, thumbs-down, assertion pass rate). The estimate is the observed
 * difference; its variance uses Agresti and Caffo's adjusted rates (one event and one non-event added to
 * each arm), so an arm with no events yet never gives a zero-width interval and the small counts of a
 * 1 % step keep their coverage, without pulling the estimate toward 50 %.
 */
export const proportionDifference = (
  candidate: ProportionStats,
  baseline: ProportionStats,
  alpha: number,
  tuning: number,
): DifferenceInterval => {
  const pc = (candidate.events + 1) / (candidate.count + 2);
  const pb = (baseline.events + 1) / (baseline.count + 2);
  const se = Math.sqrt((pc * (1 - pc)) / (candidate.count + 2) + (pb * (1 - pb)) / (baseline.count + 2));
  const estimate = candidate.events / candidate.count - baseline.events / baseline.count;
  return interval(estimate, se, candidate.count + baseline.count, alpha, tuning);
};
