/**
 * Lexical similarity for the `similar` assertion: no model, no embeddings, deterministic.
 *
 * The score is the larger of two measures on normalized text (lowercased, punctuation dropped,
 * whitespace collapsed):
 * - token Jaccard: |A ∩ B| / |A ∪ B| over the sets of words, which forgives reordering;
 * - 1 - normalized Levenshtein: 1 - distance / max(length), over characters, which forgives typos.
 * Two empty texts are identical (1).
 */

// ASCII text (most outputs) takes the same classes without the slower Unicode property escapes.
const ASCII = /^[\p{ASCII}]*$/u;

export const normalizeText = (text: string): string =>
  text
    .toLowerCase()
    .replace(ASCII.test(text) ? /[^a-z0-9\s]/g : /[^\p{L}\p{N}\s]/gu, ' ')
    .replace(/\s+/g, ' ')
    .trim();

/** The words of normalizeText(text) (its runs of letters and digits), with one regex pass, no rewriting. */
const words = (text: string): RegExpMatchArray | [] =>
  text.toLowerCase().match(ASCII.test(text) ? /[a-z0-9]+/g : /[\p{L}\p{N}]+/gu) ?? [];

export const tokenJaccard = (a: string, b: string): number => {
  const left = new Set(words(a));
  const right = new Set(words(b));
  if (left.size === 0 && right.size === 0) return 1;
  let shared = 0;
  for (const token of left) if (right.has(token)) shared += 1;
  return shared / (left.size + right.size - shared);
};

/** Levenshtein distance over UTF-16 code units, two rows of memory. */
export const levenshtein = (a: string, b: string): number => {
  if (a === b) return 0;
  if (a.length === 0) return b.length;
  if (b.length === 0) return a.length;
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  let current = new Array<number>(b.length + 1).fill(0);
  for (let i = 1; i <= a.length; i += 1) {
    current[0] = i;
    for (let j = 1; j <= b.length; j += 1) {
      const cost = a.charCodeAt(i - 1) === b.charCodeAt(j - 1) ? 0 : 1;
      current[j] = Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, (previous[j - 1] ?? 0) + cost);
    }
    [previous, current] = [current, previous];
  }
  return previous[b.length] ?? 0;
};

export const levenshteinSimilarity = (a: string, b: string): number => {
  const left = normalizeText(a);
  const right = normalizeText(b);
  const longest = Math.max(left.length, right.length);
  return longest === 0 ? 1 : 1 - levenshtein(left, right) / longest;
};

export const lexicalSimilarity = (a: string, b: string): number =>
  Math.max(tokenJaccard(a, b), levenshteinSimilarity(a, b));
