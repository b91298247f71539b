/** Corrections for testing several descriptors at once. */
export const P_VALUE_ADJUSTMENTS = ['holm', 'bh', 'none'] as const;
export type PValueAdjustment = (typeof P_VALUE_ADJUSTMENTS)[number];

const ascending = (p: readonly number[]): number[] => p.map((_, i) => i).sort((i, j) => p[i]! - p[j]! || i - j);

/** Holm's step-down adjusted p-values: they control the family-wise error rate. */
export const holmAdjust = (p: readonly number[]): number[] => {
  const m = p.length;
  const adjusted = new Array<number>(m);
  let running = 0;
  ascending(p).forEach((index, rank) => {
    running = Math.max(running, Math.min(1, (m - rank) * p[index]!));
    adjusted[index] = running;
  });
  return adjusted;
};

/** Benjamini and Hochberg's step-up adjusted p-values: they control the false discovery rate. */
export const benjaminiHochbergAdjust = (p: readonly number[]): number[] => {
  const m = p.length;
  const adjusted = new Array<number>(m);
  const order = ascending(p);
  let running = 1;
  for (let rank = m - 1; rank >= 0; rank -= 1) {
    const index = order[rank]!;
    running = Math.min(running, (m * p[index]!) / (rank + 1));
    adjusted[index] = running;
  }
  return adjusted;
};

export const adjustPValues = (p: readonly number[], method: PValueAdjustment): number[] =>
  method === 'holm' ? holmAdjust(p) : method === 'bh' ? benjaminiHochbergAdjust(p) : [...p];
