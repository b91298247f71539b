import { createTwoFilesPatch, diffLines, diffWordsWithSpace } from 'diff';
import { canonicalJson } from './canonical.js';
import type { PromptContent } from './schema.js';

/**
 * Diffs between two versions: the prompt body (template or messages, then slots) as a line diff, and
 * every other field (type, config, variables) as a list of changed paths.
 */

export interface DiffLine {
  readonly op: 'equal' | 'add' | 'remove';
  readonly text: string;
  /** Word-level parts when a removed line is directly replaced by an added one. */
  readonly words?: readonly { readonly op: 'equal' | 'add' | 'remove'; readonly text: string }[];
}

export interface FieldChange {
  readonly path: string;
  readonly from?: unknown;
  readonly to?: unknown;
}

export interface PromptDiff {
  readonly identical: boolean;
  readonly unified: string;
  readonly lines: readonly DiffLine[];
  readonly fields: readonly FieldChange[];
}

/** The prompt body as text, one section per message and per slot, for line diffs and blame. */
export const promptBody = (content: PromptContent): string => {
  const parts =
    content.type === 'text'
      ? [ensureNewline(content.template)]
      : content.messages.map(
          (message, index) => `### messages[${index}] ${message.role}\n${ensureNewline(message.content)}`,
        );
  for (const [slot, template] of Object.entries(content.slots).sort(([a], [b]) => a.localeCompare(b))) {
    parts.push(`### slot ${slot}\n${ensureNewline(template)}`);
  }
  return parts.join('');
};

const ensureNewline = (text: string): string => (text.endsWith('\n') || text === '' ? text : `${text}\n`);

const flatten = (value: unknown, prefix: string, out: Map<string, unknown>): void => {
  if (value !== null && typeof value === 'object' && !Array.isArray(value) && Object.keys(value).length > 0) {
    for (const [key, inner] of Object.entries(value)) flatten(inner, prefix ? `${prefix}.${key}` : key, out);
  } else {
    out.set(prefix, value);
  }
};

const fieldsOf = (content: PromptContent): Map<string, unknown> => {
  const out = new Map<string, unknown>();
  flatten({ name: content.name, type: content.type, config: content.config, variables: content.variables }, '', out);
  return out;
};

export const diffFields = (from: PromptContent, to: PromptContent): FieldChange[] => {
  const a = fieldsOf(from);
  const b = fieldsOf(to);
  const paths = [...new Set([...a.keys(), ...b.keys()])].sort();
  const changes: FieldChange[] = [];
  for (const path of paths) {
    const before = a.get(path);
    const after = b.get(path);
    if (before !== undefined && after !== undefined && canonicalJson(before) === canonicalJson(after)) continue;
    changes.push({
      path,
      ...(before === undefined ? {} : { from: before }),
      ...(after === undefined ? {} : { to: after }),
    });
  }
  return changes;
};

const splitLines = (text: string): string[] => {
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
};

export const diffPrompts = (
  from: PromptContent,
  to: PromptContent,
  labels: { from: string; to: string } = { from: 'from', to: 'to' },
): PromptDiff => {
  const before = promptBody(from);
  const after = promptBody(to);
  const lines: DiffLine[] = [];
  const changes = diffLines(before, after);
  for (let index = 0; index < changes.length; index += 1) {
    const change = changes[index]!;
    const next = changes[index + 1];
    const op = change.added ? 'add' : change.removed ? 'remove' : 'equal';
    if (change.removed && next?.added) {
      const removed = splitLines(change.value);
      const added = splitLines(next.value);
      if (removed.length === added.length) {
        // A like-for-like replacement: show which words changed on each line.
        const pairs = removed.map((line, i) => diffWordsWithSpace(line, added[i] ?? ''));
        removed.forEach((text, i) => lines.push({ op: 'remove', text, words: wordsOf(pairs[i]!, 'remove') }));
        added.forEach((text, i) => lines.push({ op: 'add', text, words: wordsOf(pairs[i]!, 'add') }));
        index += 1;
        continue;
      }
    }
    for (const text of splitLines(change.value)) lines.push({ op, text });
  }
  const fields = diffFields(from, to);
  const unified = createTwoFilesPatch(labels.from, labels.to, before, after, '', '', { context: 3 });
  // Compare the contents themselves: the body text normalizes final newlines, so it cannot decide alone.
  return { identical: canonicalJson(from) === canonicalJson(to), unified, lines, fields };
};

const wordsOf = (
  parts: ReturnType<typeof diffWordsWithSpace>,
  side: 'add' | 'remove',
): { op: 'equal' | 'add' | 'remove'; text: string }[] =>
  parts
    .filter((part) => (side === 'add' ? !part.removed : !part.added))
    .map((part) => ({ op: part.added ? 'add' : part.removed ? 'remove' : 'equal', text: part.value }));
