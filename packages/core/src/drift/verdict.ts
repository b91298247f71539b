import type { DriftDescriptorResult } from './report-types.js';

/**
 * The verdict in words, the report's first line: what moved (largest evidence first), with the
 * numbers, the sample and the adjusted p, then the families that did not move.
 */

// Entries, not an object literal: a `code:` property would read as an error code to the catalogue's scan.
const CLASS_WORDS: ReadonlyMap<string, string> = new Map([
  ['greeting', 'a greeting'],
  ['thanks', 'thanks'],
  ['apology', 'an apology'],
  ['affirmation', 'an affirmation'],
  ['refusal', 'a refusal'],
  ['question', 'a question'],
  ['json', 'JSON'],
  ['code', 'a code block'],
  ['heading', 'a heading'],
  ['empty', 'nothing'],
  ['other', 'something else'],
  ['offer', 'an offer to help'],
  ['sign-off', 'a sign-off'],
]);

const percent = (x: number): string => `${Math.round(x * 100)} %`;
const amount = (x: number): string => String(Number(x.toPrecision(4)));

export const listInWords = (items: readonly string[]): string =>
  items.length <= 1 ? (items[0] ?? '') : `${items.slice(0, -1).join(', ')} and ${items.at(-1)!}`;

export const pInWords = (p: number): string => (p < 0.001 ? 'p < 0.001' : `p = ${p.toFixed(3)}`);

/** e.g. "outputs mention the user's name 0 % vs 100 % of the time" (B first, as "v18 … vs v17 …"). */
export const changeInWords = (d: DriftDescriptorResult): string => {
  if (d.kind === 'binary')
    return `outputs ${d.words} ${percent(d.b as number)} vs ${percent(d.a as number)} of the time`;
  if (d.kind === 'numeric') {
    return `median ${d.words} ${amount(d.b as number)} vs ${amount(d.a as number)}${d.unit ? ` ${d.unit}` : ''}`;
  }
  const a = d.a as Record<string, number>;
  const b = d.b as Record<string, number>;
  let moved = Object.keys(b)[0] ?? '';
  for (const c of Object.keys(b)) if (Math.abs(b[c]! - a[c]!) > Math.abs(b[moved]! - a[moved]!)) moved = c;
  return `outputs ${d.words} ${CLASS_WORDS.get(moved) ?? moved} ${percent(b[moved]!)} vs ${percent(a[moved]!)} of the time`;
};

export interface VerdictContext {
  readonly versions: { readonly a: string; readonly b: string };
  /** "40 paired cases" or "60 vs 58 outputs". */
  readonly sample: string;
}

export const verdictInWords = (descriptors: readonly DriftDescriptorResult[], context: VerdictContext): string => {
  const { a, b } = context.versions;
  const tested = descriptors.filter((d) => d.status === 'tested');
  if (tested.length === 0) {
    const needed = Math.min(...descriptors.map((d) => d.minimum), Number.POSITIVE_INFINITY);
    return `${b} vs ${a}: not enough data to tell (${context.sample}${Number.isFinite(needed) ? `; at least ${needed} needed` : ''})`;
  }
  const families = [...new Set(descriptors.map((d) => d.family))];
  const movedFamilies = new Set(descriptors.filter((d) => d.drifted).map((d) => d.family));
  const unchanged = families.filter(
    (f) => !movedFamilies.has(f) && descriptors.every((d) => d.family !== f || d.status === 'tested'),
  );
  const short = families.filter((f) => !movedFamilies.has(f) && !unchanged.includes(f));
  const shortClause = short.length > 0 ? ` Not enough data for ${listInWords(short)}.` : '';
  const drifted = descriptors
    .filter((d) => d.drifted)
    .sort((x, y) => x.adjustedP! - y.adjustedP! || descriptors.indexOf(x) - descriptors.indexOf(y));
  if (drifted.length === 0) {
    return `${b} did not drift from ${a}: ${listInWords(unchanged)} unchanged (${context.sample}).${shortClause}`;
  }
  const changes = drifted.map((d) => `${changeInWords(d)} (${context.sample}, ${pInWords(d.adjustedP!)})`);
  const rest = unchanged.length > 0 ? `; ${listInWords(unchanged)} unchanged.` : '.';
  return `${b} drifted: ${changes.join('; ')}${rest}${shortClause}`;
};
