import {
  PromptopsError,
  isPromptopsError,
  parseGuardrail,
  rolloutConfig,
  type FieldIssue,
  type Guardrail,
  type RolloutConfig,
} from '@promptops/core';

/** A rollout's plan as the API takes it (`POST /api/v1/prompts/:name/rollouts`, a change request's `rollout`). */
export interface RolloutPlanInput {
  readonly mode?: string;
  readonly steps?: readonly number[];
  readonly minSamples?: number;
  /** Milliseconds, or a duration such as "90s", "10m", "1h". */
  readonly stepDuration?: string | number;
  /** `metric:change`, e.g. "error_rate:+0.02". */
  readonly guardrails?: readonly string[];
  readonly alpha?: number;
}

const UNITS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

const invalid = (issues: FieldIssue[]): PromptopsError =>
  new PromptopsError(
    'invalid',
    'invalid_rollout',
    `the rollout's plan is not valid: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`,
    { issues, fix: 'correct the fields named above; leave a field out to take its default' },
  );

/** "10m" → 600000; a number is milliseconds already. */
export const parseStepDuration = (value: string | number): number => {
  if (typeof value === 'number') return value;
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$/.exec(value);
  if (match === null) {
    throw invalid([
      {
        path: 'stepDuration',
        message: `must be milliseconds or a duration like 90s, 10m, 1h; got ${JSON.stringify(value)}`,
      },
    ]);
  }
  return Math.round(Number(match[1]) * UNITS[match[2] ?? 'ms']!);
};

/** Core's names for the fields the API names otherwise. */
const API_FIELD: Readonly<Record<string, string>> = {
  minStepDurationMs: 'stepDuration',
  minSamplesPerArm: 'minSamples',
};

/** The plan, checked by core's rolloutConfig, with every bad field named as the API names it. */
export const planOf = (input: RolloutPlanInput): RolloutConfig => {
  const guardrails: Guardrail[] | undefined = input.guardrails?.map((text, i) => {
    try {
      return parseGuardrail(text);
    } catch (error) {
      if (!isPromptopsError(error)) throw error;
      throw invalid([{ path: `guardrails[${i}]`, message: error.message }]);
    }
  });
  try {
    return rolloutConfig({
      mode: input.mode,
      steps: input.steps,
      minSamplesPerArm: input.minSamples,
      minStepDurationMs: input.stepDuration === undefined ? undefined : parseStepDuration(input.stepDuration),
      guardrails,
      alpha: input.alpha,
    });
  } catch (error) {
    if (!isPromptopsError(error) || error.issues === undefined) throw error;
    throw invalid(
      error.issues.map((issue) => {
        const [head, ...rest] = issue.path.split('.');
        const renamed = API_FIELD[head ?? ''];
        return renamed === undefined ? issue : { ...issue, path: [renamed, ...rest].join('.') };
      }),
    );
  }
};
