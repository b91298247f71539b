import { diffArrays } from 'diff';
import type { PromptContent } from './schema.js';

/**
 * Line blame over a version's ancestry: for each line of the newest version, the oldest version along the
 * parent chain from which that line survived unchanged. A text prompt's lines are its template's; a chat
 * prompt's are its messages' content lines, each keyed by message index and role (so a line moved to
 * another message counts as new there).
 */

export interface BodyLine {
  readonly message: { readonly index: number; readonly role: string } | null;
  readonly text: string;
}

const splitLines = (text: string): string[] => {
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
};

export const bodyLines = (content: PromptContent): BodyLine[] =>
  content.type === 'text'
    ? splitLines(content.template).map((text) => ({ message: null, text }))
    : content.messages.flatMap((message, index) =>
        splitLines(message.content).map((text) => ({ message: { index, role: message.role }, text })),
      );

const keyOf = (line: BodyLine): string =>
  line.message === null ? line.text : `${line.message.index}\u0000${line.message.role}\u0000${line.text}`;

export interface BlamedLine<V> extends BodyLine {
  /** The version that introduced the line in its current form. */
  readonly origin: V;
}

/**
 * `chain` runs oldest first and ends with the blamed version; each entry's content derives from the one
 * before it. Returns the last entry's lines, each with the entry that introduced it.
 */
export const blameChain = <V>(
  chain: readonly { readonly version: V; readonly content: PromptContent }[],
): BlamedLine<V>[] => {
  let lines: BlamedLine<V>[] = [];
  for (const { version, content } of chain) {
    const next = bodyLines(content);
    const keys = next.map(keyOf);
    const previousKeys = lines.map(keyOf);
    const blamed: BlamedLine<V>[] = [];
    let before = 0;
    let after = 0;
    for (const part of diffArrays(previousKeys, keys)) {
      const count = part.value.length;
      if (part.removed) {
        before += count;
        continue;
      }
      for (let i = 0; i < count; i += 1) {
        const line = next[after + i]!;
        blamed.push({ ...line, origin: part.added ? version : lines[before + i]!.origin });
      }
      after += count;
      if (!part.added) before += count;
    }
    lines = blamed;
  }
  return lines;
};
