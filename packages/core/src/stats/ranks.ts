/** Midranks (1-based, ties share their mean rank) and the tie term Σ (t³ − t) over groups of t ties. */
export interface Ranking {
  readonly ranks: Float64Array;
  readonly tieTerm: number;
  readonly hasTies: boolean;
}

export const rankWithTies = (values: ArrayLike<number>): Ranking => {
  const n = values.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((i, j) => values[i]! - values[j]!);
  const ranks = new Float64Array(n);
  let tieTerm = 0;
  for (let start = 0; start < n;) {
    let end = start + 1;
    while (end < n && values[order[end]!] === values[order[start]!]) end += 1;
    const t = end - start;
    const rank = (start + 1 + end) / 2;
    for (let i = start; i < end; i += 1) ranks[order[i]!] = rank;
    if (t > 1) tieTerm += t * t * t - t;
    start = end;
  }
  return { ranks, tieTerm, hasTies: tieTerm > 0 };
};

/** The median of sorted values. */
export const sortedMedian = (sorted: ArrayLike<number>): number => {
  const n = sorted.length;
  if (n === 0) return Number.NaN;
  const mid = n >> 1;
  return n % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

export const sortNumbers = (values: ArrayLike<number>): Float64Array => Float64Array.from(values).sort();
