import { describe, expect, it } from 'vitest';
import {
  DEFAULT_MONITOR_CONFIG,
  PromptopsError,
  evaluateMonitor,
  incidentFigures,
  incidentTimeline,
  monitorConfig,
  renderPostmortem,
  type IncidentFacts,
  type MeanStats,
  type MonitorConfig,
  type ProportionStats,
  type RolloutMetrics,
} from '../src/index.js';

/** mulberry32: a seeded generator, so the calibration is the same on every run. */
const seeded = (seed: number) => () => {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};

interface Side {
  score: MeanStats;
  errors: ProportionStats;
}
const empty = (): Side => ({ score: { count: 0, sum: 0, sumOfSquares: 0 }, errors: { count: 0, events: 0 } });
const draw = (side: Side, random: () => number, n: number, meanScore: number, errorRate: number): Side => {
  let { count, sum, sumOfSquares } = side.score;
  let events = side.errors.events;
  for (let i = 0; i < n; i += 1) {
    // A score in [0, 1] around the mean (sum of two uniforms: triangular).
    const value = Math.min(1, Math.max(0, meanScore + (random() + random() - 1) * 0.3));
    count += 1;
    sum += value;
    sumOfSquares += value * value;
    if (random() < errorRate) events += 1;
  }
  return { score: { count, sum, sumOfSquares }, errors: { count: side.errors.count + n, events } };
};
const metrics = (baseline: Side, current: Side): RolloutMetrics => ({
  score: { baseline: baseline.score, candidate: current.score },
  error_rate: { baseline: baseline.errors, candidate: current.errors },
});

// The strictest conditions: any worsening at all is a failure, so only the test's own error protects.
const strict: MonitorConfig = monitorConfig({
  conditions: [
    { metric: 'score', threshold: 0 },
    { metric: 'error_rate', threshold: 0 },
  ],
  minSamples: 30,
  cooldownMs: 0,
  alpha: 0.05,
});

/** One window: 500 baseline traces, then the current version's traces looked at after every 20 of 600. */
const simulate = (seed: number, currentScore: number): boolean => {
  const random = seeded(seed);
  const baseline = draw(empty(), random, 500, 0.8, 0.02);
  let current = empty();
  for (let look = 0; look < 30; look += 1) {
    current = draw(current, random, 20, currentScore, 0.02);
    if (evaluateMonitor(strict, metrics(baseline, current), new Date(look * 60_000)).status === 'fire') return true;
  }
  return false;
};

describe('evaluateMonitor', () => {
  it('false alarms over 200 simulated windows of a good version stay at or below alpha', () => {
    let alarms = 0;
    for (let seed = 1; seed <= 200; seed += 1) if (simulate(seed, 0.8)) alarms += 1;
    console.log(`monitor calibration: ${alarms} false alarms in 200 windows (${(alarms / 2).toFixed(1)} %), alpha 5 %`);
    expect(alarms / 200).toBeLessThanOrEqual(strict.alpha);
  });

  it('detects a version whose scores dropped by 0.2 in every window', () => {
    let detected = 0;
    for (let seed = 1001; seed <= 1040; seed += 1) if (simulate(seed, 0.6)) detected += 1;
    expect(detected).toBe(40);
  });

  it('stays quiet below the minimum samples and during the cool-down', () => {
    const random = seeded(7);
    const baseline = draw(empty(), random, 500, 0.8, 0);
    const bad = draw(empty(), random, 200, 0.3, 0);
    const config = { ...strict, minSamples: 300, cooldownMs: 60_000 };
    const few = evaluateMonitor(config, metrics(baseline, bad), new Date(0));
    expect(few).toMatchObject({ status: 'quiet', samples: 200 });
    expect(few.reason).toMatch(/needs 300/);
    const enough = { ...config, minSamples: 100 };
    expect(evaluateMonitor(enough, metrics(baseline, bad), new Date(120_000)).status).toBe('fire');
    const cooling = evaluateMonitor(enough, metrics(baseline, bad), new Date(120_000), new Date(90_000).toISOString());
    expect(cooling).toMatchObject({ status: 'quiet' });
    expect(cooling.reason).toMatch(/cooling down/);
    const fired = evaluateMonitor(enough, metrics(baseline, bad), new Date(120_000));
    expect(fired.reason).toMatch(/^score candidate − baseline -0\.5/);
  });
});

describe('monitorConfig', () => {
  it('fills the defaults', () => {
    expect(monitorConfig(undefined)).toEqual(DEFAULT_MONITOR_CONFIG);
    expect(monitorConfig({ action: 'rollback' }).action).toBe('rollback');
  });

  it('names every bad field', () => {
    const attempt = () =>
      monitorConfig({
        conditions: [{ metric: 'score', threshold: 0.1 }, { metric: 'vibes' }],
        windowMs: 5,
        action: 'page',
        baseline: { kind: 'fixed' },
      });
    expect(attempt).toThrow(PromptopsError);
    try {
      attempt();
    } catch (error) {
      const issues = (error as PromptopsError).issues ?? [];
      expect((error as PromptopsError).code).toBe('invalid_monitor');
      expect(issues.map((issue) => issue.path)).toEqual([
        'conditions[0].threshold',
        'conditions[1].metric',
        'windowMs',
        'action',
        'baseline',
      ]);
    }
  });
});

const facts: IncidentFacts = {
  name: 'greeter',
  label: 'production',
  openedAt: '2025-01-01T10:05:00.000Z',
  openedBy: 'monitor:1',
  introduced: {
    at: '2025-01-01T10:00:00.000Z',
    actor: 'alice',
    kind: 'break-glass',
    version: 18,
    sha: 'b'.repeat(64),
    fromVersion: 17,
    fromSha: 'a'.repeat(64),
  },
  firstBadTraceAt: '2025-01-01T10:00:30.000Z',
  detected: { at: '2025-01-01T10:05:00.000Z', by: 'monitor:1', reason: 'score fell' },
  notifiedAt: '2025-01-01T10:05:00.000Z',
  acknowledged: null,
  mitigated: {
    at: '2025-01-01T10:05:00.000Z',
    actor: 'monitor:1',
    kind: 'auto-rollback',
    version: 17,
    deploymentId: 9,
  },
  firstGoodTraceAt: '2025-01-01T10:05:02.000Z',
  resolved: { at: '2025-01-01T11:00:00.000Z', by: 'bob', message: 'reverted the greeting' },
  before: { traces: 400, errors: 0, meanScore: 0.82, thumbsDownRate: 0.05 },
  during: { traces: 270, errors: 0, meanScore: 0.41, thumbsDownRate: 0.4 },
  after: { traces: 30, errors: 0, meanScore: 0.81, thumbsDownRate: null },
  labelTracesDuring: 300,
};

describe('incident timeline and figures', () => {
  it('measures detect, mitigate and recover from the first bad trace', () => {
    expect(incidentFigures(facts)).toEqual({
      timeToDetectMs: 270_000,
      timeToMitigateMs: 270_000,
      timeToRecoverMs: 272_000,
      tracesAffected: 270,
      shareAffected: 0.9,
      scores: { before: 0.82, during: 0.41, after: 0.81 },
    });
  });

  it('orders the entries by time, ties in the order things happen', () => {
    expect(incidentTimeline(facts).map((entry) => entry.kind)).toEqual([
      'introduced',
      'first_bad_trace',
      'detected',
      'opened',
      'notified',
      'mitigated',
      'first_good_trace',
      'resolved',
    ]);
  });

  it('an incident opened by hand, not yet mitigated, has no mitigation figures', () => {
    const open = {
      ...facts,
      detected: null,
      mitigated: null,
      firstGoodTraceAt: null,
      resolved: null,
      openedBy: 'carol',
    };
    expect(incidentFigures(open)).toMatchObject({
      timeToDetectMs: 270_000,
      timeToMitigateMs: null,
      timeToRecoverMs: null,
    });
  });

  it('renders a postmortem draft with its sections', () => {
    const markdown = renderPostmortem({
      id: 1,
      title: 'greeter:production scores dropped',
      state: 'resolved',
      facts,
      timeline: incidentTimeline(facts),
      figures: incidentFigures(facts),
      diff: '-Hello\n+Yo',
      conditions: ['score -0.1'],
    });
    for (const heading of ['## Summary', '## Timeline', '## Impact', '## Cause', '## What would have caught it'])
      expect(markdown).toContain(heading);
    expect(markdown).toContain('- Time to detect: 4m 30s');
    expect(markdown).toContain('it was rolled back automatically to v17 4m 30s after it');
    expect(markdown).toContain('+Yo');
  });
});
