import { ASSERTION_TYPES } from '../assertions.js';
import { parseProviderSpec } from '../suite.js';

/**
 * promptfoo assertions -> promptops assertions. Same names where they overlap; a few graded types map to
 * `llm-rubric` (graded by promptops' judge prompt, said in a warning); the rest (JavaScript, Python,
 * embeddings-only metrics, assert-set) are left out with a warning naming where they were.
 */

export type Json = Record<string, unknown>;
export const isRecord = (value: unknown): value is Json =>
  value !== null && typeof value === 'object' && !Array.isArray(value);

const SUPPORTED = new Set(ASSERTION_TYPES);
/** Graded by a model in promptfoo too, against a criterion in `value`. */
const AS_RUBRIC = new Set(['model-graded-closedqa', 'g-eval']);
const KEPT_FIELDS = new Set(['type', 'value', 'threshold', 'weight', 'provider']);

/** A judge provider as promptops names it (`openai:gpt-4o`), or undefined with a warning. */
export const judgeSpec = (provider: unknown, where: string, warnings: string[]): string | undefined => {
  const id = typeof provider === 'string' ? provider : isRecord(provider) ? provider.id : undefined;
  if (typeof id !== 'string') {
    warnings.push(`${where}: a grading provider that is not { id } is not imported; the suite's provider judges`);
    return undefined;
  }
  const spec = parseProviderSpec(id);
  if (!['openai', 'anthropic'].includes(spec.id) || spec.model === '') {
    warnings.push(`${where}: grading provider "${id}" has no promptops adapter; the suite's provider judges`);
    return undefined;
  }
  if (isRecord(provider) && provider.config !== undefined) {
    warnings.push(`${where}: the grading provider's config is not imported (only its id)`);
  }
  return `${spec.id}:${spec.model}`;
};

export interface AssertionContext {
  readonly warnings: string[];
  /** Reads a `file://` value (relative to the config). */
  readonly readValue: (path: string, where: string) => unknown;
  /** The judge from `defaultTest.options.provider`, for graded assertions without their own. */
  readonly judge?: string;
}

const mapOne = (entry: Json, at: string, context: AssertionContext): Json | undefined => {
  const { warnings } = context;
  let type = String(entry.type);
  if (AS_RUBRIC.has(type)) {
    warnings.push(`${at}: ${type} is graded as llm-rubric by promptops' judge prompt`);
    type = 'llm-rubric';
  }
  if (!SUPPORTED.has(type)) {
    warnings.push(`${at}: assertion type "${entry.type as string}" has no promptops counterpart; left out`);
    return undefined;
  }
  if (type === 'similar' || type === 'not-similar') {
    warnings.push(`${at}: similar is lexical in promptops (promptfoo uses embeddings); check its threshold`);
  }
  for (const key of Object.keys(entry)) {
    if (!KEPT_FIELDS.has(key)) warnings.push(`${at}: "${key}" is not imported`);
  }
  let value = entry.value;
  if (typeof value === 'string' && value.startsWith('file://')) {
    const path = value.slice('file://'.length);
    if (/\.(js|cjs|mjs|ts|py)(:|$)/.test(path)) {
      warnings.push(`${at}: a value computed by ${path} has no promptops counterpart; left out`);
      return undefined;
    }
    value = context.readValue(path, `${at}.value`);
  }
  const judge = entry.provider === undefined ? context.judge : judgeSpec(entry.provider, `${at}.provider`, warnings);
  return {
    type,
    ...(value === undefined ? {} : { value }),
    ...(typeof entry.threshold === 'number' ? { threshold: entry.threshold } : {}),
    ...(typeof entry.weight === 'number' ? { weight: entry.weight } : {}),
    ...(type === 'llm-rubric' && judge !== undefined ? { options: { provider: judge } } : {}),
  };
};

/** A promptfoo `assert:` list; what does not map is warned about and left out. */
export const mapAssertions = (list: unknown, where: string, context: AssertionContext): Json[] => {
  if (list === undefined) return [];
  if (!Array.isArray(list)) {
    context.warnings.push(`${where}: assert is not a list; left out`);
    return [];
  }
  const out: Json[] = [];
  list.forEach((entry: unknown, index) => {
    const at = `${where}[${index}]`;
    if (!isRecord(entry) || typeof entry.type !== 'string') {
      context.warnings.push(`${at}: not an assertion with a type; left out`);
      return;
    }
    const mapped = mapOne(entry, at, context);
    if (mapped !== undefined) out.push(mapped);
  });
  return out;
};

// `[not-]type[(threshold)][: value]`, promptfoo's CSV spelling; legacy prefixes fn:, eval:, grade:.
const EXPECTED = /^(not-)?([a-z][a-z0-9-]*)(?:\((\d+(?:\.\d+)?)\))?(?::\s?([\s\S]*))?$/;
const LEGACY: Record<string, string> = { fn: 'javascript', eval: 'javascript', grade: 'llm-rubric' };

/** A CSV `__expected` cell as a promptfoo assertion (then mapped like any other). */
export const expectedCell = (cell: string): Json => {
  const match = EXPECTED.exec(cell);
  if (match === null) return { type: 'equals', value: cell };
  const base = LEGACY[match[2] ?? ''] ?? match[2] ?? '';
  const known =
    SUPPORTED.has(base) ||
    AS_RUBRIC.has(base) ||
    /^(javascript|python|webhook|levenshtein|rouge-n|bleu|factuality|answer-relevance|context-[a-z-]+|classifier|moderation|is-sql|is-xml|contains-xml|contains-json|contains-sql|perplexity|perplexity-score|is-valid-openai-[a-z-]+)$/.test(
      base,
    );
  if (!known) return { type: 'equals', value: cell };
  const type = `${match[1] ?? ''}${base}`;
  const value = match[4] ?? '';
  return {
    type,
    ...(value === '' && (base === 'is-json' || base === 'contains-json') ? {} : { value }),
    ...(match[3] === undefined ? {} : { threshold: Number(match[3]) }),
  };
};

/** Every `{{name}}` root an assertion's string values mention (already mustache). */
export const assertionText = (assertion: Json): string[] => {
  const value = assertion.value;
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.filter((v): v is string => typeof v === 'string');
  return [];
};
