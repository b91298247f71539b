import { describe, expect, it } from 'vitest';
import {
  activeRamp,
  applyDecision,
  assignArm,
  decide,
  newRollout,
  rolloutConfig,
  transitionRollout,
  type ArmPair,
  type Arm,
  type Rollout,
  type RolloutConfig,
  type RolloutDecision,
} from '../src/index.js';

/**
 * Simulated split rollouts driven through decide() after every batch of traffic (continuous peeking),
 * with real assignment. Equal arms must rarely abort (false aborts under the configured alpha); a worse
 * candidate must be caught before it reaches everyone; a broken assignment must pause.
 */

/** mulberry32: a small seeded generator, so every run sees the same traffic. */
const generator = (seed: number): (() => number) => {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
};

/** Standard normal draws, Box-Muller, both values of each pair used. */
const normals = (random: () => number): (() => number) => {
  let spare: number | undefined;
  return () => {
    if (spare !== undefined) {
      const value = spare;
      spare = undefined;
      return value;
    }
    const radius = Math.sqrt(-2 * Math.log(1 - random()));
    const angle = 2 * Math.PI * random();
    spare = radius * Math.sin(angle);
    return radius * Math.cos(angle);
  };
};

/** How one arm behaves: error and feedback rates, latency (log-normal, ms), score, live assertions. */
interface Behaviour {
  readonly errorRate: number;
  readonly latencyLogMean: number;
  readonly score: number;
  readonly thumbsDownRate: number;
  readonly assertionPassRate: number;
}

const BASELINE: Behaviour = {
  errorRate: 0.02,
  latencyLogMean: Math.log(800),
  score: 0.8,
  thumbsDownRate: 0.05,
  assertionPassRate: 0.9,
};

const CONFIG: RolloutConfig = rolloutConfig({
  minStepDurationMs: 10 * 60_000,
  minSamplesPerArm: 50,
  alpha: 0.05,
  guardrails: [
    { metric: 'error_rate', threshold: 0.02 },
    { metric: 'latency', threshold: 100 },
    { metric: 'score', threshold: -0.05 },
    { metric: 'thumbs_down_rate', threshold: 0.03 },
    { metric: 'assertion_pass_rate', threshold: -0.05 },
  ],
});

const mean = (): { count: number; sum: number; sumOfSquares: number } => ({ count: 0, sum: 0, sumOfSquares: 0 });
const rate = (): { count: number; events: number } => ({ count: 0, events: 0 });
const arms = <T>(make: () => T): { baseline: T; candidate: T } => ({ baseline: make(), candidate: make() });

const count = (stats: { count: number; events: number }, event: boolean): void => {
  stats.count += 1;
  if (event) stats.events += 1;
};

const measure = (stats: { count: number; sum: number; sumOfSquares: number }, value: number): void => {
  stats.count += 1;
  stats.sum += value;
  stats.sumOfSquares += value * value;
};

interface Outcome {
  readonly final: Rollout;
  readonly decisions: readonly RolloutDecision[];
  readonly pauses: readonly RolloutDecision[];
}

const CALLS_PER_MINUTE = 300;

/**
 * One rollout, one simulated minute per batch, a look after each. A pause is resumed at once (as a
 * person would after looking) and counted. `loseCandidateUnits` drops that share of the candidate's
 * traces (a logging bug), which the sample-ratio check must catch.
 */
const simulate = (
  index: number,
  candidate: Behaviour,
  options: { loseCandidateUnits?: number; resumePauses?: boolean } = {},
): Outcome => {
  const random = generator(0x5eed0000 + index);
  const normal = normals(random);
  const start = new Date('2026-03-01T00:00:00.000Z');
  let rollout = transitionRollout(newRollout(`ro_sim_${index}`, CONFIG), 'start', start);
  const behaviour: Record<Arm, Behaviour> = { baseline: BASELINE, candidate };
  const metrics = {
    error_rate: arms(rate),
    latency: arms(mean),
    score: arms(mean),
    thumbs_down_rate: arms(rate),
    assertion_pass_rate: arms(rate),
  };
  const stepSamples = arms(() => 0);
  const decisions: RolloutDecision[] = [];
  const pauses: RolloutDecision[] = [];
  for (let minute = 1; minute <= 240 && (rollout.state === 'running' || rollout.state === 'paused'); minute += 1) {
    const ramp = activeRamp(rollout);
    for (let call = 0; call < CALLS_PER_MINUTE; call += 1) {
      const { arm } = assignArm(rollout.salt, `user-${index}-${minute}-${call}`, ramp);
      if (arm === 'candidate' && random() < (options.loseCandidateUnits ?? 0)) continue;
      const b = behaviour[arm];
      stepSamples[arm] += 1;
      const failed = random() < b.errorRate;
      count(metrics.error_rate[arm], failed);
      measure(metrics.latency[arm], Math.exp(b.latencyLogMean + 0.3 * normal()));
      if (failed) continue;
      measure(metrics.score[arm], b.score + 0.15 * normal());
      if (random() < 0.3) count(metrics.thumbs_down_rate[arm], random() < b.thumbsDownRate);
      count(metrics.assertion_pass_rate[arm], random() < b.assertionPassRate);
    }
    const now = new Date(start.getTime() + minute * 60_000);
    const observed: ArmPair<number> = { ...stepSamples };
    // Each call is a new unit here, so units and samples are the same counts.
    const decision = decide(rollout, { stepSamples: observed, stepUnits: observed, metrics }, now);
    decisions.push(decision);
    const before = rollout.stepIndex;
    rollout = applyDecision(rollout, decision, now);
    if (decision.action === 'pause') {
      pauses.push(decision);
      if (options.resumePauses === false) break;
      rollout = transitionRollout(rollout, 'resume', now);
    }
    if (decision.action === 'pause' || rollout.stepIndex !== before) {
      stepSamples.baseline = 0;
      stepSamples.candidate = 0;
    }
  }
  return { final: rollout, decisions, pauses };
};

/** Upper end of a one-sided 99 % binomial margin around alpha for n rollouts. */
const binomialCeiling = (alpha: number, n: number): number => alpha + 2.326 * Math.sqrt((alpha * (1 - alpha)) / n);

describe('simulated rollouts with continuous peeking', () => {
  it('equal arms: false aborts over 200 rollouts stay under alpha', () => {
    const runs = 200;
    const outcomes = Array.from({ length: runs }, (_, i) => simulate(i, BASELINE));
    const aborted = outcomes.filter((o) => o.final.state === 'aborted').length;
    const completed = outcomes.filter((o) => o.final.state === 'completed').length;
    const paused = outcomes.filter((o) => o.pauses.length > 0).length;
    const looks = outcomes.reduce((sum, o) => sum + o.decisions.length, 0);
    const rate = aborted / runs;
    console.log(
      `equal arms, ${runs} rollouts, ${looks} looks (one a minute), 5 guardrails, alpha ${CONFIG.alpha}: ` +
        `false-abort rate ${(rate * 100).toFixed(1)} % (${aborted}), completed ${completed}, paused at least once ${paused}`,
    );
    expect(rate).toBeLessThanOrEqual(binomialCeiling(CONFIG.alpha, runs));
    expect(completed).toBeGreaterThanOrEqual(runs * 0.9);
  });

  it('a candidate that errs 5 times as often is aborted before it reaches everyone', () => {
    const runs = 40;
    const outcomes = Array.from({ length: runs }, (_, i) => simulate(1000 + i, { ...BASELINE, errorRate: 0.1 }));
    const aborted = outcomes.filter((o) => o.final.state === 'aborted');
    const ramps = aborted.map((o) => CONFIG.steps[o.final.stepIndex]!);
    console.log(
      `worse candidate (error rate 2 % -> 10 %): aborted ${aborted.length} of ${runs}, at ramps ${[...new Set(ramps)].sort((a, b) => a - b).join(', ')} %`,
    );
    expect(aborted.length).toBe(runs);
    for (const outcome of aborted) {
      const last = outcome.decisions[outcome.decisions.length - 1]!;
      expect(last.cause).toBe('guardrail_failed');
      expect(last.guardrails.find((g) => g.metric === 'error_rate')?.status).toBe('fail');
    }
  });

  it('a slower candidate (+300 ms) is caught by the latency guardrail', () => {
    const outcome = simulate(2000, { ...BASELINE, latencyLogMean: Math.log(1100) });
    expect(outcome.final.state).toBe('aborted');
    expect(outcome.final.reason).toMatch(/latency/);
  });

  it('a candidate losing a third of its traces pauses on a sample-ratio mismatch', () => {
    const outcome = simulate(3000, BASELINE, { loseCandidateUnits: 0.35, resumePauses: false });
    expect(outcome.final.state).toBe('paused');
    expect(outcome.pauses[0]?.cause).toBe('sample_ratio_mismatch');
    expect(outcome.final.reason).toMatch(/sample-ratio mismatch/);
  });
});
