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
 * Bins are keyed by integer index, sparse. The stored form is two texts: the bins as a JSON object
 * (`{"index":count}`) and the values as a JSON array or null; PostgreSQL merges them with SQL functions
 * of the same meaning (migration 0007), SQLite with the functions below.
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

export const encodeLatencyBins = (bins: ReadonlyMap<number, number>): string => {
  let text = '';
  for (const [index, n] of bins) text += `${text === '' ? '' : ','}"${index}":${n}`;
  return `{${text}}`;
};

/** `into`: adds the decoded counts to an existing map (reading many rows into one). */
export const decodeLatencyBins = (text: string, into = new Map<number, number>()): Map<number, number> => {
  const object = JSON.parse(text) as Record<string, number>;
  for (const key in object) {
    const index = Number(key);
    into.set(index, (into.get(index) ?? 0) + object[key]!);
  }
  return into;
};

export const encodeLatencyExact = (exact: readonly number[] | null): string | null =>
  exact === null ? null : JSON.stringify(exact);

export const decodeLatencyExact = (text: string | null): number[] | null =>
  text === null ? null : (JSON.parse(text) as number[]);

/** The stored sketch's two texts as one sketch. */
export const decodeLatencySketch = (bins: string, exact: string | null): LatencySketch => {
  const decoded = decodeLatencyBins(bins);
  let count = 0;
  for (const n of decoded.values()) count += n;
  return { bins: decoded, count, exact: decodeLatencyExact(exact) };
};

/** The bins' merge on stored texts (SQLite's `promptops_latency_bins_merge`). */
export const mergeEncodedLatencyBins = (a: string, b: string): string =>
  encodeLatencyBins(decodeLatencyBins(b, decodeLatencyBins(a)));

/** The exact values' merge on stored texts (SQLite's `promptops_latency_exact_merge`). */
export const mergeEncodedLatencyExact = (a: string | null, b: string | null): string | null => {
  if (a === null || b === null) return null;
  const left = decodeLatencyExact(a)!;
  const right = decodeLatencyExact(b)!;
  return left.length + right.length <= LATENCY_SKETCH_EXACT_MAX ? JSON.stringify(left.concat(right)) : null;
};

/** Whether a percentile read from the bins is within the documented error of the exact one. */
export const latencyWithinError = (estimate: number, exact: number): boolean =>
  exact < LATENCY_SKETCH_MIN_MS
    ? estimate === 0 || estimate === exact
    : Math.abs(estimate - exact) <= LATENCY_SKETCH_ACCURACY * exact * (1 + 1e-9);
