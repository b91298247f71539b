/**
 * The Jensen-Shannon distance, base 2, between two distributions given as weights over the same
 * categories (normalized here): √(½ KL(p‖m) + ½ KL(q‖m)), m = (p + q) / 2. 0 for identical
 * distributions, 1 for disjoint ones; it is a metric (SciPy's `jensenshannon(p, q, base=2)`).
 */
export const jensenShannonDistance = (p: readonly number[], q: readonly number[]): number => {
  const sumP = p.reduce((s, x) => s + x, 0);
  const sumQ = q.reduce((s, x) => s + x, 0);
  if (!(sumP > 0 && sumQ > 0)) return 0;
  let divergence = 0;
  const length = Math.max(p.length, q.length);
  for (let i = 0; i < length; i += 1) {
    const pi = (p[i] ?? 0) / sumP;
    const qi = (q[i] ?? 0) / sumQ;
    const mi = (pi + qi) / 2;
    if (pi > 0) divergence += 0.5 * pi * Math.log2(pi / mi);
    if (qi > 0) divergence += 0.5 * qi * Math.log2(qi / mi);
  }
  return Math.sqrt(Math.max(0, divergence));
};
