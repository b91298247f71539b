/**
 * Embedding similarity of two versions' outputs, given the vectors (the server asks an OpenAI-compatible
 * `/v1/embeddings` for them). Paired: the cosine between the two outputs of each pair. Unpaired: the
 * Euclidean distance between the two samples' mean embeddings, against a permutation null (the outputs
 * pooled and split again at random, as Evidently's bootstrapped threshold but with both sample sizes),
 * from a fixed seed so the same vectors give the same report.
 */

export type Vector = readonly number[];

/** Vectors for the report's outputs: `a[i]` and `b[i]` are pair i's (paired) or sample i of each side. */
export interface DriftEmbeddingsInput {
  readonly model: string;
  readonly a: readonly Vector[];
  readonly b: readonly Vector[];
}

/** The provider failed or is not reachable: the report says so and carries on without embeddings. */
export interface DriftEmbeddingsSkipped {
  readonly model: string;
  readonly skipped: string;
}

export interface DriftEmbeddingResult {
  readonly status: 'computed' | 'skipped';
  readonly model: string;
  /** Why embeddings are missing (the provider's error), else null. */
  readonly note: string | null;
  readonly paired: {
    readonly measure: 'cosine';
    readonly mean: number;
    readonly median: number;
    readonly lowest: number;
  } | null;
  readonly unpaired: {
    readonly measure: 'mean-embedding-distance';
    readonly distance: number;
    /** The (1 - alpha) quantile of the distance under the permutation null. */
    readonly threshold: number;
    readonly p: number;
    readonly resamples: number;
    readonly drifted: boolean;
  } | null;
}

/** Resamples of the permutation null, and the outputs per side it reads (the first ones). */
export const EMBEDDING_RESAMPLES = 200;
export const EMBEDDING_NULL_CAP = 1000;

export const cosine = (x: Vector, y: Vector): number => {
  let dot = 0;
  let xx = 0;
  let yy = 0;
  for (let i = 0; i < x.length; i += 1) {
    dot += x[i]! * y[i]!;
    xx += x[i]! * x[i]!;
    yy += y[i]! * y[i]!;
  }
  return xx === 0 || yy === 0 ? (xx === yy ? 1 : 0) : dot / Math.sqrt(xx * yy);
};

const sumOf = (vectors: readonly Vector[], dim: number, pick?: readonly number[]): Float64Array => {
  const sum = new Float64Array(dim);
  for (const index of pick ?? vectors.keys()) {
    const v = vectors[index]!;
    for (let j = 0; j < dim; j += 1) sum[j]! += v[j]!;
  }
  return sum;
};

const distanceOfMeans = (sumA: Float64Array, nA: number, sumB: Float64Array, nB: number): number => {
  let total = 0;
  for (let j = 0; j < sumA.length; j += 1) {
    const d = sumA[j]! / nA - sumB[j]! / nB;
    total += d * d;
  }
  return Math.sqrt(total);
};

/** mulberry32: small, fast, and the same sequence everywhere for a seed. */
const seeded = (seed: number): (() => number) => {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
};

/**
 * The distance between the mean embeddings of A and B, and how often a random split of the pooled
 * outputs (same sizes) is at least as far apart: p = (1 + that count) / (1 + resamples).
 */
export const meanEmbeddingDistance = (
  a: readonly Vector[],
  b: readonly Vector[],
  options: { readonly alpha: number; readonly resamples?: number; readonly seed?: number },
): { distance: number; threshold: number; p: number; resamples: number } => {
  const resamples = options.resamples ?? EMBEDDING_RESAMPLES;
  const left = a.slice(0, EMBEDDING_NULL_CAP);
  const right = b.slice(0, EMBEDDING_NULL_CAP);
  const dim = left[0]?.length ?? 0;
  const pooled = [...left, ...right];
  const total = sumOf(pooled, dim);
  const sumLeft = sumOf(left, dim);
  const distance = distanceOfMeans(
    sumLeft,
    left.length,
    total.map((x, j) => x - sumLeft[j]!),
    right.length,
  );
  const random = seeded(options.seed ?? 22);
  const order = [...pooled.keys()];
  const nulls: number[] = [];
  for (let r = 0; r < resamples; r += 1) {
    // A partial Fisher-Yates shuffle: the first left.length indexes are a uniform random subset.
    for (let i = 0; i < left.length; i += 1) {
      const j = i + Math.floor(random() * (order.length - i));
      [order[i], order[j]] = [order[j]!, order[i]!];
    }
    const sumA = sumOf(pooled, dim, order.slice(0, left.length));
    const sumB = total.map((x, j) => x - sumA[j]!);
    nulls.push(distanceOfMeans(sumA, left.length, sumB, right.length));
  }
  const sorted = [...nulls].sort((x, y) => x - y);
  const threshold = sorted[Math.min(sorted.length - 1, Math.ceil((1 - options.alpha) * sorted.length) - 1)] ?? 0;
  const p = (1 + nulls.filter((d) => d >= distance).length) / (1 + resamples);
  return { distance, threshold, p, resamples };
};

const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((x, y) => x - y);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

/** The report's embedding section; `round` is the report's rounding (six significant digits). */
export const embeddingResult = (
  given: DriftEmbeddingsInput | DriftEmbeddingsSkipped,
  paired: boolean,
  alpha: number,
  round: (x: number) => number,
): DriftEmbeddingResult => {
  if ('skipped' in given)
    return { status: 'skipped', model: given.model, note: given.skipped, paired: null, unpaired: null };
  if (paired) {
    const scores = given.a.map((x, i) => cosine(x, given.b[i]!));
    return {
      status: 'computed',
      model: given.model,
      note: scores.length === 0 ? 'no pairs to compare' : null,
      paired:
        scores.length === 0
          ? null
          : {
              measure: 'cosine',
              mean: round(scores.reduce((s, x) => s + x, 0) / scores.length),
              median: round(median(scores)),
              lowest: round(Math.min(...scores)),
            },
      unpaired: null,
    };
  }
  if (given.a.length < 2 || given.b.length < 2)
    return {
      status: 'computed',
      model: given.model,
      note: 'not enough data: at least 2 outputs of each version',
      paired: null,
      unpaired: null,
    };
  const found = meanEmbeddingDistance(given.a, given.b, { alpha });
  return {
    status: 'computed',
    model: given.model,
    note: null,
    paired: null,
    unpaired: {
      measure: 'mean-embedding-distance',
      distance: round(found.distance),
      threshold: round(found.threshold),
      p: round(found.p),
      resamples: found.resamples,
      drifted: found.p < alpha,
    },
  };
};
