import { describe, expect, it } from 'vitest';
import { rolloutArmFigures, summarizeShadowPairs } from '../src/rollout-figures.js';

describe('rolloutArmFigures', () => {
  it('gives each arm its calls, rates and means with an interval around them', () => {
    const figures = rolloutArmFigures(
      {
        metrics: {
          error_rate: { baseline: { count: 1000, events: 10 }, candidate: { count: 0, events: 0 } },
          latency: {
            baseline: { count: 3, sum: 600, sumOfSquares: 100 * 100 + 200 * 200 + 300 * 300 },
            candidate: { count: 1, sum: 50, sumOfSquares: 2500 },
          },
        },
        requests: { baseline: 1000, candidate: 0 },
      },
      0.05,
      5000,
    );
    const rate = figures.baseline.metrics!.error_rate!;
    expect(rate.value).toBe(0.01);
    expect(rate.lower!).toBeGreaterThanOrEqual(0);
    expect(rate.lower!).toBeLessThan(0.01);
    expect(rate.upper!).toBeGreaterThan(0.01);
    expect(figures.candidate.metrics!.error_rate).toEqual({ count: 0, value: null, lower: null, upper: null });
    const latency = figures.baseline.metrics!.latency!;
    expect(latency.value).toBe(200);
    expect(latency.lower!).toBeLessThan(200);
    expect(latency.upper! - 200).toBeCloseTo(200 - latency.lower!, 9);
    expect(figures.candidate.metrics!.latency).toEqual({ count: 1, value: 50, lower: null, upper: null });
    expect(figures.baseline.metrics!.score).toBeUndefined();
    expect(figures.baseline).toMatchObject({ requests: 1000, units: null });
  });

  it('narrows as samples grow', () => {
    const width = (n: number) => {
      const f = rolloutArmFigures(
        {
          metrics: { error_rate: { baseline: { count: n, events: n / 10 }, candidate: { count: n, events: n / 10 } } },
          requests: { baseline: n, candidate: n },
          units: { baseline: n, candidate: n },
        },
        0.05,
        5000,
      ).baseline;
      expect(f.units).toBe(n);
      return f.metrics!.error_rate!.upper! - f.metrics!.error_rate!.lower!;
    };
    expect(width(10_000)).toBeLessThan(width(100));
  });
});

describe('summarizeShadowPairs', () => {
  const pair = (n: number, baseline: string | null, candidate: string | null) => ({
    at: `2025-01-01T00:00:0${n}.000Z`,
    variables: { n },
    baseline: { id: `b${n}`, output: baseline },
    candidate: { id: `c${n}`, output: candidate },
  });

  it('sums up lengths per arm and lists the pairs that differ most first', () => {
    const summary = summarizeShadowPairs(
      7,
      [
        pair(1, 'Hello Ada, welcome back', 'Hello Ada, welcome back'),
        pair(2, 'Hello Bob, welcome back', 'Greetings, valued customer'),
        pair(3, 'Hello Cy, welcome', 'Hello Cy'),
        pair(4, 'Hi', null),
      ],
      { examples: 2 },
    );
    expect(summary.pairs).toBe(7);
    expect(summary.assertions).toBeNull();
    expect(summary.length).toEqual({
      baseline: { mean: (23 + 23 + 17 + 2) / 4 },
      candidate: { mean: (23 + 26 + 8) / 3 },
    });
    expect(summary.differing.map((d) => [d.traceId, d.shadowTraceId, d.difference])).toEqual([
      ['b2', 'c2', 1],
      ['b4', 'c4', 1],
    ]);
    expect(summary.differing[0]).toMatchObject({
      at: '2025-01-01T00:00:02.000Z',
      variables: { n: 2 },
      baseline: { output: 'Hello Bob, welcome back', length: 23 },
      candidate: { output: 'Greetings, valued customer', length: 26 },
    });
  });

  it('leaves identical pairs out of the differing ones, and says nothing with no pairs', () => {
    expect(summarizeShadowPairs(1, [pair(1, 'same', 'same')]).differing).toEqual([]);
    expect(summarizeShadowPairs(0, [])).toEqual({
      pairs: 0,
      assertions: null,
      length: { baseline: { mean: null }, candidate: { mean: null } },
      differing: [],
    });
  });
});
