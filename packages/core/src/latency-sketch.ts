/**
 * A mergeable latency sketch: a fixed-bucket logarithmic histogram (DDSketch's mapping) plus, while a
 * sketch holds few values, the values themselves.
 *
 * - Bin `i` holds the values in (γ^(i-1), γ^i] with γ = (1 + α) / (1 - α); its representative
 *   2γ^i / (γ + 1) is within a relative α of every value in it. Values below LATENCY_SKETCH_MIN_MS share
 *   one bin that answers 0 (an absolute error under 0.01 ms, below the metrics' 0.1 ms rounding).
 * - So a nearest-rank percentile read from the bins is within α = 1 % of the exact nearest-rank percentile
 *   of the same values, whatever their number, and merging is adding bin counts: any grouping and order
 *   of merges gives the same bins.
 * - The exact values ride along while a stored sketch holds at most LATENCY_SKETCH_EXACT_MAX of them (a
 *   quiet minute, a small test); a merge keeps them only if every part still has its own. Percentiles of
 *   a sketch with its values are exact.
 *
 * Bins are keyed by integer index, sparse. Stored forms (binary and JSON) and their merges are below.
 */

/** The documented relative error of a percentile read from the bins. */
export const LATENCY_SKETCH_ACCURACY = 0.01;
/** Values below this (ms) are counted in the zero bin and estimated as 0. */
export const LATENCY_SKETCH_MIN_MS = 0.01;
/** A stored sketch keeps its exact values while it holds at most this many. */
export const LATENCY_SKETCH_EXACT_MAX = 32;

const GAMMA = (1 + LATENCY_SKETCH_ACCURACY) / (1 - LATENCY_SKETCH_ACCURACY);
const LOG_GAMMA = Math.log(GAMMA);
/** Below every real bin (the smallest tracked value, 0.01 ms, is bin -232). */
const ZERO_BIN = -10_000;

export interface LatencySketch {
  /** Bin index -> number of values. */
  readonly bins: Map<number, number>;
  count: number;
  /** Every value added, while known (unordered); null once dropped. */
  exact: number[] | null;
}

export const latencyBinIndex = (ms: number): number =>
  ms >= LATENCY_SKETCH_MIN_MS ? Math.ceil(Math.log(ms) / LOG_GAMMA) : ZERO_BIN;

export const latencyBinValue = (index: number): number =>
  index === ZERO_BIN ? 0 : (Math.exp(index * LOG_GAMMA) * 2) / (GAMMA + 1);

export const emptyLatencySketch = (): LatencySketch => ({ bins: new Map(), count: 0, exact: [] });

export const addLatency = (sketch: LatencySketch, ms: number, exactMax = LATENCY_SKETCH_EXACT_MAX): void => {
  const index = latencyBinIndex(ms);
  sketch.bins.set(index, (sketch.bins.get(index) ?? 0) + 1);
  sketch.count += 1;
  if (sketch.exact !== null) {
    if (sketch.exact.length < exactMax) sketch.exact.push(ms);
    else sketch.exact = null;
  }
};

export const latencySketchOf = (values: Iterable<number>, exactMax = LATENCY_SKETCH_EXACT_MAX): LatencySketch => {
  const sketch = emptyLatencySketch();
  for (const value of values) addLatency(sketch, value, exactMax);
  return sketch;
};

/** Adds `from` into `into`. `exactMax`: how many exact values the result may keep (Infinity when reading). */
export const mergeLatencySketches = (
  into: LatencySketch,
  from: LatencySketch,
  exactMax = LATENCY_SKETCH_EXACT_MAX,
): void => {
  for (const [index, n] of from.bins) into.bins.set(index, (into.bins.get(index) ?? 0) + n);
  into.count += from.count;
  if (into.exact === null) return;
  if (from.exact === null || into.exact.length + from.exact.length > exactMax) into.exact = null;
  // In place: a read merges thousands of rows into one sketch.
  else for (const value of from.exact) into.exact.push(value);
};

/**
 * Nearest rank, as the metrics always computed it: the ceil(p/100 x n)-th smallest value, per percent
 * given; nulls when empty.
 */
export const latencyPercentiles = (sketch: LatencySketch, percents: readonly number[]): (number | null)[] => {
  const n = sketch.count;
  if (n === 0) return percents.map(() => null);
  const ranks = percents.map((percent) => Math.min(n - 1, Math.max(0, Math.ceil((percent / 100) * n) - 1)));
  if (sketch.exact !== null && sketch.exact.length === n) {
    const sorted = [...sketch.exact].sort((a, b) => a - b);
    return ranks.map((rank) => sorted[rank]!);
  }
  const indexes = [...sketch.bins.keys()].sort((a, b) => a - b);
  return ranks.map((rank) => {
    let seen = 0;
    for (const index of indexes) {
      seen += sketch.bins.get(index)!;
      if (seen > rank) return latencyBinValue(index);
    }
    return latencyBinValue(indexes.at(-1)!);
  });
};

export const latencyPercentile = (sketch: LatencySketch, percent: number): number | null =>
  latencyPercentiles(sketch, [percent])[0]!;

/** Whether a percentile read from the bins is within the documented error of the exact one. */
export const latencyWithinError = (estimate: number, exact: number): boolean =>
  exact < LATENCY_SKETCH_MIN_MS
    ? estimate === 0 || estimate === exact
    : Math.abs(estimate - exact) <= LATENCY_SKETCH_ACCURACY * exact * (1 + 1e-9);

/**
 * The stored form of a sketch, one value the writers merge on every rollup write: a little-endian int32
 * with the number of exact values (-1 once dropped), those values as float64s, then the bins as int32
 * (index, count) pairs sorted by index. Merging is one linear pass, with no parsing.
 */
export const encodeLatencySketchBinary = (sketch: LatencySketch): Uint8Array => {
  const exact = sketch.exact ?? [];
  const indexes = [...sketch.bins.keys()].sort((a, b) => a - b);
  const bytes = new Uint8Array(4 + exact.length * 8 + indexes.length * 8);
  const view = new DataView(bytes.buffer);
  view.setInt32(0, sketch.exact === null ? -1 : exact.length, true);
  exact.forEach((value, i) => view.setFloat64(4 + i * 8, value, true));
  const at = 4 + exact.length * 8;
  indexes.forEach((index, i) => {
    view.setInt32(at + i * 8, index, true);
    view.setInt32(at + i * 8 + 4, sketch.bins.get(index)!, true);
  });
  return bytes;
};

const viewOf = (bytes: Uint8Array): DataView => new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);

export const decodeLatencySketchBinary = (bytes: Uint8Array): LatencySketch => {
  const view = viewOf(bytes);
  const n = view.getInt32(0, true);
  const exact: number[] | null = n < 0 ? null : [];
  for (let i = 0; i < n; i += 1) exact!.push(view.getFloat64(4 + i * 8, true));
  const bins = new Map<number, number>();
  let count = 0;
  for (let at = 4 + Math.max(0, n) * 8; at + 8 <= bytes.byteLength; at += 8) {
    const c = view.getInt32(at + 4, true);
    bins.set(view.getInt32(at, true), c);
    count += c;
  }
  return { bins, count, exact };
};

export const mergeBinaryLatencySketches = (a: Uint8Array, b: Uint8Array): Uint8Array => {
  const x = viewOf(a);
  const y = viewOf(b);
  const na = x.getInt32(0, true);
  const nb = y.getInt32(0, true);
  const keep = na >= 0 && nb >= 0 && na + nb <= LATENCY_SKETCH_EXACT_MAX;
  const exactBytes = keep ? (na + nb) * 8 : 0;
  const out = new Uint8Array(4 + exactBytes + a.byteLength + b.byteLength);
  const z = new DataView(out.buffer);
  z.setInt32(0, keep ? na + nb : -1, true);
  let i = 4 + Math.max(0, na) * 8;
  let j = 4 + Math.max(0, nb) * 8;
  if (keep) {
    out.set(a.subarray(4, i), 4);
    out.set(b.subarray(4, j), 4 + na * 8);
  }
  let k = 4 + exactBytes;
  while (i < a.byteLength || j < b.byteLength) {
    const left = i < a.byteLength ? x.getInt32(i, true) : Infinity;
    const right = j < b.byteLength ? y.getInt32(j, true) : Infinity;
    const index = Math.min(left, right);
    let count = 0;
    if (left === index) {
      count += x.getInt32(i + 4, true);
      i += 8;
    }
    if (right === index) {
      count += y.getInt32(j + 4, true);
      j += 8;
    }
    z.setInt32(k, index, true);
    z.setInt32(k + 4, count, true);
    k += 8;
  }
  return out.subarray(0, k);
};

/** The sketch of `values` in the binary form, without building the sketch (the writer's hot path). */
export const encodeLatenciesBinary = (values: readonly number[]): Uint8Array => {
  const n = values.length;
  const indexes = new Int32Array(n);
  for (let i = 0; i < n; i += 1) indexes[i] = latencyBinIndex(values[i]!);
  indexes.sort();
  let distinct = 0;
  for (let i = 0; i < n; i += 1) if (i === 0 || indexes[i] !== indexes[i - 1]) distinct += 1;
  const keep = n <= LATENCY_SKETCH_EXACT_MAX;
  const bytes = new Uint8Array(4 + (keep ? n * 8 : 0) + distinct * 8);
  const view = new DataView(bytes.buffer);
  view.setInt32(0, keep ? n : -1, true);
  if (keep) for (let i = 0; i < n; i += 1) view.setFloat64(4 + i * 8, values[i]!, true);
  let at = 4 + (keep ? n * 8 : 0) - 8;
  for (let i = 0; i < n; i += 1) {
    if (i === 0 || indexes[i] !== indexes[i - 1]) {
      at += 8;
      view.setInt32(at, indexes[i]!, true);
    }
    view.setInt32(at + 4, view.getInt32(at + 4, true) + 1, true);
  }
  return bytes;
};
