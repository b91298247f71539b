import { pairSimilarity } from './drift/descriptors.js';
import type { ArmMetricFigure, RolloutArmFigures, ShadowPair, ShadowSummary } from './rollout-records.js';
import { GUARDRAIL_METRICS, type GuardrailMetric } from './rollouts/config.js';
import type { ArmPair, RolloutMetrics } from './rollouts/guardrails.js';
import { confidenceSequenceHalfWidth, type MeanStats, type ProportionStats } from './rollouts/sequential.js';

/**
 * The figures of `GET /api/v1/rollouts/:id` (rollout-records.ts's RolloutDetail), from what the traces
 * say: per arm, each guardrail metric's value with its confidence sequence at the rollout's level (the
 * same always-valid intervals as the guardrails, for one arm's rate or mean); for a shadow rollout, its
 * pairs (same call, baseline and candidate outputs) summed up, the pairs that differ most first.
 */

const proportionFigure = (stats: ProportionStats, alpha: number, tuning: number): ArmMetricFigure => {
  if (stats.count === 0) return { count: 0, value: null, lower: null, upper: null };
  const value = stats.events / stats.count;
  if (stats.count < 2) return { count: stats.count, value, lower: null, upper: null };
  // Agresti and Caffo's adjusted rate for the variance, as the guardrails' differences use.
  const adjusted = (stats.events + 1) / (stats.count + 2);
  const half = confidenceSequenceHalfWidth(adjusted * (1 - adjusted), stats.count, alpha, tuning);
  return { count: stats.count, value, lower: Math.max(0, value - half), upper: Math.min(1, value + half) };
};

const meanFigure = (stats: MeanStats, alpha: number, tuning: number): ArmMetricFigure => {
  if (stats.count === 0) return { count: 0, value: null, lower: null, upper: null };
  const value = stats.sum / stats.count;
  if (stats.count < 2) return { count: stats.count, value, lower: null, upper: null };
  const variance = Math.max(0, (stats.sumOfSquares - stats.sum * value) / (stats.count - 1));
  const half = confidenceSequenceHalfWidth(variance, stats.count, alpha, tuning);
  return { count: stats.count, value, lower: value - half, upper: value + half };
};

/** Each arm's calls, units and figures for every metric the traces have (one with no figures is left out). */
export const rolloutArmFigures = (
  observed: {
    readonly metrics: RolloutMetrics;
    readonly requests: ArmPair<number>;
    readonly units?: ArmPair<number> | undefined;
  },
  alpha: number,
  tuning: number,
): ArmPair<RolloutArmFigures> => {
  const arm = (side: 'baseline' | 'candidate'): RolloutArmFigures => {
    const metrics: Partial<Record<GuardrailMetric, ArmMetricFigure>> = {};
    for (const metric of Object.keys(GUARDRAIL_METRICS) as GuardrailMetric[]) {
      const stats = observed.metrics[metric]?.[side];
      if (stats === undefined) continue;
      metrics[metric] = 'events' in stats ? proportionFigure(stats, alpha, tuning) : meanFigure(stats, alpha, tuning);
    }
    return { requests: observed.requests[side], units: observed.units?.[side] ?? null, metrics };
  };
  return { baseline: arm('baseline'), candidate: arm('candidate') };
};

/** One recorded pair: the baseline call's trace and its shadow (the candidate run on a copy). */
export interface ShadowPairInput {
  readonly at: string;
  readonly variables: Readonly<Record<string, unknown>> | null;
  /** `passed`: the live assertions' verdict on the side's output (null: none applied; absent: not run). */
  readonly baseline: { readonly id: string; readonly output: string | null; readonly passed?: boolean | null };
  readonly candidate: { readonly id: string; readonly output: string | null; readonly passed?: boolean | null };
}

const passRate = (pairs: readonly ShadowPairInput[], side: 'baseline' | 'candidate') => {
  const verdicts = pairs.flatMap((p) => (typeof p[side].passed === 'boolean' ? [p[side].passed] : []));
  return { passed: verdicts.filter(Boolean).length, total: verdicts.length };
};

const mean = (values: readonly number[]): number | null =>
  values.length === 0 ? null : values.reduce((a, b) => a + b, 0) / values.length;

const excerpt = (text: string | null, max: number): string | null =>
  text === null || text.length <= max ? text : `${text.slice(0, max)}…`;

/**
 * `total` pairs recorded, `pairs` the newest of them. Difference is 1 − token Jaccard (core drift's
 * pairSimilarity): cheap on long outputs and blind to reordering. `assertions`: the live assertion pass
 * rates per arm over these pairs, null when no side of any pair was checked.
 */
export const summarizeShadowPairs = (
  total: number,
  pairs: readonly ShadowPairInput[],
  options: { readonly examples?: number; readonly excerptChars?: number } = {},
): ShadowSummary => {
  const examples = options.examples ?? 5;
  const excerptChars = options.excerptChars ?? 400;
  const length = (side: 'baseline' | 'candidate') => ({
    mean: mean(pairs.flatMap((p) => (p[side].output === null ? [] : [p[side].output.length]))),
  });
  const differing: ShadowPair[] = pairs
    .map((pair) => ({
      pair,
      difference: 1 - pairSimilarity(pair.baseline.output ?? '', pair.candidate.output ?? ''),
    }))
    .filter(({ pair, difference }) => difference > 0 || pair.baseline.output !== pair.candidate.output)
    .sort((a, b) => b.difference - a.difference)
    .slice(0, examples)
    .map(({ pair, difference }) => ({
      traceId: pair.baseline.id,
      shadowTraceId: pair.candidate.id,
      at: pair.at,
      variables: pair.variables,
      baseline: {
        output: excerpt(pair.baseline.output, excerptChars),
        length: pair.baseline.output?.length ?? 0,
        ...(pair.baseline.passed === undefined ? {} : { passed: pair.baseline.passed }),
      },
      candidate: {
        output: excerpt(pair.candidate.output, excerptChars),
        length: pair.candidate.output?.length ?? 0,
        ...(pair.candidate.passed === undefined ? {} : { passed: pair.candidate.passed }),
      },
      difference,
    }));
  const baseline = passRate(pairs, 'baseline');
  const candidate = passRate(pairs, 'candidate');
  return {
    pairs: total,
    assertions: baseline.total + candidate.total === 0 ? null : { baseline, candidate },
    length: { baseline: length('baseline'), candidate: length('candidate') },
    differing,
  };
};
