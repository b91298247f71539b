import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  LATENCY_SKETCH_ACCURACY,
  LATENCY_SKETCH_EXACT_MAX,
  LATENCY_SKETCH_MIN_MS,
  addLatency,
  decodeLatencySketchBinary,
  emptyLatencySketch,
  encodeLatenciesBinary,
  encodeLatencySketchBinary,
  latencyBinIndex,
  latencyBinValue,
  latencyPercentile,
  latencySketchOf,
  mergeBinaryLatencySketches,
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

  it('encodes to bytes and merges them as the objects merge (what the rollup writers run)', () => {
    const sorted = (bins: Map<number, number>) => [...bins].sort((p, q) => p[0] - q[0]);
    fc.assert(
      fc.property(fc.array(latency, { maxLength: 40 }), fc.array(latency, { maxLength: 40 }), (x, y) => {
        const a = latencySketchOf(x);
        const b = latencySketchOf(y);
        const binary = decodeLatencySketchBinary(
          mergeBinaryLatencySketches(encodeLatencySketchBinary(a), encodeLatencySketchBinary(b)),
        );
        mergeLatencySketches(a, b);
        for (const decoded of [binary]) {
          expect(sorted(decoded.bins)).toEqual(sorted(a.bins));
          expect(decoded.count).toBe(a.count);
          expect(decoded.exact).toEqual(a.exact);
        }
      }),
      { numRuns: 300 },
    );
    // The writer's direct encoding of a delta's values is the sketch's own.
    fc.assert(
      fc.property(fc.array(latency, { maxLength: 60 }), (values) => {
        expect(decodeLatencySketchBinary(encodeLatenciesBinary(values))).toEqual(
          decodeLatencySketchBinary(encodeLatencySketchBinary(latencySketchOf(values))),
        );
      }),
    );
    // A view into a larger buffer (a BLOB as a driver hands it over) decodes too.
    const bytes = encodeLatencySketchBinary(latencySketchOf([1, 2, 300]));
    const padded = new Uint8Array(bytes.length + 3);
    padded.set(bytes, 3);
    expect(decodeLatencySketchBinary(padded.subarray(3))).toEqual(latencySketchOf([1, 2, 300]));
    expect(decodeLatencySketchBinary(encodeLatencySketchBinary(emptyLatencySketch()))).toEqual(emptyLatencySketch());
  });

  it('answers null for an empty sketch and the nearest rank of 1,000..1,190 exactly', () => {
    expect(latencyPercentile(emptyLatencySketch(), 50)).toBeNull();
    const values = Array.from({ length: 20 }, (_, i) => 1000 + i * 10);
    const sketch = latencySketchOf(values);
    expect([50, 95, 99].map((p) => latencyPercentile(sketch, p))).toEqual([1090, 1180, 1190]);
  });
});
