/**
 * Short views of long model answers for failure reasons and tables: cut only between words, around the
 * part that matters (where an expected or forbidden text is), and wrapped rather than cut when shown.
 */

const ELLIPSIS = '…';

/** Whitespace runs to one space: an answer's line breaks would break a table row. */
export const flatten = (text: string): string => text.replace(/\s+/g, ' ').trim();

/**
 * `text` in at most `max` characters (plus an ellipsis when cut), cut after the last whole word that fits.
 * Only a single word longer than half the budget is cut inside (there is nowhere else to cut).
 */
export const clipWords = (text: string, max: number): string => {
  if (text.length <= max) return text;
  const space = text.lastIndexOf(' ', max);
  const end = space > max / 2 ? space : max;
  return `${text.slice(0, end).trimEnd()}${ELLIPSIS}`;
};

/**
 * About `max` characters of `text` around `[at, at + length)`, centred on it, starting and ending between
 * words, with an ellipsis on each side that was cut. `at = text.length` shows the end.
 */
export const excerptAround = (text: string, at: number, length: number, max: number): string => {
  if (text.length <= max) return text;
  const room = Math.max(0, max - length);
  let start = Math.max(0, at - Math.floor(room / 2));
  let end = Math.min(text.length, start + max);
  start = Math.max(0, end - max);
  if (start > 0) {
    // Begin after a space, unless that would skip into the part that matters.
    const space = text.indexOf(' ', start - 1);
    if (space !== -1 && space < at && space + 1 < end) start = space + 1;
  }
  if (end < text.length) {
    const space = text.lastIndexOf(' ', end);
    if (space > start && space >= at + length) end = space;
  }
  return `${start > 0 ? ELLIPSIS : ''}${text.slice(start, end).trim()}${end < text.length ? ELLIPSIS : ''}`;
};

/** Lines of at most `width` characters, broken between words; a word longer than a line is split. */
export const wrapWords = (text: string, width: number): string[] => {
  const lines: string[] = [];
  let line = '';
  for (let word of text.split(' ').filter((w) => w !== '')) {
    while (word.length > width) {
      if (line !== '') lines.push(line);
      lines.push(word.slice(0, width));
      word = word.slice(width);
      line = '';
    }
    if (line === '') line = word;
    else if (line.length + 1 + word.length <= width) line = `${line} ${word}`;
    else {
      lines.push(line);
      line = word;
    }
  }
  lines.push(line);
  return lines;
};
