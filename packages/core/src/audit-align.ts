import { differingFields, type Recorded } from './audit-story.js';

type Fields = Readonly<Record<string, unknown>>;

/** Above this many row × entry comparisons, rows and entries are paired in order only (bounded memory). */
const MAX_CELLS = 1_000_000;

/**
 * Pairs stored rows with the entries that recorded them, both oldest first, for a table with no id in
 * its entries (a change request's review events). The longest run that agrees exactly stays paired, and
 * what lies between is paired in order: an edited row shows as one pair that differs, an inserted row or
 * a deleted one as one row or entry left alone, not as every later pair shifted.
 */
export const alignRecorded = <R extends object>(
  rows: readonly R[],
  recorded: readonly Recorded<Fields>[],
): [R | undefined, Recorded<Fields> | undefined][] => {
  const pairs: [R | undefined, Recorded<Fields> | undefined][] = [];
  let gapRows: R[] = [];
  let gapEntries: Recorded<Fields>[] = [];
  const flush = (): void => {
    for (let k = 0; k < Math.max(gapRows.length, gapEntries.length); k++) pairs.push([gapRows[k], gapEntries[k]]);
    gapRows = [];
    gapEntries = [];
  };
  if (rows.length * recorded.length > MAX_CELLS) {
    gapRows = [...rows];
    gapEntries = [...recorded];
    flush();
    return pairs;
  }

  const same = rows.map((row) =>
    recorded.map((entry) => differingFields(entry.value ?? {}, row as Fields).length === 0),
  );
  // longest[i][j]: the longest agreeing run of rows[i..] and recorded[j..].
  const longest = Array.from({ length: rows.length + 1 }, () => new Array<number>(recorded.length + 1).fill(0));
  for (let i = rows.length - 1; i >= 0; i--)
    for (let j = recorded.length - 1; j >= 0; j--)
      longest[i]![j] = same[i]![j] ? longest[i + 1]![j + 1]! + 1 : Math.max(longest[i + 1]![j]!, longest[i]![j + 1]!);

  let i = 0;
  let j = 0;
  while (i < rows.length && j < recorded.length) {
    if (same[i]![j]! && longest[i]![j] === longest[i + 1]![j + 1]! + 1) {
      flush();
      pairs.push([rows[i++], recorded[j++]]);
    } else if (longest[i + 1]![j]! >= longest[i]![j + 1]!) gapRows.push(rows[i++]!);
    else gapEntries.push(recorded[j++]!);
  }
  gapRows.push(...rows.slice(i));
  gapEntries.push(...recorded.slice(j));
  flush();
  return pairs;
};
