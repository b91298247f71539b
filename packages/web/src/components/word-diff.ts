/**
 * Two texts compared word by word (words and the spaces and punctuation between them), for a drift
 * report's example pairs side by side. The common start and end are trimmed first, so a typical pair (one
 * clause changed) costs little; a middle longer than MAX_CELLS word pairs is marked changed as a whole
 * instead of being compared quadratically.
 */

export interface WordPart {
  readonly op: 'equal' | 'add' | 'remove';
  readonly text: string;
}

const MAX_CELLS = 1_000_000;

const tokens = (text: string): string[] => text.match(/\w+|\s+|[^\w\s]+/gu) ?? [];

const push = (parts: WordPart[], op: WordPart['op'], text: string): void => {
  if (text === '') return;
  const last = parts.at(-1);
  if (last !== undefined && last.op === op) parts[parts.length - 1] = { op, text: last.text + text };
  else parts.push({ op, text });
};

/** The longest common subsequence of x and y, as a list of [i, j] index pairs. */
const commonPairs = (x: readonly string[], y: readonly string[]): [number, number][] => {
  const width = y.length + 1;
  const table = new Uint32Array((x.length + 1) * width);
  for (let i = x.length - 1; i >= 0; i -= 1) {
    for (let j = y.length - 1; j >= 0; j -= 1) {
      table[i * width + j] =
        x[i] === y[j]
          ? table[(i + 1) * width + j + 1]! + 1
          : Math.max(table[(i + 1) * width + j]!, table[i * width + j + 1]!);
    }
  }
  const pairs: [number, number][] = [];
  let i = 0;
  let j = 0;
  while (i < x.length && j < y.length) {
    if (x[i] === y[j]) {
      pairs.push([i, j]);
      i += 1;
      j += 1;
    } else if (table[(i + 1) * width + j]! >= table[i * width + j + 1]!) i += 1;
    else j += 1;
  }
  return pairs;
};

export const wordDiff = (a: string, b: string): { a: WordPart[]; b: WordPart[] } => {
  const x = tokens(a);
  const y = tokens(b);
  let start = 0;
  while (start < x.length && start < y.length && x[start] === y[start]) start += 1;
  let end = 0;
  while (end < x.length - start && end < y.length - start && x[x.length - 1 - end] === y[y.length - 1 - end]) end += 1;
  const midX = x.slice(start, x.length - end);
  const midY = y.slice(start, y.length - end);
  const left: WordPart[] = [];
  const right: WordPart[] = [];
  const head = x.slice(0, start).join('');
  push(left, 'equal', head);
  push(right, 'equal', head);
  if (midX.length * midY.length > MAX_CELLS) {
    push(left, 'remove', midX.join(''));
    push(right, 'add', midY.join(''));
  } else {
    let i = 0;
    let j = 0;
    for (const [ci, cj] of [...commonPairs(midX, midY), [midX.length, midY.length] as [number, number]]) {
      push(left, 'remove', midX.slice(i, ci).join(''));
      push(right, 'add', midY.slice(j, cj).join(''));
      if (ci < midX.length) {
        push(left, 'equal', midX[ci]!);
        push(right, 'equal', midY[cj]!);
      }
      i = ci + 1;
      j = cj + 1;
    }
  }
  const tail = x.slice(x.length - end).join('');
  push(left, 'equal', tail);
  push(right, 'equal', tail);
  return { a: left, b: right };
};
