/**
 * "Did you mean …?" for names: the optimal-string-alignment distance (Damerau–Levenshtein with adjacent
 * transpositions) and the thresholds commander uses for unknown commands (at most 3 edits, more than 40 %
 * of the longer name unchanged), plus names that contain what was typed (a forgotten folder or prefix).
 */

const MAX_DISTANCE = 3;
const MIN_SIMILARITY = 0.4;
/** Shorter input matches too many names as a substring. */
const MIN_CONTAINED = 3;

export const editDistance = (a: string, b: string): number => {
  // rows[i][j]: the distance between the first i characters of a and the first j of b.
  const rows: number[][] = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i <= a.length; i += 1) {
    const row = rows[i]!;
    const above = rows[i - 1]!;
    for (let j = 1; j <= b.length; j += 1) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      row[j] = Math.min(above[j]! + 1, row[j - 1]! + 1, above[j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        row[j] = Math.min(row[j]!, rows[i - 2]![j - 2]! + 1);
      }
    }
  }
  return rows[a.length]![b.length]!;
};

/** Up to `limit` of `candidates` that `input` was probably meant to be: closest first, then by name. */
export const similarNames = (input: string, candidates: Iterable<string>, limit = 3): string[] => {
  const typed = input.toLowerCase();
  const close: { name: string; distance: number }[] = [];
  const containing: string[] = [];
  for (const name of new Set(candidates)) {
    const lower = name.toLowerCase();
    const distance = editDistance(typed, lower);
    const length = Math.max(typed.length, lower.length);
    if (distance <= MAX_DISTANCE && (length - distance) / length > MIN_SIMILARITY) close.push({ name, distance });
    else if (typed.length >= MIN_CONTAINED && lower.includes(typed)) containing.push(name);
  }
  close.sort((x, y) => x.distance - y.distance || (x.name < y.name ? -1 : 1));
  return [...close.map((entry) => entry.name), ...containing.sort()].slice(0, limit);
};
