import { PromptopsError, formatIssues, type FieldIssue } from '../errors.js';
import { DEFAULT_SEQUENTIAL_TUNING } from './sequential.js';

/**
 * A rollout's plan: the mode, the ramp, what each step needs before the next, and the guardrails that
 * abort it. Checked here once, by hand (no schema library, so the SDK can import rollouts cheaply).
 */

export const ROLLOUT_MODES = ['shadow', 'split'] as const;
/** `shadow`: the baseline answers, the candidate runs on a copy; `split`: units are assigned to arms. */
export type RolloutMode = (typeof ROLLOUT_MODES)[number];

/**
 * What each metric is per arm, and which way is worse. Rates are shares of calls (error_rate), of calls
 * with feedback (thumbs_down_rate) or of live assertion results (assertion_pass_rate); latency is the mean
 * in milliseconds; score the mean score.
 */
export const GUARDRAIL_METRICS = {
  error_rate: { kind: 'proportion', worse: 'higher' },
  latency: { kind: 'mean', worse: 'higher' },
  score: { kind: 'mean', worse: 'lower' },
  thumbs_down_rate: { kind: 'proportion', worse: 'higher' },
  assertion_pass_rate: { kind: 'proportion', worse: 'lower' },
} as const;
export type GuardrailMetric = keyof typeof GUARDRAIL_METRICS;

export interface Guardrail {
  readonly metric: GuardrailMetric;
  /**
   * The largest change (candidate − baseline) toward worse that is tolerated: ≥ 0 where higher is
   * worse (error_rate +0.02), ≤ 0 where lower is worse (score −0.05).
   */
  readonly threshold: number;
}

export interface RolloutConfig {
  readonly mode: RolloutMode;
  /** Percentages, increasing, each in (0, 100] with at most two decimals. */
  readonly steps: readonly number[];
  readonly minStepDurationMs: number;
  readonly minSamplesPerArm: number;
  readonly guardrails: readonly Guardrail[];
  /** The false-abort budget of the whole rollout, split evenly among its guardrails. */
  readonly alpha: number;
  /** The sample size (both arms) where the confidence sequences are tightest. */
  readonly sequentialTuning: number;
}

export const DEFAULT_ROLLOUT_STEPS: readonly number[] = [1, 5, 25, 50, 100];

export const DEFAULT_ROLLOUT_CONFIG: RolloutConfig = {
  mode: 'split',
  steps: DEFAULT_ROLLOUT_STEPS,
  minStepDurationMs: 10 * 60_000,
  minSamplesPerArm: 100,
  guardrails: [{ metric: 'error_rate', threshold: 0.02 }],
  alpha: 0.05,
  sequentialTuning: DEFAULT_SEQUENTIAL_TUNING,
};

const isMetric = (value: unknown): value is GuardrailMetric =>
  typeof value === 'string' && Object.hasOwn(GUARDRAIL_METRICS, value);

const METRIC_NAMES = Object.keys(GUARDRAIL_METRICS).join(', ');

/** Why `threshold` does not suit `metric`, or undefined when it does. */
const thresholdProblem = (metric: GuardrailMetric, threshold: unknown): string | undefined => {
  if (typeof threshold !== 'number' || !Number.isFinite(threshold)) return 'must be a number';
  if (GUARDRAIL_METRICS[metric].worse === 'higher' && threshold < 0) {
    return `${metric}: higher is worse, so the tolerated change is 0 or above (e.g. +0.02)`;
  }
  if (GUARDRAIL_METRICS[metric].worse === 'lower' && threshold > 0) {
    return `${metric}: lower is worse, so the tolerated change is 0 or below (e.g. -0.05)`;
  }
  return undefined;
};

const isInteger = (value: unknown, min: number): value is number =>
  typeof value === 'number' && Number.isInteger(value) && value >= min;

const checkSteps = (steps: unknown, issues: FieldIssue[]): void => {
  if (!Array.isArray(steps) || steps.length === 0) {
    issues.push({ path: 'steps', message: 'must be a non-empty list of percentages, e.g. [1, 5, 25, 50, 100]' });
    return;
  }
  steps.forEach((step: unknown, i) => {
    const ok =
      typeof step === 'number' && step > 0 && step <= 100 && Math.abs(step * 100 - Math.round(step * 100)) < 1e-6;
    if (!ok)
      issues.push({
        path: `steps[${i}]`,
        message: `must be a percentage above 0 and at most 100 with at most two decimals, got ${JSON.stringify(step)}`,
      });
    else if (i > 0 && typeof steps[i - 1] === 'number' && step <= (steps[i - 1] as number)) {
      issues.push({
        path: `steps[${i}]`,
        message: `must be above the step before it (${String(steps[i - 1])}): steps only go up`,
      });
    }
  });
};

const checkGuardrails = (guardrails: unknown, issues: FieldIssue[]): void => {
  if (!Array.isArray(guardrails)) {
    issues.push({ path: 'guardrails', message: 'must be a list of { metric, threshold }' });
    return;
  }
  const seen = new Set<string>();
  guardrails.forEach((guardrail: unknown, i) => {
    const { metric, threshold } = (typeof guardrail === 'object' && guardrail !== null ? guardrail : {}) as Record<
      string,
      unknown
    >;
    if (!isMetric(metric)) {
      issues.push({
        path: `guardrails[${i}].metric`,
        message: `must be one of ${METRIC_NAMES}, got ${JSON.stringify(metric)}`,
      });
      return;
    }
    if (seen.has(metric))
      issues.push({
        path: `guardrails[${i}].metric`,
        message: `${metric} is already guarded: one guardrail per metric`,
      });
    seen.add(metric);
    const problem = thresholdProblem(metric, threshold);
    if (problem !== undefined) issues.push({ path: `guardrails[${i}].threshold`, message: problem });
  });
};

/** The plan from user input, defaults filled in; every bad field is named in one invalid_rollout error. */
export const rolloutConfig = (input: unknown): RolloutConfig => {
  const given = (typeof input === 'object' && input !== null ? input : {}) as Partial<
    Record<keyof RolloutConfig, unknown>
  >;
  const config = {
    ...DEFAULT_ROLLOUT_CONFIG,
    ...Object.fromEntries(Object.entries(given).filter(([, v]) => v !== undefined)),
  } as Record<keyof RolloutConfig, unknown>;
  const issues: FieldIssue[] = [];
  if (input !== undefined && (typeof input !== 'object' || input === null || Array.isArray(input))) {
    issues.push({
      path: '',
      message: 'the plan must be an object such as { "mode": "split", "steps": [1, 5, 25, 50, 100] }',
    });
  }
  if (!ROLLOUT_MODES.includes(config.mode as RolloutMode))
    issues.push({ path: 'mode', message: `must be shadow or split, got ${JSON.stringify(config.mode)}` });
  checkSteps(config.steps, issues);
  if (!isInteger(config.minStepDurationMs, 0))
    issues.push({ path: 'minStepDurationMs', message: 'must be a whole number of milliseconds, 0 or more' });
  if (!isInteger(config.minSamplesPerArm, 0))
    issues.push({ path: 'minSamplesPerArm', message: 'must be a whole number, 0 or more' });
  checkGuardrails(config.guardrails, issues);
  if (typeof config.alpha !== 'number' || !(config.alpha > 0 && config.alpha <= 0.2))
    issues.push({ path: 'alpha', message: 'must be above 0 and at most 0.2 (0.05 is usual)' });
  if (typeof config.sequentialTuning !== 'number' || !(config.sequentialTuning >= 1))
    issues.push({ path: 'sequentialTuning', message: 'must be a sample size of 1 or more (5000 is usual)' });
  if (issues.length > 0) {
    throw new PromptopsError(
      'invalid',
      'invalid_rollout',
      `the rollout's plan is not valid:\n${formatIssues(issues)}`,
      {
        issues,
        fix: 'correct the fields named above; leave a field out to take its default',
      },
    );
  }
  return {
    mode: config.mode as RolloutMode,
    steps: [...(config.steps as number[])],
    minStepDurationMs: config.minStepDurationMs as number,
    minSamplesPerArm: config.minSamplesPerArm as number,
    guardrails: (config.guardrails as Guardrail[]).map(({ metric, threshold }) => ({ metric, threshold })),
    alpha: config.alpha as number,
    sequentialTuning: config.sequentialTuning as number,
  };
};

/** `metric:threshold` as the CLI takes it, e.g. `error_rate:+0.02` or `score:-0.05`. */
export const parseGuardrail = (text: string): Guardrail => {
  const at = text.indexOf(':');
  const metric = at < 0 ? text : text.slice(0, at);
  const raw = at < 0 ? '' : text.slice(at + 1).trim();
  const threshold = raw === '' ? Number.NaN : Number(raw);
  const problem = !isMetric(metric) ? `the metric must be one of ${METRIC_NAMES}` : thresholdProblem(metric, threshold);
  if (problem !== undefined) {
    throw new PromptopsError('invalid', 'invalid_rollout', `guardrail "${text}": ${problem}`, {
      fix: 'write a guardrail as metric:change, e.g. error_rate:+0.02, latency:+150 or score:-0.05',
    });
  }
  return { metric: metric as GuardrailMetric, threshold };
};
