import type { DiffLine } from '../api/types';

/**
 * Pairs a line diff into side-by-side rows: equal lines sit on both sides; a run of removals and the run
 * of additions after it are zipped, so a replaced line faces its replacement (and its word-level parts).
 */
export interface SplitRow {
  readonly left?: DiffLine;
  readonly right?: DiffLine;
}

export const splitRows = (lines: readonly DiffLine[]): SplitRow[] => {
  const rows: SplitRow[] = [];
  let index = 0;
  while (index < lines.length) {
    const line = lines[index]!;
    if (line.op === 'equal') {
      rows.push({ left: line, right: line });
      index += 1;
      continue;
    }
    const removed: DiffLine[] = [];
    const added: DiffLine[] = [];
    while (lines[index]?.op === 'remove') removed.push(lines[index++]!);
    while (lines[index]?.op === 'add') added.push(lines[index++]!);
    for (let pair = 0; pair < Math.max(removed.length, added.length); pair += 1) {
      const left = removed[pair];
      const right = added[pair];
      rows.push({ ...(left === undefined ? {} : { left }), ...(right === undefined ? {} : { right }) });
    }
  }
  return rows;
};

/** `### messages[0] system` and `### slot NAME` lines head a section of the prompt body. */
export const sectionTitle = (text: string): string | undefined => {
  const match = /^### (messages\[(\d+)\] (\w+)|slot (.+))$/.exec(text);
  if (match === null) return undefined;
  return match[4] !== undefined ? `slot ${match[4]}` : `message ${Number(match[2]) + 1} · ${match[3]}`;
};
