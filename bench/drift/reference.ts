/**
 * A straightforward reference for the drift report's statistics, written apart from core's: sort-based
 * ranks found by scanning ties, tables counted with maps, distributions from textbook series (Numerical
 * Recipes' incomplete gamma and erfc). No shortcut: every statistic recomputed from the raw values.
 */

type Value = boolean | number | string;

const lnGamma = (x: number): number => {
  // Lanczos (g = 7, n = 9).
  const c = [
    0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
    12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
  ];
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - lnGamma(1 - x);
  const z = x - 1;
  let sum = c[0]!;
  for (let i = 1; i < 9; i += 1) sum += c[i]! / (z + i);
  const t = z + 7.5;
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(sum);
};

/** Q(a, x), the upper regularized incomplete gamma: series below a + 1, continued fraction above. */
const gammaQ = (a: number, x: number): number => {
  if (x <= 0) return 1;
  if (x < a + 1) {
    let term = 1 / a;
    let sum = term;
    for (let n = 1; n < 10_000; n += 1) {
      term *= x / (a + n);
      sum += term;
      if (Math.abs(term) < Math.abs(sum) * 1e-16) break;
    }
    return 1 - sum * Math.exp(-x + a * Math.log(x) - lnGamma(a));
  }
  let b = x + 1 - a;
  let c = 1 / 1e-300;
  let d = 1 / b;
  let h = d;
  for (let i = 1; i < 10_000; i += 1) {
    const an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < 1e-300) d = 1e-300;
    c = b + an / c;
    if (Math.abs(c) < 1e-300) c = 1e-300;
    d = 1 / d;
    const delta = d * c;
    h *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  return Math.exp(-x + a * Math.log(x) - lnGamma(a)) * h;
};

const chiSquareP = (statistic: number, df: number): number => gammaQ(df / 2, statistic / 2);
/** Two-sided normal p: erfc(|z| / √2) = Q(1/2, z² / 2). */
const normalP = (z: number): number => Math.min(1, gammaQ(0.5, (z * z) / 2));

const binomialTwoSidedHalf = (k: number, n: number): number => {
  let sum = 0;
  for (let i = 0; i <= k; i += 1) sum += Math.exp(lnGamma(n + 1) - lnGamma(i + 1) - lnGamma(n - i + 1) - n * Math.LN2);
  return Math.min(1, 2 * sum);
};

export interface ReferenceResult {
  readonly name: string;
  readonly statistic: number;
  readonly p: number;
  adjusted: number;
}

const mcnemar = (pairs: [Value, Value][]): { statistic: number; p: number } => {
  let onlyA = 0;
  let onlyB = 0;
  for (const [x, y] of pairs) {
    if (x === true && y !== true) onlyA += 1;
    if (x !== true && y === true) onlyB += 1;
  }
  const n = onlyA + onlyB;
  if (n < 25)
    return { statistic: Math.min(onlyA, onlyB), p: n === 0 ? 1 : binomialTwoSidedHalf(Math.min(onlyA, onlyB), n) };
  const statistic = (Math.abs(onlyA - onlyB) - 1) ** 2 / n;
  return { statistic, p: chiSquareP(statistic, 1) };
};

const wilcoxon = (pairs: [Value, Value][]): { statistic: number; p: number } => {
  const items = pairs
    .map(([x, y]) => Number(y) - Number(x))
    .filter((d) => d !== 0)
    .map((d) => ({ magnitude: Math.abs(d), positive: d > 0 }));
  items.sort((u, v) => u.magnitude - v.magnitude);
  const n = items.length;
  let plus = 0;
  let tieTerm = 0;
  let i = 0;
  while (i < n) {
    let j = i;
    while (j < n && items[j]!.magnitude === items[i]!.magnitude) j += 1;
    const rank = (i + 1 + j) / 2;
    for (let k = i; k < j; k += 1) if (items[k]!.positive) plus += rank;
    const t = j - i;
    tieTerm += t * t * t - t;
    i = j;
  }
  const total = (n * (n + 1)) / 2;
  const statistic = Math.min(plus, total - plus);
  if (n <= 50 && tieTerm === 0) throw new Error('the bench expects large samples (normal approximation)');
  const variance = (n * (n + 1) * (2 * n + 1) - tieTerm / 2) / 24;
  const d = plus - total / 2;
  return { statistic, p: variance > 0 ? normalP((d - 0.5 * Math.sign(d)) / Math.sqrt(variance)) : 1 };
};

const chiSquare = (pairs: [Value, Value][]): { statistic: number; p: number } => {
  const counts = new Map<string, [number, number]>();
  for (const [x, y] of pairs) {
    for (const [side, v] of [
      [0, x],
      [1, y],
    ] as const) {
      const entry = counts.get(String(v)) ?? [0, 0];
      entry[side] += 1;
      counts.set(String(v), entry);
    }
  }
  const columns: [number, number][] = [];
  const rare: [number, number] = [0, 0];
  for (const [a, b] of counts.values()) {
    if (a + b >= 5) columns.push([a, b]);
    else {
      rare[0] += a;
      rare[1] += b;
    }
  }
  if (rare[0] + rare[1] > 0) columns.push(rare);
  const rowTotals = [0, 1].map((r) => columns.reduce((s, c) => s + c[r]!, 0));
  const total = rowTotals[0]! + rowTotals[1]!;
  let statistic = 0;
  for (const column of columns) {
    const columnTotal = column[0] + column[1];
    for (const r of [0, 1]) {
      const expected = (rowTotals[r]! * columnTotal) / total;
      statistic += (column[r]! - expected) ** 2 / expected;
    }
  }
  const df = columns.length - 1;
  return { statistic, p: df <= 0 ? 1 : chiSquareP(statistic, df) };
};

/** Every tested descriptor's statistic and p, then Holm's adjustment by sorting the p-values. */
export const referenceStatistics = (
  descriptors: readonly { readonly name: string; readonly kind: string; readonly pairs: [Value, Value][] }[],
): ReferenceResult[] => {
  const results: ReferenceResult[] = descriptors.map(({ name, kind, pairs }) => {
    const r = kind === 'binary' ? mcnemar(pairs) : kind === 'numeric' ? wilcoxon(pairs) : chiSquare(pairs);
    return { name, ...r, adjusted: Number.NaN };
  });
  const sorted = [...results].sort((x, y) => x.p - y.p);
  let running = 0;
  sorted.forEach((result, rank) => {
    running = Math.max(running, Math.min(1, (sorted.length - rank) * result.p));
    result.adjusted = running;
  });
  return results;
};
