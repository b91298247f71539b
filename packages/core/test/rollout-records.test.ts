import { describe, expect, it } from 'vitest';
import {
  armMetrics,
  formatArmFigure,
  formatDifference,
  formatMetricValue,
  formatPassRate,
  rampHistory,
} from '../src/index.js';

const at = (minute: number): string => new Date(Date.UTC(2025, 0, 1, 0, minute)).toISOString();

describe('rampHistory: the ramp over time from the decision log', () => {
  it('replays start, advances, a pause and its resume, holds skipped, and ends at 100 on completion', () => {
    const decisions = [
      { at: at(0), action: 'start', actor: 'alice' },
      { at: at(1), action: 'hold', actor: 'system:rollouts' },
      { at: at(10), action: 'advance', actor: 'system:rollouts' },
      { at: at(12), action: 'pause', actor: 'bob' },
      { at: at(13), action: 'resume', actor: 'bob' },
      { at: at(20), action: 'manual-advance', actor: 'alice' },
      { at: at(30), action: 'complete', actor: 'system:rollouts' },
    ] as const;
    expect(rampHistory({ steps: [1, 5, 25, 100] }, decisions).map((s) => [s.ramp, s.state, s.action])).toEqual([
      [1, 'running', 'start'],
      [5, 'running', 'advance'],
      [5, 'paused', 'pause'],
      [5, 'running', 'resume'],
      [25, 'running', 'manual-advance'],
      [100, 'completed', 'complete'],
    ]);
  });

  it('an abort ends at 0 and an advance never runs past the last step', () => {
    const spans = rampHistory({ steps: [10, 50] }, [
      { at: at(0), action: 'start', actor: 'a' },
      { at: at(1), action: 'advance', actor: 'a' },
      { at: at(2), action: 'advance', actor: 'a' },
      { at: at(3), action: 'abort', actor: 'a' },
    ]);
    expect(spans.map((s) => s.ramp)).toEqual([10, 50, 50, 0]);
    expect(spans.at(-1)).toMatchObject({ state: 'aborted', stepIndex: 1 });
  });
});

describe('rollout figures in words', () => {
  it('formats intervals, per-metric values and pass rates', () => {
    expect(formatDifference({ estimate: 0.0312, lower: 0.0121, upper: 0.0503, standardError: 0.01 })).toBe(
      '+0.0312 [+0.0121, +0.0503]',
    );
    expect(formatDifference({ estimate: -150, lower: -200, upper: 0, standardError: 20 })).toBe('-150 [-200, 0]');
    expect(formatDifference(null)).toBe('–');
    expect(formatMetricValue('error_rate', 0.025)).toBe('2.5 %');
    expect(formatMetricValue('latency', 812.4)).toBe('812 ms');
    expect(formatMetricValue('score', 0.8123)).toBe('0.812');
    expect(formatMetricValue('assertion_pass_rate', null)).toBe('–');
    expect(formatPassRate({ passed: 3, total: 4 })).toBe('75.0 % (3/4)');
    expect(formatPassRate({ passed: 0, total: 0 })).toBe('–');
  });
});

describe('per-arm figures', () => {
  it('formats a value with its interval, and lists the metrics either arm has', () => {
    expect(formatArmFigure('error_rate', { count: 200, value: 0.025, lower: 0.011, upper: 0.04 })).toBe(
      '2.5 % [1.1 %, 4.0 %]',
    );
    expect(formatArmFigure('latency', { count: 1, value: 512.3, lower: null, upper: null })).toBe('512 ms');
    expect(formatArmFigure('score', undefined)).toBe('–');
    const figure = { count: 3, value: 1, lower: 0.5, upper: 1 };
    expect(
      armMetrics({
        baseline: { requests: 3, units: null, metrics: { latency: figure } },
        candidate: { requests: 3, units: null, metrics: { error_rate: figure } },
      }),
    ).toEqual(['error_rate', 'latency']);
  });
});
