import type { ArmPair, GuardrailVerdict, RolloutMetrics } from './guardrails.js';
import { evaluateGuardrails } from './guardrails.js';
import { sampleRatioMismatch, type SrmResult } from './srm.js';
import { activeRamp, transitionRollout, type Rollout } from './state.js';

/**
 * The rollout's next move after one look at its figures, with the figures behind it (to be recorded as
 * they are). In order: a failed guardrail aborts at once; a sample-ratio mismatch pauses; a step that has
 * not yet lasted its duration or gathered its samples holds; a guardrail leaning past its threshold
 * pauses rather than advance on a doubt; otherwise the ramp advances, or the rollout completes when the
 * next step would be 100 % or there is none.
 */

export interface RolloutObservations {
  /** Calls per arm since the current step started (in a shadow, each copied call counts in both). */
  readonly stepSamples: ArmPair<number>;
  /** Distinct unit keys per arm since the current step started, calls without one left out (split only). */
  readonly stepUnits?: ArmPair<number>;
  /**
   * What `stepUnits` counts: `units` (distinct unit hashes; the default) or `calls`, when no trace of the
   * step carries a unit and calls stand in for them.
   */
  readonly unitsCounted?: 'units' | 'calls';
  /** Calls of the step with no unit, left out of `stepUnits` when it counts units. */
  readonly callsWithoutUnit?: number;
  /** Guardrail figures per arm since the rollout started. */
  readonly metrics: RolloutMetrics;
}

export type RolloutVerdict = 'advance' | 'hold' | 'pause' | 'abort' | 'complete';

export type DecisionCause =
  | 'not_running'
  | 'guardrail_failed'
  | 'sample_ratio_mismatch'
  | 'step_in_progress'
  | 'guardrail_signal'
  | 'step_passed'
  | 'last_step_passed';

export interface RolloutDecision {
  readonly action: RolloutVerdict;
  readonly cause: DecisionCause;
  readonly reason: string;
  readonly at: string;
  readonly step: {
    readonly index: number;
    readonly ramp: number;
    readonly elapsedMs: number;
    readonly minDurationMs: number;
    readonly samples: ArmPair<number>;
    readonly minSamplesPerArm: number;
  };
  /** Where `advance` goes. */
  readonly nextStep: { readonly index: number; readonly ramp: number } | null;
  readonly guardrails: readonly GuardrailVerdict[];
  /** Null in a shadow, or when the step's ramp leaves an arm empty (0 or 100 %). */
  readonly srm: (SrmResult & { readonly counted: 'units' | 'calls' }) | null;
}

const formatDuration = (ms: number): string => {
  const minutes = Math.ceil(ms / 60_000);
  if (ms < 60_000) return `${Math.ceil(ms / 1000)} s`;
  return minutes === 1 ? '1 minute' : `${minutes} minutes`;
};

/** What the step still needs before it may pass, or undefined when it has it all. */
const stepShortfall = (
  rollout: Rollout,
  samples: ArmPair<number>,
  elapsedMs: number,
  ramp: number,
): string | undefined => {
  const { minStepDurationMs, minSamplesPerArm } = rollout.config;
  if (elapsedMs < minStepDurationMs) {
    return `the step has run ${formatDuration(elapsedMs)}: ${formatDuration(minStepDurationMs - elapsedMs)} left of its ${formatDuration(minStepDurationMs)}`;
  }
  // At a 100 % split the baseline serves nobody: only the candidate's samples count.
  const arms =
    rollout.config.mode === 'split' && ramp >= 100 ? (['candidate'] as const) : (['baseline', 'candidate'] as const);
  const short = arms.filter((arm) => samples[arm] < minSamplesPerArm);
  if (short.length === 0) return undefined;
  return short.map((arm) => `the ${arm} has ${samples[arm]} of ${minSamplesPerArm} samples`).join('; ');
};

export const decide = (rollout: Rollout, observations: RolloutObservations, now: Date): RolloutDecision => {
  const { config } = rollout;
  const ramp = activeRamp(rollout);
  const started = rollout.stepStartedAt === null ? now.getTime() : Date.parse(rollout.stepStartedAt);
  const elapsedMs = Math.max(0, now.getTime() - started);
  const step = {
    index: rollout.stepIndex,
    ramp,
    elapsedMs,
    minDurationMs: config.minStepDurationMs,
    samples: observations.stepSamples,
    minSamplesPerArm: config.minSamplesPerArm,
  };
  const following = config.steps[rollout.stepIndex + 1];
  const nextStep =
    following === undefined || following >= 100 ? null : { index: rollout.stepIndex + 1, ramp: following };
  const guardrails = evaluateGuardrails(config.guardrails, observations.metrics, config.alpha, config.sequentialTuning);
  const units = observations.stepUnits;
  const counted = observations.unitsCounted ?? 'units';
  const srm =
    config.mode === 'split' && units !== undefined && ramp > 0 && ramp < 100
      ? { ...sampleRatioMismatch([units.baseline, units.candidate], [100 - ramp, ramp]), counted }
      : null;
  const base = { at: now.toISOString(), step, guardrails, srm, nextStep: null };
  const verdict = (action: RolloutVerdict, cause: DecisionCause, reason: string): RolloutDecision => ({
    ...base,
    action,
    cause,
    reason,
  });

  if (rollout.state !== 'running')
    return verdict('hold', 'not_running', `the rollout is ${rollout.state}: nothing to decide`);
  const failed = guardrails.filter((g) => g.status === 'fail');
  if (failed.length > 0) return verdict('abort', 'guardrail_failed', failed.map((g) => g.reason).join('; '));
  if (srm?.mismatch === true) {
    const unitless = observations.callsWithoutUnit ?? 0;
    const what =
      counted === 'calls'
        ? 'calls (no trace carries a unit)'
        : unitless > 0
          ? `units (${unitless} calls without a unit left out)`
          : 'units';
    return verdict(
      'pause',
      'sample_ratio_mismatch',
      `sample-ratio mismatch at ${ramp} %: ${srm.observed[0]} baseline and ${srm.observed[1]} candidate ${what}, expected about ${Math.round(srm.expected[0]!)} and ${Math.round(srm.expected[1]!)} (chi-square ${srm.statistic.toFixed(1)}, p = ${srm.pValue.toExponential(2)}): check assignment and trace logging`,
    );
  }
  const shortfall = stepShortfall(rollout, observations.stepSamples, elapsedMs, ramp);
  if (shortfall !== undefined)
    return verdict('hold', 'step_in_progress', `step ${rollout.stepIndex + 1} (${ramp} %): ${shortfall}`);
  const leaning = guardrails.filter((g) => g.status === 'signal');
  if (leaning.length > 0)
    return verdict(
      'pause',
      'guardrail_signal',
      `inconclusive, so not advancing: ${leaning.map((g) => g.reason).join('; ')}`,
    );
  if (nextStep === null) {
    return verdict(
      'complete',
      'last_step_passed',
      `the last step (${ramp} %) passed its duration and samples with no guardrail failing`,
    );
  }
  return {
    ...verdict(
      'advance',
      'step_passed',
      `step ${rollout.stepIndex + 1} (${ramp} %) passed its duration and samples with no guardrail failing: on to ${nextStep.ramp} %`,
    ),
    nextStep,
  };
};

/** The rollout after its decision: hold leaves it as it is; the others are the matching transition. */
export const applyDecision = (rollout: Rollout, decision: RolloutDecision, now: Date): Rollout =>
  decision.action === 'hold' ? rollout : transitionRollout(rollout, decision.action, now, decision.reason);
