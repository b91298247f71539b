import type { RolloutConfig, RolloutMode } from './rollouts/config.js';
import type { ArmPair, GuardrailVerdict } from './rollouts/guardrails.js';
import type { RolloutState } from './rollouts/state.js';
import type { TargetingRule } from './rollouts/targeting.js';

/** Rollouts as the API answers them (docs/api.md, "Rollouts"): shared by the server, the CLI and the dashboard. */

export interface RolloutView {
  readonly id: string;
  readonly name: string;
  readonly label: string;
  readonly mode: RolloutMode;
  readonly state: RolloutState;
  /** The share (%) applied now: 0 unless running or paused. */
  readonly ramp: number;
  readonly stepIndex: number;
  readonly steps: readonly number[];
  readonly stepStartedAt: string | null;
  readonly baselineSha: string | null;
  readonly candidate: { readonly sha: string; readonly version: number };
  readonly salt: string;
  readonly config: RolloutConfig;
  readonly reason: string | null;
  readonly createdBy: string;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly endedAt: string | null;
  /** Targeting rules tried before the ramp; null: none (absent from servers before them). */
  readonly rules?: readonly TargetingRule[] | null;
  /** The kill switch: everyone is served the baseline until resumed. */
  readonly killed?: boolean;
}

export const ROLLOUT_DECISION_ACTIONS = [
  'start',
  'advance',
  'hold',
  'pause',
  'resume',
  'abort',
  'complete',
  'manual-advance',
  'rules',
  'kill',
] as const;
export type RolloutDecisionAction = (typeof ROLLOUT_DECISION_ACTIONS)[number];

export interface RolloutDecisionView {
  readonly id: number;
  readonly at: string;
  readonly action: RolloutDecisionAction;
  /** A person's name, or `system:rollouts` for the scheduler's. */
  readonly actor: string;
  readonly reason: string;
  /** The scheduler's: core's RolloutDecision; a start's: `{ plan }`; a person's: null. */
  readonly figures: unknown;
}

/** One arm's rate or mean of a guardrail metric, with its confidence-sequence interval (rollout-figures.ts). */
export interface ArmMetricFigure {
  readonly count: number;
  /** The rate or mean; null with no samples. */
  readonly value: number | null;
  /** The interval, null below 2 samples. Rates are clipped to [0, 1]. */
  readonly lower: number | null;
  readonly upper: number | null;
}

/** Calls and distinct units per arm since the rollout started. */
export interface RolloutArmFigures {
  readonly requests: number;
  readonly units: number | null;
  /** Each guardrail metric's rate or mean with its interval, when the traces have it. */
  readonly metrics?: Partial<Record<GuardrailVerdict['metric'], ArmMetricFigure>>;
}

/** Passed / total live assertion results of one arm. */
export interface ShadowPassRate {
  readonly passed: number;
  readonly total: number;
}

/** One pair of a shadow rollout: the same call answered by the baseline and (on a copy) by the candidate. */
export interface ShadowPair {
  readonly traceId: string;
  readonly shadowTraceId: string;
  readonly at: string;
  readonly variables?: Readonly<Record<string, unknown>> | null;
  readonly baseline: { readonly output: string | null; readonly length: number; readonly passed?: boolean | null };
  readonly candidate: { readonly output: string | null; readonly length: number; readonly passed?: boolean | null };
  /** How far apart the two outputs are, 0 (same) to 1. */
  readonly difference: number;
}

/** A shadow rollout's pairs, summed up: assertion pass rates per arm, lengths, the pairs that differ most. */
export interface ShadowSummary {
  readonly pairs: number;
  readonly assertions: ArmPair<ShadowPassRate> | null;
  readonly length: ArmPair<{ readonly mean: number | null }>;
  readonly differing: readonly ShadowPair[];
}

/** `GET /api/v1/rollouts/:id`. The figures are null until the server reads traces per arm. */
export interface RolloutDetail {
  readonly rollout: RolloutView;
  readonly decisions: readonly RolloutDecisionView[];
  readonly arms: ArmPair<RolloutArmFigures> | null;
  readonly guardrails: readonly GuardrailVerdict[] | null;
  readonly shadow: ShadowSummary | null;
}

/** One span of the ramp over time: from `at`, `ramp` % in `state`, until the next span. */
export interface RampSpan {
  readonly at: string;
  readonly ramp: number;
  readonly state: RolloutState;
  readonly stepIndex: number;
  readonly action: RolloutDecisionAction;
  readonly actor: string;
}

/**
 * The ramp over time, replayed from the decision log: a start takes the first step; an advance the next;
 * a pause holds the ramp (units keep their arm); an abort ends at 0 and a completion at 100 (the label
 * serves the candidate). Holds change nothing and make no span.
 */
export const rampHistory = (
  rollout: Pick<RolloutView, 'steps'>,
  decisions: readonly Pick<RolloutDecisionView, 'at' | 'action' | 'actor'>[],
): RampSpan[] => {
  const spans: RampSpan[] = [];
  let stepIndex = 0;
  let state: RolloutState = 'draft';
  for (const decision of decisions) {
    const { action } = decision;
    if (action === 'hold') continue;
    if (action === 'advance' || action === 'manual-advance')
      stepIndex = Math.min(stepIndex + 1, rollout.steps.length - 1);
    if (action === 'start' || action === 'resume' || action === 'advance' || action === 'manual-advance')
      state = 'running';
    if (action === 'pause') state = 'paused';
    if (action === 'abort') state = 'aborted';
    if (action === 'complete') state = 'completed';
    const ramp = state === 'aborted' ? 0 : state === 'completed' ? 100 : (rollout.steps[stepIndex] ?? 0);
    spans.push({ at: decision.at, ramp, state, stepIndex, action, actor: decision.actor });
  }
  return spans;
};

/** A rate as a percentage with one decimal, or "–" when there is nothing to divide. */
export const formatPassRate = (rate: ShadowPassRate | null | undefined): string =>
  rate === null || rate === undefined || rate.total === 0
    ? '–'
    : `${((100 * rate.passed) / rate.total).toFixed(1)} % (${rate.passed}/${rate.total})`;

const precise = (value: number): string => String(Number(value.toPrecision(3)));

/** A signed figure as the guardrails read: +0.02, -150. */
export const signedFigure = (value: number): string => (value > 0 ? `+${precise(value)}` : precise(value));

/** `+0.031 [+0.012, +0.05]`: a difference with its confidence-sequence interval. */
export const formatDifference = (difference: GuardrailVerdict['difference']): string =>
  difference === null
    ? '–'
    : `${signedFigure(difference.estimate)} [${signedFigure(difference.lower)}, ${signedFigure(difference.upper)}]`;

/** A metric's per-arm value as read: rates in %, latency in ms, scores as they are. */
export const formatMetricValue = (metric: GuardrailVerdict['metric'], value: number | null): string => {
  if (value === null) return '–';
  if (metric === 'latency') return `${Math.round(value)} ms`;
  if (metric === 'score') return precise(value);
  return `${(100 * value).toFixed(1)} %`;
};

/** One arm's figure for a metric: `2.5 % [1.1 %, 4 %]`, its interval when it has one. */
export const formatArmFigure = (metric: GuardrailVerdict['metric'], figure: ArmMetricFigure | undefined): string => {
  if (figure === undefined || figure.value === null) return '–';
  const value = formatMetricValue(metric, figure.value);
  return figure.lower === null || figure.upper === null
    ? value
    : `${value} [${formatMetricValue(metric, figure.lower)}, ${formatMetricValue(metric, figure.upper)}]`;
};

/** The metrics either arm has figures for, in the guardrails' order. */
export const armMetrics = (arms: ArmPair<RolloutArmFigures>): GuardrailVerdict['metric'][] =>
  (['error_rate', 'latency', 'score', 'thumbs_down_rate', 'assertion_pass_rate'] as const).filter(
    (metric) => arms.baseline.metrics?.[metric] !== undefined || arms.candidate.metrics?.[metric] !== undefined,
  );
