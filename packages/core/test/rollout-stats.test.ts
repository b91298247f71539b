import { describe, expect, it } from 'vitest';
import {
  chiSquareSurvival,
  confidenceSequenceHalfWidth,
  logGamma,
  meanDifference,
  proportionDifference,
  sampleRatioMismatch,
  sequentialRho,
} from '../src/index.js';

describe('log-gamma and the chi-square upper tail', () => {
  it.each([
    [0.5, 0.5723649429247001], // ln √π
    [1, 0],
    [2, 0],
    [10, 12.801827480081469], // ln 9!
    [100.5, 361.4355404677776],
  ])('logGamma(%s)', (x, expected) => {
    expect(logGamma(x)).toBeCloseTo(expected, 11);
  });

  // Critical values from the chi-square tables (R's qchisq): the upper tail there is exactly p.
  it.each([
    [3.841458820694124, 1, 0.05],
    [6.634896601021213, 1, 0.01],
    [10.827566170662733, 1, 0.001],
    [5.991464547107979, 2, 0.05],
    [13.815510557964274, 2, 0.001],
    [7.814727903251178, 3, 0.05],
    [18.307038053275146, 10, 0.05],
    [29.58829844507442, 10, 0.001],
    [124.3421134, 100, 0.05],
  ])('P(X > %s | df %i) = %s', (x, df, p) => {
    expect(chiSquareSurvival(x, df) / p).toBeCloseTo(1, 6);
  });

  it('is 1 at 0 and tends to 0 far out', () => {
    expect(chiSquareSurvival(0, 1)).toBe(1);
    expect(chiSquareSurvival(200, 1)).toBeLessThan(1e-40);
  });
});

describe('sample-ratio mismatch', () => {
  it('flags 5,000 vs 5,300 units on a 50/50 split (p ≈ 0.0031: no mismatch); 5,000 vs 5,400 is one', () => {
    const mild = sampleRatioMismatch([5000, 5300], [0.5, 0.5]);
    expect(mild.tested).toBe(true);
    expect(mild.pValue).toBeCloseTo(0.0031167, 6);
    expect(mild.mismatch).toBe(false);
    const strong = sampleRatioMismatch([5000, 5400], [0.5, 0.5]);
    expect(strong.pValue).toBeLessThan(0.001);
    expect(strong.mismatch).toBe(true);
  });

  it('compares with the ramp, not 50/50: 950 vs 50 at 5 % is fine, 980 vs 20 is not', () => {
    expect(sampleRatioMismatch([950, 50], [0.95, 0.05]).mismatch).toBe(false);
    expect(sampleRatioMismatch([980, 20], [0.95, 0.05]).mismatch).toBe(true);
  });

  it('does not test with fewer than 8 units in an arm', () => {
    const few = sampleRatioMismatch([1000, 7], [0.5, 0.5]);
    expect(few).toMatchObject({ tested: false, mismatch: false });
  });
});

describe('asymptotic confidence sequences (Waudby-Smith et al., as GrowthBook computes them)', () => {
  it('tunes rho for the sample size where the sequence should be tightest', () => {
    // rho = sqrt((-2 ln a + ln(1 - 2 ln a)) / N)
    const a = 0.05;
    expect(sequentialRho(a, 5000)).toBeCloseTo(
      Math.sqrt((-2 * Math.log(a) + Math.log(1 - 2 * Math.log(a))) / 5000),
      15,
    );
  });

  it('is wider than the fixed-sample interval at every n, and narrows as n grows', () => {
    let previous = Number.POSITIVE_INFINITY;
    for (const n of [10, 100, 1000, 5000, 50_000, 1_000_000]) {
      const half = confidenceSequenceHalfWidth(1, n, 0.05, 5000);
      expect(half).toBeGreaterThan(1.959963984540054 / Math.sqrt(n));
      expect(half).toBeLessThan(previous);
      previous = half;
    }
    // Near the tuning size it costs about a factor 2.2 over the fixed interval, no more.
    expect(confidenceSequenceHalfWidth(1, 5000, 0.05, 5000) * Math.sqrt(5000)).toBeLessThan(4.5);
  });

  it('brackets a difference of means from sufficient statistics', () => {
    const stats = (values: number[]) => ({
      count: values.length,
      sum: values.reduce((s, v) => s + v, 0),
      sumOfSquares: values.reduce((s, v) => s + v * v, 0),
    });
    const d = meanDifference(stats([1, 2, 3, 4, 5]), stats([0, 1, 2, 3, 4]), 0.05, 5000);
    expect(d.estimate).toBeCloseTo(1, 12);
    expect(d.standardError).toBeCloseTo(1, 12); // variances 2.5 each: sqrt(2.5/5 + 2.5/5)
    expect(d.lower).toBeLessThan(1 - 1.96);
    expect(d.upper).toBeGreaterThan(1 + 1.96);
  });

  it('brackets a difference of proportions (variance from Agresti-Caffo rates, estimate as observed)', () => {
    const d = proportionDifference({ count: 1000, events: 100 }, { count: 1000, events: 50 }, 0.05, 5000);
    expect(d.estimate).toBeCloseTo(0.05, 12);
    const pc = 101 / 1002;
    const pb = 51 / 1002;
    expect(d.standardError).toBeCloseTo(Math.sqrt((pc * (1 - pc)) / 1002 + (pb * (1 - pb)) / 1002), 15);
    expect(d.lower).toBeGreaterThan(0);
    expect(d.upper).toBeLessThan(0.1);
    // No events anywhere: an interval around 0, never a zero-width one.
    const none = proportionDifference({ count: 50, events: 0 }, { count: 50, events: 0 }, 0.05, 5000);
    expect(none.lower).toBeLessThan(0);
    expect(none.upper).toBeGreaterThan(0);
  });
});

describe('validity under continuous peeking', () => {
  it('the sequence excludes a true zero difference in at most alpha of the runs; a fixed interval does not', () => {
    // Equal arms of Bernoulli(0.1), 1,000 looks of 10 pairs each; seeded so every run is the same.
    let state = 0x9e3779b9;
    const random = (): number => {
      state ^= state << 13;
      state ^= state >>> 17;
      state ^= state << 5;
      return (state >>> 0) / 4294967296;
    };
    const runs = 300;
    let sequenceMisses = 0;
    let fixedMisses = 0;
    for (let run = 0; run < runs; run += 1) {
      const a = { count: 0, events: 0 };
      const b = { count: 0, events: 0 };
      let sequenceMissed = false;
      let fixedMissed = false;
      for (let look = 0; look < 1000; look += 1) {
        for (let i = 0; i < 10; i += 1) {
          a.count += 1;
          b.count += 1;
          if (random() < 0.1) a.events += 1;
          if (random() < 0.1) b.events += 1;
        }
        if (a.count < 30) continue;
        const d = proportionDifference(a, b, 0.05, 5000);
        if (d.lower > 0 || d.upper < 0) sequenceMissed = true;
        if (Math.abs(d.estimate) > 1.959963984540054 * d.standardError) fixedMissed = true;
      }
      if (sequenceMissed) sequenceMisses += 1;
      if (fixedMissed) fixedMisses += 1;
    }
    console.log(
      `equal arms, ${runs} runs of 1,000 looks: the confidence sequence ever excluded 0 in ${((100 * sequenceMisses) / runs).toFixed(1)} %, ` +
        `the fixed-sample 95 % interval in ${((100 * fixedMisses) / runs).toFixed(1)} %`,
    );
    expect(sequenceMisses / runs).toBeLessThanOrEqual(0.05 + 2.326 * Math.sqrt((0.05 * 0.95) / runs));
    expect(fixedMisses / runs).toBeGreaterThan(0.2);
  });
});
