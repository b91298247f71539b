import type { EvalAssertion } from '../eval-records.js';
import { runAssertion } from '../evals/assertions.js';
import { tokenJaccard } from '../evals/similarity.js';
import { REFUSAL_PATTERN, endingPhrase, openingPhrase } from './phrases.js';

/**
 * Descriptors: what is measured on each output, deterministically and without a model. Each is binary
 * (a rate per version), numeric (compared by rank tests, summarized by medians) or categorical (a
 * distribution over a few classes). Descriptors that cannot be measured for an output (no tokens given,
 * no schema configured, a variable without a text value) are left out of its record.
 */

export type DescriptorKind = 'binary' | 'numeric' | 'categorical';
export type DescriptorValue = boolean | number | string;
export type DescriptorRecord = Readonly<Record<string, DescriptorValue>>;

export interface DescriptorSpec {
  readonly kind: DescriptorKind;
  /** Groups descriptors in the verdict ("length and format unchanged"). */
  readonly family: string;
  /** Words for the verdict: what a yes means (binary), what is measured (numeric) or classified. */
  readonly words: string;
  /** Numeric only: the unit after a value. */
  readonly unit?: string;
}

export const DRIFT_DESCRIPTORS: Readonly<Record<string, DescriptorSpec>> = {
  'length.chars': { kind: 'numeric', family: 'length', words: 'length', unit: 'characters' },
  'length.words': { kind: 'numeric', family: 'length', words: 'length', unit: 'words' },
  'json.valid': { kind: 'binary', family: 'JSON', words: 'are valid JSON' },
  'json.schema': { kind: 'binary', family: 'JSON', words: 'match the JSON schema' },
  refusal: { kind: 'binary', family: 'refusals', words: 'refuse' },
  opening: { kind: 'categorical', family: 'phrasing', words: 'open with' },
  ending: { kind: 'categorical', family: 'phrasing', words: 'end with' },
  'format.list': { kind: 'binary', family: 'format', words: 'contain a list' },
  'format.code': { kind: 'binary', family: 'format', words: 'contain a code block' },
  'format.heading': { kind: 'binary', family: 'format', words: 'contain a heading' },
  tokens: { kind: 'numeric', family: 'tokens', words: 'output tokens' },
  latency: { kind: 'numeric', family: 'latency', words: 'latency', unit: 'ms' },
};

/** `user_name` → "the user's name"; `topic` → "the topic"; `order_id_2` → "the order id 2". */
export const variableWords = (name: string): string => {
  const words = name.split(/[_\-.\s]+/).filter(Boolean);
  return words.length === 2 ? `the ${words[0]!}'s ${words[1]!}` : `the ${words.join(' ')}`;
};

/** The spec of any descriptor name, including `mentions.<variable>` and `assertion.<name>`. */
export const descriptorSpec = (name: string): DescriptorSpec | undefined => {
  if (Object.hasOwn(DRIFT_DESCRIPTORS, name)) return DRIFT_DESCRIPTORS[name];
  if (name.startsWith('mentions.')) {
    return { kind: 'binary', family: 'mentions', words: `mention ${variableWords(name.slice(9))}` };
  }
  if (name.startsWith('assertion.')) {
    return { kind: 'binary', family: 'assertions', words: `pass the assertion ${name.slice(10)}` };
  }
  return undefined;
};

/** One output as the caller knows it. */
export interface DriftOutput {
  readonly output: string;
  /** Output tokens, when the provider reported them. */
  readonly tokens?: number | null;
  readonly latencyMs?: number | null;
  /** Deterministic assertion results by name (the evals engine computes them). */
  readonly assertions?: Readonly<Record<string, boolean>>;
}

export interface DescribeOptions {
  /** The case's template variables: each text or number value gives a `mentions.<name>` descriptor. */
  readonly vars?: Readonly<Record<string, unknown>>;
  /** A JSON schema: gives `json.schema`. */
  readonly jsonSchema?: unknown;
}

const LIST_LINE = /^[ \t]*(?:[-*+•]|\d{1,3}[.)])[ \t]+\S/gm;
const HEADING = /^[ \t]{0,3}#{1,6}[ \t]+\S/m;
const CODE_FENCE = /^[ \t]{0,3}(?:```|~~~)/m;

/** What a JSON text can start with: anything else cannot parse, and a throw per output is costly. */
const JSON_START = /^[{["\-0-9tfn]/;

const isJson = (text: string): boolean => {
  if (!JSON_START.test(text)) return false;
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
};

const codePoints = (text: string): number => {
  let count = 0;
  for (let i = 0; i < text.length; i += 1) {
    const unit = text.charCodeAt(i);
    // A high surrogate followed by a low one is one code point.
    if (unit >= 0xd800 && unit <= 0xdbff && i + 1 < text.length) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) i += 1;
    }
    count += 1;
  }
  return count;
};

/** Whether a UTF-16 unit is in JavaScript's `\s` (WhiteSpace and LineTerminator, as `trim` uses). */
const isSpace = (unit: number): boolean =>
  unit === 32 ||
  (unit >= 9 && unit <= 13) ||
  (unit > 127 &&
    (unit === 0xa0 ||
      unit === 0x1680 ||
      (unit >= 0x2000 && unit <= 0x200a) ||
      unit === 0x2028 ||
      unit === 0x2029 ||
      unit === 0x202f ||
      unit === 0x205f ||
      unit === 0x3000 ||
      unit === 0xfeff));

/** `text.trim().split(/\s+/).length` for a non-blank text, without building the words (20,000 outputs). */
const wordCount = (text: string): number => {
  let count = 0;
  let inWord = false;
  for (let i = 0; i < text.length; i += 1) {
    const space = isSpace(text.charCodeAt(i));
    if (!space && !inWord) count += 1;
    inWord = !space;
  }
  return count;
};

const mentionText = (value: unknown): string | undefined => {
  if (typeof value === 'string') return value.trim() === '' ? undefined : value.trim();
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return undefined;
};

/**
 * The descriptors of one output. Lengths count code points and whitespace-separated words; a mention is
 * the variable's value inside the output, case-insensitively (as the `mentions-var` assertion); JSON
 * validity is the whole trimmed output parsing as JSON; a list needs two list lines.
 */
export const describeOutput = (item: DriftOutput, options: DescribeOptions = {}): DescriptorRecord => {
  const text = item.output;
  const trimmed = text.trim();
  const record: Record<string, DescriptorValue> = {
    'length.chars': codePoints(text),
    'length.words': trimmed === '' ? 0 : wordCount(trimmed),
  };
  const lower = text.toLowerCase();
  for (const name of Object.keys(options.vars ?? {}).sort()) {
    const value = mentionText(options.vars![name]);
    if (value !== undefined) record[`mentions.${name}`] = lower.includes(value.toLowerCase());
  }
  const json = isJson(trimmed);
  record['json.valid'] = json;
  if (options.jsonSchema !== undefined) {
    const assertion: EvalAssertion = { type: 'json-schema', value: options.jsonSchema };
    record['json.schema'] =
      json && runAssertion(assertion, { output: trimmed, vars: {}, latencyMs: null, cost: null }).pass;
  }
  record.refusal = REFUSAL_PATTERN.test(text);
  record.opening = openingPhrase(text);
  record.ending = endingPhrase(text);
  record['format.list'] = (text.match(LIST_LINE)?.length ?? 0) >= 2;
  record['format.code'] = CODE_FENCE.test(text);
  record['format.heading'] = HEADING.test(text);
  if (typeof item.tokens === 'number' && Number.isFinite(item.tokens)) record.tokens = item.tokens;
  if (typeof item.latencyMs === 'number' && Number.isFinite(item.latencyMs)) record.latency = item.latencyMs;
  for (const name of Object.keys(item.assertions ?? {}).sort()) {
    const pass = item.assertions![name];
    if (typeof pass === 'boolean') record[`assertion.${name}`] = pass;
  }
  return record;
};

/**
 * Lexical similarity of a pair of outputs: token Jaccard over lowercased words, punctuation dropped
 * (the evals' `tokenJaccard`). Chosen over edit distance because it costs linear time on long outputs
 * and ignores reordering; it is reported, and orders the example pairs, but is not tested.
 */
export const pairSimilarity = (a: string, b: string): number => tokenJaccard(a, b);
