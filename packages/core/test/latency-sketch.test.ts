import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  LATENCY_SKETCH_ACCURACY,
  LATENCY_SKETCH_EXACT_MAX,
  LATENCY_SKETCH_MIN_MS,
  addLatency,
  decodeLatencyBins,
  decodeLatencyExact,
  emptyLatencySketch,
  encodeLatencyBins,
  encodeLatencyExact,
  latencyBinIndex,
  latencyBinValue,
  latencyPercentile,
  latencySketchOf,
  mergeEncodedLatencyBins,
  mergeEncodedLatencyExact,
  mergeLatencySketches,
  type LatencySketch,
} from '../src/index.js';

/** The nearest-rank percentile the metrics have always reported, over exact values. */
const exactPercentile = (values: readonly number[], percent: number): number | null => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length === 0
    ? null
    : sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((percent / 100) * sorted.length) - 1))]!;
};

/** Within the documented error: relative α, or below the smallest tracked value, an absolute MIN. */
const withinError = (estimate: number, exact: number): boolean =>
  exact < LATENCY_SKETCH_MIN_MS
    ? estimate === 0
    : Math.abs(estimate - exact) <= LATENCY_SKETCH_ACCURACY * exact * (1 + 1e-9);

const latency = fc.oneof(
  fc.double({ min: 0, max: 86_400_000, noNaN: true, noDefaultInfinity: true }),
  fc.integer({ min: 0, max: 5000 }),
  fc.constantFrom(0, LATENCY_SKETCH_MIN_MS, 0.009, 1, 1000),
);

/** Bins only: what a sketch answers once its exact values are gone. */
const binsOnly = (sketch: LatencySketch): LatencySketch => ({ ...sketch, exact: null });

describe('latency sketch', () => {
  it('puts every value in a bin whose representative is within the documented relative error', () => {
    fc.assert(
      fc.property(latency, (value) => {
        expect(withinError(latencyBinValue(latencyBinIndex(value)), value)).toBe(true);
      }),
      { numRuns: 2000 },
    );
    expect(LATENCY_SKETCH_ACCURACY).toBeLessThanOrEqual(0.02);
  });

  it('answers p50/p95/p99 within the error from bins, and exactly while it keeps the values', () => {
    fc.assert(
      fc.property(fc.array(latency, { maxLength: 300 }), (values) => {
        const sketch = latencySketchOf(values);
        for (const percent of [50, 95, 99]) {
          const exact = exactPercentile(values, percent);
          if (values.length <= LATENCY_SKETCH_EXACT_MAX) expect(latencyPercentile(sketch, percent)).toBe(exact);
          const estimate = latencyPercentile(binsOnly(sketch), percent);
          if (exact === null) expect(estimate).toBeNull();
          else expect(withinError(estimate!, exact)).toBe(true);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('merges like one sketch of all the values, in any grouping and order', () => {
    fc.assert(
      fc.property(fc.array(fc.array(latency, { maxLength: 40 }), { maxLength: 8 }), (parts) => {
        const all = parts.flat();
        const merged = emptyLatencySketch();
        for (const part of [...parts].reverse()) mergeLatencySketches(merged, latencySketchOf(part), Infinity);
        const whole = latencySketchOf(all, Infinity);
        expect(merged.count).toBe(all.length);
        expect([...merged.bins].sort((a, b) => a[0] - b[0])).toEqual([...whole.bins].sort((a, b) => a[0] - b[0]));
        // Exact values survive a merge only when every part still had its own.
        const exactKept = parts.every((part) => part.length <= LATENCY_SKETCH_EXACT_MAX);
        expect(merged.exact === null).toBe(!exactKept);
        if (exactKept) expect([...merged.exact!].sort((a, b) => a - b)).toEqual([...all].sort((a, b) => a - b));
      }),
      { numRuns: 300 },
    );
  });

  it('keeps at most EXACT_MAX exact values when merging for storage', () => {
    const a = latencySketchOf(Array.from({ length: 20 }, (_, i) => i + 1));
    const b = latencySketchOf(Array.from({ length: 12 }, (_, i) => i + 100));
    const c = latencySketchOf([5]);
    mergeLatencySketches(a, b);
    expect(a.exact).toHaveLength(32);
    mergeLatencySketches(a, c);
    expect(a.exact).toBeNull();
    expect(a.count).toBe(33);
    addLatency(a, 7);
    expect(a.count).toBe(34);
  });

  it('encodes to text and merges encoded texts as the objects merge (what the databases run)', () => {
    fc.assert(
      fc.property(fc.array(latency, { maxLength: 40 }), fc.array(latency, { maxLength: 40 }), (x, y) => {
        const a = latencySketchOf(x);
        const b = latencySketchOf(y);
        const bins = decodeLatencyBins(mergeEncodedLatencyBins(encodeLatencyBins(a.bins), encodeLatencyBins(b.bins)));
        const exact = decodeLatencyExact(
          mergeEncodedLatencyExact(encodeLatencyExact(a.exact), encodeLatencyExact(b.exact)),
        );
        mergeLatencySketches(a, b);
        expect([...bins].sort((p, q) => p[0] - q[0])).toEqual([...a.bins].sort((p, q) => p[0] - q[0]));
        expect(exact).toEqual(a.exact);
      }),
      { numRuns: 300 },
    );
    expect(decodeLatencyBins(encodeLatencyBins(new Map()))).toEqual(new Map());
    expect(encodeLatencyExact(null)).toBeNull();
  });

  it('answers null for an empty sketch and the nearest rank of 1,000..1,190 exactly', () => {
    expect(latencyPercentile(emptyLatencySketch(), 50)).toBeNull();
    const values = Array.from({ length: 20 }, (_, i) => 1000 + i * 10);
    const sketch = latencySketchOf(values);
    expect([50, 95, 99].map((p) => latencyPercentile(sketch, p))).toEqual([1090, 1180, 1190]);
  });
});
