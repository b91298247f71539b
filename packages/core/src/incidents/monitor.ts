import { PromptopsError, formatIssues, type FieldIssue } from '../errors.js';
import { GUARDRAIL_METRICS, type Guardrail, type GuardrailMetric } from '../rollouts/config.js';
import { evaluateGuardrails, type GuardrailVerdict, type RolloutMetrics } from '../rollouts/guardrails.js';
import { DEFAULT_SEQUENTIAL_TUNING } from '../rollouts/sequential.js';

/**
 * A monitor watches what a (prompt, label) serves against a baseline and fires when a condition is
 * worse beyond its threshold. It uses the rollouts' confidence sequences (evaluateGuardrail), so looking
 * after every tick does not inflate false alarms; `alpha` is split evenly among its conditions.
 */

export const MONITOR_ACTIONS = ['notify', 'rollback'] as const;
export type MonitorAction = (typeof MONITOR_ACTIONS)[number];

/** `previous`: the version the label served before its last move; `fixed`: a named sha. */
export type MonitorBaseline = { readonly kind: 'previous' } | { readonly kind: 'fixed'; readonly sha: string };

export interface MonitorConfig {
  /** metric and the tolerated change (current − baseline) toward worse, as a rollout's guardrails. */
  readonly conditions: readonly Guardrail[];
  /** How far back the current version's traces are read. */
  readonly windowMs: number;
  readonly baseline: MonitorBaseline;
  /** Current-version samples needed before the monitor may fire (at least the guardrails' 30). */
  readonly minSamples: number;
  /** After firing, the monitor stays quiet this long. */
  readonly cooldownMs: number;
  readonly action: MonitorAction;
  readonly alpha: number;
  readonly sequentialTuning: number;
}

export const DEFAULT_MONITOR_CONFIG: MonitorConfig = {
  conditions: [
    { metric: 'error_rate', threshold: 0.05 },
    { metric: 'score', threshold: -0.1 },
    { metric: 'thumbs_down_rate', threshold: 0.1 },
  ],
  windowMs: 60 * 60_000,
  baseline: { kind: 'previous' },
  minSamples: 50,
  cooldownMs: 30 * 60_000,
  action: 'notify',
  alpha: 0.05,
  sequentialTuning: DEFAULT_SEQUENTIAL_TUNING,
};

const positiveInteger = (value: unknown, min: number): boolean =>
  typeof value === 'number' && Number.isInteger(value) && value >= min;

const checkConditions = (value: unknown, issues: FieldIssue[]): void => {
  if (!Array.isArray(value) || value.length === 0) {
    issues.push({
      path: 'conditions',
      message: 'must be a non-empty list such as [{ "metric": "score", "threshold": -0.1 }]',
    });
    return;
  }
  const seen = new Set<string>();
  value.forEach((item: unknown, i) => {
    const { metric, threshold } = (typeof item === 'object' && item !== null ? item : {}) as Record<string, unknown>;
    if (typeof metric !== 'string' || !Object.hasOwn(GUARDRAIL_METRICS, metric)) {
      issues.push({
        path: `conditions[${i}].metric`,
        message: `must be one of ${Object.keys(GUARDRAIL_METRICS).join(', ')}`,
      });
      return;
    }
    if (seen.has(metric)) issues.push({ path: `conditions[${i}].metric`, message: `${metric} is already watched` });
    seen.add(metric);
    const worse = GUARDRAIL_METRICS[metric as GuardrailMetric].worse;
    if (typeof threshold !== 'number' || !Number.isFinite(threshold)) {
      issues.push({ path: `conditions[${i}].threshold`, message: 'must be a number' });
    } else if (worse === 'higher' ? threshold < 0 : threshold > 0) {
      issues.push({
        path: `conditions[${i}].threshold`,
        message: `${metric}: ${worse} is worse, so the tolerated change is ${worse === 'higher' ? '0 or above' : '0 or below'}`,
      });
    }
  });
};

/** A monitor's settings from user input, defaults filled in; every bad field named in one invalid_monitor. */
export const monitorConfig = (input: unknown): MonitorConfig => {
  const issues: FieldIssue[] = [];
  if (input !== undefined && (typeof input !== 'object' || input === null || Array.isArray(input))) {
    issues.push({ path: '', message: 'the monitor must be an object such as { "action": "rollback" }' });
  }
  const given = (typeof input === 'object' && input !== null ? input : {}) as Record<string, unknown>;
  const config = {
    ...DEFAULT_MONITOR_CONFIG,
    ...Object.fromEntries(Object.entries(given).filter(([, v]) => v !== undefined)),
  } as Record<keyof MonitorConfig, unknown>;
  checkConditions(config.conditions, issues);
  if (!positiveInteger(config.windowMs, 60_000))
    issues.push({ path: 'windowMs', message: 'must be a whole number of milliseconds, one minute (60000) or more' });
  if (!positiveInteger(config.minSamples, 30))
    issues.push({ path: 'minSamples', message: 'must be a whole number, 30 or more' });
  if (!positiveInteger(config.cooldownMs, 0))
    issues.push({ path: 'cooldownMs', message: 'must be a whole number of milliseconds, 0 or more' });
  if (!MONITOR_ACTIONS.includes(config.action as MonitorAction))
    issues.push({ path: 'action', message: `must be notify or rollback, got ${JSON.stringify(config.action)}` });
  const baseline = config.baseline as Record<string, unknown> | null;
  const baselineOk =
    typeof baseline === 'object' &&
    baseline !== null &&
    (baseline['kind'] === 'previous' ||
      (baseline['kind'] === 'fixed' &&
        typeof baseline['sha'] === 'string' &&
        /^[0-9a-f]{7,64}$/.test(baseline['sha'])));
  if (!baselineOk)
    issues.push({ path: 'baseline', message: 'must be { "kind": "previous" } or { "kind": "fixed", "sha": "<sha>" }' });
  if (typeof config.alpha !== 'number' || !(config.alpha > 0 && config.alpha <= 0.2))
    issues.push({ path: 'alpha', message: 'must be above 0 and at most 0.2 (0.05 is usual)' });
  if (typeof config.sequentialTuning !== 'number' || !(config.sequentialTuning >= 1))
    issues.push({ path: 'sequentialTuning', message: 'must be a sample size of 1 or more (5000 is usual)' });
  if (issues.length > 0) {
    throw new PromptopsError('invalid', 'invalid_monitor', `the monitor is not valid:\n${formatIssues(issues)}`, {
      issues,
      fix: 'correct the fields named above; leave a field out to take its default',
    });
  }
  return {
    conditions: (config.conditions as Guardrail[]).map(({ metric, threshold }) => ({ metric, threshold })),
    windowMs: config.windowMs as number,
    baseline: baseline!['kind'] === 'fixed' ? { kind: 'fixed', sha: baseline!['sha'] as string } : { kind: 'previous' },
    minSamples: config.minSamples as number,
    cooldownMs: config.cooldownMs as number,
    action: config.action as MonitorAction,
    alpha: config.alpha as number,
    sequentialTuning: config.sequentialTuning as number,
  };
};

export interface MonitorEvaluation {
  readonly status: 'fire' | 'quiet';
  /** Why: the failing conditions, too few samples, cooling down, or all within bounds. */
  readonly reason: string;
  readonly at: string;
  /** Current-version samples (calls) in the window. */
  readonly samples: number;
  readonly verdicts: readonly GuardrailVerdict[];
}

/**
 * One look. `observations` pairs the baseline's figures with the current version's (`candidate`), as a
 * rollout's arms; `lastFiredAt` starts the cool-down. Fires only on a `fail` verdict (the whole interval
 * past the threshold), never on a signal, and never below `minSamples` calls of the current version.
 */
export const evaluateMonitor = (
  config: MonitorConfig,
  observations: RolloutMetrics,
  now: Date,
  lastFiredAt?: string | null,
): MonitorEvaluation => {
  const at = now.toISOString();
  const verdicts = evaluateGuardrails(config.conditions, observations, config.alpha, config.sequentialTuning);
  const samples = Math.max(
    0,
    ...Object.values(observations).map((pair) => (pair as { candidate: { count: number } }).candidate.count),
  );
  const quiet = (reason: string): MonitorEvaluation => ({ status: 'quiet', reason, at, samples, verdicts });
  if (lastFiredAt != null && now.getTime() - Date.parse(lastFiredAt) < config.cooldownMs) {
    return quiet(`cooling down until ${new Date(Date.parse(lastFiredAt) + config.cooldownMs).toISOString()}`);
  }
  if (samples < config.minSamples)
    return quiet(`${samples} samples of the current version; the monitor needs ${config.minSamples}`);
  const failed = verdicts.filter((verdict) => verdict.status === 'fail');
  if (failed.length === 0) return quiet('every condition is within its threshold');
  return { status: 'fire', reason: failed.map((verdict) => verdict.reason).join('; '), at, samples, verdicts };
};
