import { chiSquareSurvival } from '../stats/chi-square.js';
import { GUARDRAIL_METRICS, type Guardrail, type GuardrailMetric } from './config.js';
import {
  meanDifference,
  proportionDifference,
  type DifferenceInterval,
  type MeanStats,
  type ProportionStats,
} from './sequential.js';

/**
 * One guardrail, one look: the confidence sequence of candidate − baseline against the threshold.
 * fail: the whole interval is past the threshold on the worse side (the rollout aborts);
 * signal: inconclusive, the ordinary fixed-sample interval at the same level is past the threshold but
 * the always-valid one is not yet (the step does not advance on that doubt);
 * ok: neither; insufficient: too few samples to test yet.
 */

export interface ArmPair<T> {
  readonly baseline: T;
  readonly candidate: T;
}

/** Each metric's figures per arm since the rollout started: sums for means, counts for rates. */
export interface RolloutMetrics {
  readonly error_rate?: ArmPair<ProportionStats>;
  readonly latency?: ArmPair<MeanStats>;
  readonly score?: ArmPair<MeanStats>;
  readonly thumbs_down_rate?: ArmPair<ProportionStats>;
  readonly assertion_pass_rate?: ArmPair<ProportionStats>;
}

/** Below this many samples in an arm the asymptotic interval is not trusted and nothing is tested. */
export const MIN_GUARDRAIL_SAMPLES = 30;

export type GuardrailStatus = 'fail' | 'signal' | 'ok' | 'insufficient';

export interface GuardrailVerdict {
  readonly metric: GuardrailMetric;
  readonly threshold: number;
  readonly worse: 'higher' | 'lower';
  readonly status: GuardrailStatus;
  /** The raw mean or rate per arm (null with no samples). */
  readonly baseline: { readonly count: number; readonly value: number | null };
  readonly candidate: { readonly count: number; readonly value: number | null };
  /** candidate − baseline with its confidence sequence at level 1 − alpha; null while insufficient. */
  readonly difference: DifferenceInterval | null;
  readonly alpha: number;
  readonly reason: string;
}

const summary = (stats: MeanStats | ProportionStats | undefined): { count: number; value: number | null } => {
  if (stats === undefined || stats.count === 0) return { count: stats?.count ?? 0, value: null };
  return { count: stats.count, value: ('events' in stats ? stats.events : stats.sum) / stats.count };
};

const round = (value: number): string => String(Number(value.toPrecision(4)));
const signed = (value: number): string => (value >= 0 ? `+${round(value)}` : round(value));

export const evaluateGuardrail = (
  guardrail: Guardrail,
  metrics: RolloutMetrics,
  alpha: number,
  tuning: number,
): GuardrailVerdict => {
  const { metric, threshold } = guardrail;
  const { kind, worse } = GUARDRAIL_METRICS[metric];
  const pair = metrics[metric];
  const baseline = summary(pair?.baseline);
  const candidate = summary(pair?.candidate);
  const base = { metric, threshold, worse, baseline, candidate, alpha };
  if (pair === undefined || Math.min(baseline.count, candidate.count) < MIN_GUARDRAIL_SAMPLES) {
    return {
      ...base,
      status: 'insufficient',
      difference: null,
      reason: `${metric}: ${baseline.count} baseline and ${candidate.count} candidate samples; testing starts at ${MIN_GUARDRAIL_SAMPLES} each`,
    };
  }
  const difference =
    kind === 'proportion'
      ? proportionDifference(pair.candidate as ProportionStats, pair.baseline as ProportionStats, alpha, tuning)
      : meanDifference(pair.candidate as MeanStats, pair.baseline as MeanStats, alpha, tuning);
  const past = (value: number): boolean => (worse === 'higher' ? value > threshold : value < threshold);
  // The fixed-sample test against the threshold: P(|Z| > z) is the chi-square(1) upper tail of z^2.
  const z = difference.standardError > 0 ? (difference.estimate - threshold) / difference.standardError : 0;
  const status: GuardrailStatus = past(worse === 'higher' ? difference.lower : difference.upper)
    ? 'fail'
    : past(difference.estimate) && chiSquareSurvival(z * z, 1) < alpha
      ? 'signal'
      : 'ok';
  const interval = `${signed(difference.estimate)} [${signed(difference.lower)}, ${signed(difference.upper)}]`;
  const said = {
    fail: `is worse than allowed: the whole interval is past ${signed(threshold)}`,
    signal: `leans past ${signed(threshold)}: a fixed-sample test says worse, the always-valid interval not yet`,
    ok: `is within ${signed(threshold)}`,
    insufficient: '',
  }[status];
  return { ...base, status, difference, reason: `${metric} candidate − baseline ${interval} ${said}` };
};

/** Every guardrail, the rollout's alpha split evenly among them (Bonferroni) so false aborts stay under it. */
export const evaluateGuardrails = (
  guardrails: readonly Guardrail[],
  metrics: RolloutMetrics,
  alpha: number,
  tuning: number,
): GuardrailVerdict[] =>
  guardrails.map((guardrail) => evaluateGuardrail(guardrail, metrics, alpha / Math.max(1, guardrails.length), tuning));
