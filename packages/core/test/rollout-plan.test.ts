import { describe, expect, it } from 'vitest';
import {
  DEFAULT_ROLLOUT_STEPS,
  PromptopsError,
  activeRamp,
  applyDecision,
  canTransition,
  decide,
  newRollout,
  parseGuardrail,
  rolloutConfig,
  transitionRollout,
  type Rollout,
  type RolloutAction,
  type RolloutObservations,
  type RolloutState,
} from '../src/index.js';

const T0 = new Date('2026-03-01T10:00:00.000Z');
const minutes = (n: number): Date => new Date(T0.getTime() + n * 60_000);

const thrown = (fn: () => unknown): PromptopsError => {
  try {
    fn();
  } catch (error) {
    if (error instanceof PromptopsError) return error;
    throw error;
  }
  throw new Error('expected a PromptopsError');
};

describe('rollout config', () => {
  it('fills the defaults: split, steps 1 5 25 50 100, 10 minutes and 100 samples a step, error rate +0.02', () => {
    expect(rolloutConfig({})).toEqual({
      mode: 'split',
      steps: [1, 5, 25, 50, 100],
      minStepDurationMs: 600_000,
      minSamplesPerArm: 100,
      guardrails: [{ metric: 'error_rate', threshold: 0.02 }],
      alpha: 0.05,
      sequentialTuning: 5000,
    });
    expect(DEFAULT_ROLLOUT_STEPS).toEqual([1, 5, 25, 50, 100]);
  });

  it('names every bad field and its fix', () => {
    const error = thrown(() =>
      rolloutConfig({
        mode: 'canary',
        steps: [5, 1, 100.5],
        minStepDurationMs: -1,
        minSamplesPerArm: 1.5,
        guardrails: [
          { metric: 'cpu', threshold: 1 },
          { metric: 'score', threshold: 0.1 },
        ],
        alpha: 0.9,
      }),
    );
    expect(error.code).toBe('invalid_rollout');
    expect(error.kind).toBe('invalid');
    const paths = error.issues?.map((issue) => issue.path);
    expect(paths).toEqual([
      'mode',
      'steps[1]',
      'steps[2]',
      'minStepDurationMs',
      'minSamplesPerArm',
      'guardrails[0].metric',
      'guardrails[1].threshold',
      'alpha',
    ]);
    expect(error.message).toMatch(/steps\[1\]/);
    expect(error.issues?.find((issue) => issue.path === 'guardrails[1].threshold')?.message).toMatch(
      /score.*lower is worse.*0 or below/,
    );
  });

  it('refuses the same metric twice, an empty step list, and a plan that is no object', () => {
    const twice = thrown(() =>
      rolloutConfig({
        guardrails: [
          { metric: 'latency', threshold: 50 },
          { metric: 'latency', threshold: 80 },
        ],
      }),
    );
    expect(twice.issues?.map((issue) => issue.path)).toEqual(['guardrails[1].metric']);
    expect(thrown(() => rolloutConfig({ steps: [] })).issues?.[0]?.path).toBe('steps');
    expect(thrown(() => rolloutConfig([1, 5])).issues?.[0]?.path).toBe('');
    expect(rolloutConfig(undefined).steps).toEqual([1, 5, 25, 50, 100]);
  });

  it('parses the CLI form of a guardrail', () => {
    expect(parseGuardrail('error_rate:+0.02')).toEqual({ metric: 'error_rate', threshold: 0.02 });
    expect(parseGuardrail('score:-0.05')).toEqual({ metric: 'score', threshold: -0.05 });
    expect(parseGuardrail('latency:150')).toEqual({ metric: 'latency', threshold: 150 });
    expect(thrown(() => parseGuardrail('latency')).code).toBe('invalid_rollout');
    expect(thrown(() => parseGuardrail('latency:fast')).message).toMatch(/latency:fast/);
    expect(thrown(() => parseGuardrail('score:+0.1')).message).toMatch(/score/);
  });
});

describe('rollout states', () => {
  const draft = newRollout('ro_1', rolloutConfig({}));

  it('starts as a draft salted with its id, serving nothing', () => {
    expect(draft).toMatchObject({ id: 'ro_1', salt: 'ro_1', state: 'draft', stepIndex: 0, stepStartedAt: null });
    expect(activeRamp(draft)).toBe(0);
  });

  it('runs through start, pause, resume, advance and complete', () => {
    const running = transitionRollout(draft, 'start', T0);
    expect(running).toMatchObject({ state: 'running', stepIndex: 0, stepStartedAt: T0.toISOString() });
    expect(activeRamp(running)).toBe(1);
    const paused = transitionRollout(running, 'pause', minutes(3), 'looking at the traces');
    expect(paused).toMatchObject({ state: 'paused', reason: 'looking at the traces' });
    expect(activeRamp(paused)).toBe(1);
    const resumed = transitionRollout(paused, 'resume', minutes(5));
    // A resumed step serves its whole duration again.
    expect(resumed).toMatchObject({ state: 'running', stepIndex: 0, stepStartedAt: minutes(5).toISOString() });
    const advanced = transitionRollout(resumed, 'advance', minutes(20));
    expect(advanced).toMatchObject({ stepIndex: 1, stepStartedAt: minutes(20).toISOString() });
    expect(activeRamp(advanced)).toBe(5);
    expect(transitionRollout(advanced, 'complete', minutes(30)).state).toBe('completed');
  });

  const table: [RolloutState, RolloutAction, boolean][] = [
    ['draft', 'start', true],
    ['draft', 'pause', false],
    ['draft', 'abort', true],
    ['running', 'start', false],
    ['running', 'resume', false],
    ['paused', 'advance', false],
    ['paused', 'complete', false],
    ['paused', 'abort', true],
    ['completed', 'abort', false],
    ['completed', 'resume', false],
    ['aborted', 'start', false],
    ['aborted', 'abort', false],
  ];
  it.each(table)('%s --%s--> allowed: %s', (state, action, allowed) => {
    expect(canTransition(state, action)).toBe(allowed);
    const rollout: Rollout = { ...draft, state, stepStartedAt: state === 'draft' ? null : T0.toISOString() };
    if (allowed) expect(() => transitionRollout(rollout, action, T0)).not.toThrow();
    else {
      const error = thrown(() => transitionRollout(rollout, action, T0));
      expect(error.code).toBe('rollout_transition_invalid');
      expect(error.kind).toBe('conflict');
      expect(error.message).toContain(state);
      expect(error.message).toContain(action);
    }
  });

  it('cannot advance past the last step', () => {
    let rollout = transitionRollout(newRollout('ro_2', rolloutConfig({ steps: [10, 50] })), 'start', T0);
    rollout = transitionRollout(rollout, 'advance', T0);
    const error = thrown(() => transitionRollout(rollout, 'advance', T0));
    expect(error.code).toBe('rollout_transition_invalid');
    expect(error.fix).toMatch(/complete/);
  });
});

const equalMetrics = (baseline: number, candidate: number) => ({
  error_rate: {
    baseline: { count: baseline, events: Math.round(baseline * 0.02) },
    candidate: { count: candidate, events: Math.round(candidate * 0.02) },
  },
});
const observations = (baseline: number, candidate: number): RolloutObservations => ({
  stepSamples: { baseline, candidate },
  stepUnits: { baseline, candidate },
  metrics: equalMetrics(baseline, candidate),
});

describe('decide', () => {
  const running = transitionRollout(newRollout('ro_3', rolloutConfig({})), 'start', T0);

  it('holds until the step has lasted its duration, with the figures behind it', () => {
    const decision = decide(running, observations(9900, 100), minutes(9));
    expect(decision.action).toBe('hold');
    expect(decision.cause).toBe('step_in_progress');
    expect(decision.step).toMatchObject({ index: 0, ramp: 1, elapsedMs: 540_000, minDurationMs: 600_000 });
    expect(decision.reason).toMatch(/1 minute/);
  });

  it('holds until each arm has its samples', () => {
    const decision = decide(running, observations(9000, 99), minutes(11));
    expect(decision).toMatchObject({ action: 'hold', cause: 'step_in_progress' });
    expect(decision.reason).toMatch(/candidate has 99 of 100 samples/);
  });

  it('advances when both are met and no guardrail failed', () => {
    const decision = decide(running, observations(9900, 100), minutes(10));
    expect(decision).toMatchObject({ action: 'advance', cause: 'step_passed', nextStep: { index: 1, ramp: 5 } });
    expect(decision.guardrails).toHaveLength(1);
    expect(decision.guardrails[0]).toMatchObject({ metric: 'error_rate', status: 'ok' });
    expect(applyDecision(running, decision, minutes(10))).toMatchObject({ stepIndex: 1, state: 'running' });
  });

  it('completes instead of advancing to 100 %', () => {
    const at50: Rollout = { ...running, stepIndex: 3 };
    const decision = decide(at50, observations(5000, 5000), minutes(10));
    expect(decision).toMatchObject({ action: 'complete', cause: 'last_step_passed', nextStep: null });
    expect(applyDecision(at50, decision, minutes(10)).state).toBe('completed');
  });

  it('at a 100 % split step needs no baseline samples', () => {
    const at100: Rollout = { ...running, stepIndex: 4 };
    const decision = decide(
      at100,
      { ...observations(0, 500), stepUnits: { baseline: 0, candidate: 500 } },
      minutes(10),
    );
    expect(decision.action).toBe('complete');
  });

  it('aborts on a failed guardrail at once, whatever the step', () => {
    const worse: RolloutObservations = {
      ...observations(9900, 300),
      metrics: {
        error_rate: { baseline: { count: 9900, events: 198 }, candidate: { count: 300, events: 90 } },
      },
    };
    const decision = decide(running, worse, minutes(1));
    expect(decision).toMatchObject({ action: 'abort', cause: 'guardrail_failed' });
    expect(decision.reason).toMatch(/error_rate/);
    const verdict = decision.guardrails[0]!;
    expect(verdict.status).toBe('fail');
    expect(verdict.difference!.lower).toBeGreaterThan(0.02);
    expect(verdict.candidate).toEqual({ count: 300, value: 0.3 });
    expect(applyDecision(running, decision, minutes(1))).toMatchObject({ state: 'aborted', reason: decision.reason });
  });

  it('pauses on a sample-ratio mismatch in a split, never in a shadow', () => {
    const skewed = { ...observations(9900, 100), stepUnits: { baseline: 9900, candidate: 40 } };
    const decision = decide(running, skewed, minutes(2));
    expect(decision).toMatchObject({ action: 'pause', cause: 'sample_ratio_mismatch' });
    expect(decision.srm?.pValue).toBeLessThan(0.001);
    expect(decision.reason).toMatch(/p = /);
    const shadow = transitionRollout(newRollout('ro_4', rolloutConfig({ mode: 'shadow' })), 'start', T0);
    expect(decide(shadow, skewed, minutes(2))).toMatchObject({ action: 'hold', srm: null });
  });

  it('pauses instead of advancing when a fixed-sample test says worse but the sequence does not yet', () => {
    const leaning: RolloutObservations = {
      ...observations(9900, 100),
      metrics: {
        error_rate: { baseline: { count: 9900, events: 198 }, candidate: { count: 100, events: 12 } },
      },
    };
    const early = decide(running, leaning, minutes(5));
    expect(early.action).toBe('hold');
    expect(early.guardrails[0]!.status).toBe('signal');
    expect(early.guardrails[0]!.difference!.lower).toBeLessThan(0.02);
    // A lean within the noise is no signal: 6 % against 2 % on 100 samples.
    const noise = decide(
      running,
      {
        ...leaning,
        metrics: { error_rate: { baseline: { count: 9900, events: 198 }, candidate: { count: 100, events: 6 } } },
      },
      minutes(5),
    );
    expect(noise.guardrails[0]!.status).toBe('ok');
    const due = decide(running, leaning, minutes(10));
    expect(due).toMatchObject({ action: 'pause', cause: 'guardrail_signal' });
  });

  it('does not test a guardrail on fewer than 30 samples an arm', () => {
    const few: RolloutObservations = {
      ...observations(1980, 20),
      metrics: {
        error_rate: { baseline: { count: 1980, events: 0 }, candidate: { count: 20, events: 20 } },
      },
    };
    const decision = decide(running, few, minutes(1));
    expect(decision.guardrails[0]!.status).toBe('insufficient');
    expect(decision.action).toBe('hold');
  });

  it('decides nothing for a rollout that is not running', () => {
    const paused = transitionRollout(running, 'pause', minutes(1));
    expect(decide(paused, observations(9900, 100), minutes(30))).toMatchObject({
      action: 'hold',
      cause: 'not_running',
    });
  });
});
