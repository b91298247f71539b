import { Ajv, type ValidateFunction } from 'ajv';
import { canonicalJson } from '../canonical.js';
import { renderTemplate } from '../template.js';
import type { FieldIssue } from '../errors.js';
import type { AssertionResult, EvalAssertion } from '../eval-records.js';
import { excerptAround, flatten } from './excerpt.js';
import { clip, type JudgeVerdict } from './judge.js';
import { lexicalSimilarity } from './similarity.js';

/**
 * Assertions: each checks one output and returns pass, a score in 0..1 and a reason that says what was
 * expected and what came. Names and meanings follow promptfoo where they overlap (`contains-any`, the
 * `not-` prefix, `threshold`, `weight`). Every type is a small entry in one table: how its configuration
 * is checked (at suite parse time, so a malformed suite fails before any call) and how it runs.
 */

/** What an assertion sees of one case's result. */
export interface AssertionContext {
  readonly output: string;
  readonly vars: Readonly<Record<string, unknown>>;
  readonly latencyMs: number | null;
  readonly cost: number | null;
  /** The judge's verdict, for `llm-rubric` (the runner calls the judge). */
  readonly verdict?: JudgeVerdict;
}

interface Outcome {
  readonly pass: boolean;
  readonly score: number;
  readonly reason: string;
}

interface AssertionHandler {
  /** Problems with the configuration, paths relative to the assertion (`value`, `threshold`). */
  readonly check: (assertion: EvalAssertion) => FieldIssue[];
  readonly run: (assertion: EvalAssertion, context: AssertionContext) => Outcome;
  /** Whether `not-<type>` exists. */
  readonly negatable: boolean;
}

const binary = (pass: boolean, reason: string): Outcome => ({ pass, score: pass ? 1 : 0, reason });
const got = (output: string): string => `got ${clip(output)}`;
/** The end of the output, from a word boundary. */
const tail = (output: string): string => {
  const flat = flatten(output);
  return JSON.stringify(excerptAround(flat, flat.length, 0, 100));
};
/** The output, around the first place `needle` occurs in it (when it does): what a `not-` failure is about. */
const gotAround = (output: string, needle: string, ignoreCase: boolean): string => {
  const flat = flatten(output);
  const wanted = flatten(needle);
  const at = ignoreCase ? flat.toLowerCase().indexOf(wanted.toLowerCase()) : flat.indexOf(wanted);
  return at < 0 || wanted === '' ? got(output) : `got ${JSON.stringify(excerptAround(flat, at, wanted.length, 120))}`;
};
const issue = (path: string, message: string): FieldIssue[] => [{ path, message }];

const isScalar = (value: unknown): value is string | number | boolean =>
  typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean';

const needsText =
  (what: string) =>
  (assertion: EvalAssertion): FieldIssue[] =>
    isScalar(assertion.value) && String(assertion.value) !== ''
      ? []
      : issue('value', `${assertion.type} needs value: ${what} (a non-empty string)`);

/** A list in `value`: a YAML list, or a comma-separated string as promptfoo accepts. */
const listOf = (value: unknown): string[] | undefined => {
  if (Array.isArray(value) && value.length > 0 && value.every(isScalar)) return value.map(String);
  if (typeof value === 'string' && value.trim() !== '') return value.split(',').map((part) => part.trim());
  return undefined;
};
const needsList = (assertion: EvalAssertion): FieldIssue[] =>
  listOf(assertion.value) === undefined
    ? issue('value', `${assertion.type} needs value: a non-empty list of strings (or one comma-separated string)`)
    : [];

const containment = (options: { ignoreCase: boolean; mode: 'one' | 'any' | 'all' }): AssertionHandler => ({
  negatable: true,
  check: options.mode === 'one' ? needsText('the text to look for') : needsList,
  run: (assertion, { output }) => {
    const fold = (text: string): string => (options.ignoreCase ? text.toLowerCase() : text);
    const haystack = fold(output);
    const needles = options.mode === 'one' ? [String(assertion.value)] : (listOf(assertion.value) ?? []);
    const found = needles.filter((needle) => haystack.includes(fold(needle)));
    const casing = options.ignoreCase ? ' (ignoring case)' : '';
    if (options.mode === 'one') {
      return binary(
        found.length === 1,
        `expected the output to contain ${clip(needles[0] ?? '')}${casing}; ${gotAround(output, needles[0] ?? '', options.ignoreCase)}`,
      );
    }
    const pass = options.mode === 'all' ? found.length === needles.length : found.length > 0;
    const missing = needles.filter((needle) => !found.includes(needle));
    return binary(
      pass,
      `expected ${options.mode} of ${JSON.stringify(needles)}${casing}; found ${JSON.stringify(found)}${missing.length > 0 && options.mode === 'all' ? `, missing ${JSON.stringify(missing)}` : ''}; ${gotAround(output, found[0] ?? '', options.ignoreCase)}`,
    );
  },
});

const regexOf = (assertion: EvalAssertion): RegExp => {
  const flags = assertion.options?.flags;
  return new RegExp(String(assertion.value), typeof flags === 'string' ? flags : '');
};

const parseJson = (output: string): { ok: true; value: unknown } | { ok: false; error: string } => {
  try {
    return { ok: true, value: JSON.parse(output) as unknown };
  } catch (error) {
    return { ok: false, error: error instanceof Error ? error.message : String(error) };
  }
};

// Made on first use: building ajv (its meta-schemas) costs more than a short CLI run's other work.
let ajv: Ajv | undefined;
/**
 * Distinct schemas compiled by one ajv. An ajv keeps every schema it compiled (its caches and code scope), so
 * past this many the instance is dropped with its validators and a fresh one starts: a server checking every
 * pushed suite never keeps every schema it has seen.
 */
const COMPILED_MAX = 100;
const compiled = new Map<string, ValidateFunction>();
/** Compiles a JSON schema once per distinct schema (ajv generates code; compiling is the slow part). */
const schemaValidator = (schema: unknown): ValidateFunction => {
  const key = canonicalJson(schema);
  let validate = compiled.get(key);
  if (validate === undefined) {
    if (compiled.size >= COMPILED_MAX) {
      compiled.clear();
      ajv = undefined;
    }
    ajv ??= new Ajv({ allErrors: true, strict: false });
    validate = ajv.compile(schema as object);
    compiled.set(key, validate);
  }
  return validate;
};
const checkSchema = (assertion: EvalAssertion, required: boolean): FieldIssue[] => {
  if (assertion.value === undefined && !required) return [];
  if (assertion.value === null || typeof assertion.value !== 'object' || Array.isArray(assertion.value)) {
    return issue(
      'value',
      `${assertion.type} needs value: a JSON schema object (e.g. { type: object, required: [answer] })`,
    );
  }
  try {
    schemaValidator(assertion.value);
    return [];
  } catch (error) {
    return issue('value', `not a valid JSON schema: ${error instanceof Error ? error.message : String(error)}`);
  }
};
const runSchema = (assertion: EvalAssertion, output: string): Outcome => {
  const parsed = parseJson(output);
  if (!parsed.ok) return binary(false, `expected JSON output; it does not parse (${parsed.error}): ${got(output)}`);
  if (assertion.value === undefined) return binary(true, 'expected JSON output; it parses');
  const validate = schemaValidator(assertion.value);
  if (validate(parsed.value)) return binary(true, 'expected JSON matching the schema; it matches');
  const problems = (validate.errors ?? []).map((e) => `${e.instancePath || '(root)'} ${e.message ?? 'is invalid'}`);
  return binary(false, `expected JSON matching the schema; ${problems.join('; ')} in ${clip(output)}`);
};

const deepEqual = (a: unknown, b: unknown): boolean => {
  try {
    return canonicalJson(a) === canonicalJson(b);
  } catch {
    return false;
  }
};

export const LENGTH_UNITS = ['chars', 'words'] as const;
type LengthSpec = { min?: number; max?: number; unit: (typeof LENGTH_UNITS)[number] };
const lengthSpec = (value: unknown): LengthSpec | string => {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return 'length needs value: { min?, max?, unit?: chars | words } with min or max';
  }
  const record = value as Record<string, unknown>;
  const unknown = Object.keys(record).filter((key) => !['min', 'max', 'unit'].includes(key));
  if (unknown.length > 0)
    return `unknown field ${unknown.map((k) => `"${k}"`).join(', ')}; length takes min, max and unit`;
  const unit = record.unit ?? 'chars';
  if (unit !== 'chars' && unit !== 'words') return 'unit must be "chars" or "words"';
  const bound = (key: 'min' | 'max'): number | undefined | string => {
    const v = record[key];
    if (v === undefined) return undefined;
    return typeof v === 'number' && Number.isInteger(v) && v >= 0 ? v : `${key} must be a whole number >= 0`;
  };
  const min = bound('min');
  const max = bound('max');
  if (typeof min === 'string') return min;
  if (typeof max === 'string') return max;
  if (min === undefined && max === undefined) return 'length needs min, max or both';
  if (min !== undefined && max !== undefined && min > max) return `min (${min}) is greater than max (${max})`;
  return { unit, ...(min === undefined ? {} : { min }), ...(max === undefined ? {} : { max }) };
};
const countWords = (text: string): number => text.split(/\s+/).filter(Boolean).length;

const needsPositiveThreshold =
  (what: string) =>
  (assertion: EvalAssertion): FieldIssue[] =>
    typeof assertion.threshold === 'number' && assertion.threshold >= 0
      ? []
      : issue('threshold', `${assertion.type} needs threshold: the maximum ${what} (a number >= 0)`);

const stringify = (value: unknown): string => (typeof value === 'string' ? value : JSON.stringify(value));

export const DEFAULT_SIMILAR_THRESHOLD = 0.75;

const HANDLERS: Readonly<Record<string, AssertionHandler>> = {
  equals: {
    negatable: true,
    check: (a) => (a.value === undefined ? issue('value', 'equals needs value: the exact expected output') : []),
    run: (a, { output }) => {
      if (a.value !== null && typeof a.value === 'object') {
        // promptfoo: an object or list compares as JSON.
        const parsed = parseJson(output);
        const pass = parsed.ok && deepEqual(parsed.value, a.value);
        return binary(pass, `expected JSON equal to ${clip(JSON.stringify(a.value))}; ${got(output)}`);
      }
      return binary(output === String(a.value), `expected exactly ${clip(String(a.value))}; ${got(output)}`);
    },
  },
  contains: containment({ ignoreCase: false, mode: 'one' }),
  icontains: containment({ ignoreCase: true, mode: 'one' }),
  'contains-any': containment({ ignoreCase: false, mode: 'any' }),
  'contains-all': containment({ ignoreCase: false, mode: 'all' }),
  'icontains-any': containment({ ignoreCase: true, mode: 'any' }),
  'icontains-all': containment({ ignoreCase: true, mode: 'all' }),
  'starts-with': {
    negatable: true,
    check: needsText('the expected beginning'),
    run: (a, { output }) =>
      binary(
        output.startsWith(String(a.value)),
        `expected the output to start with ${clip(String(a.value))}; ${got(output)}`,
      ),
  },
  'ends-with': {
    negatable: true,
    check: needsText('the expected ending'),
    // Trailing whitespace (a final newline) does not count.
    run: (a, { output }) =>
      binary(
        output.trimEnd().endsWith(String(a.value).trimEnd()),
        `expected the output to end with ${clip(String(a.value))}; got ${tail(output)}`,
      ),
  },
  regex: {
    negatable: true,
    check: (a) => {
      if (typeof a.value !== 'string' || a.value === '') return issue('value', 'regex needs value: a pattern string');
      const flags = a.options?.flags;
      if (flags !== undefined && (typeof flags !== 'string' || !/^[gimsuyd]*$/.test(flags))) {
        return issue('options.flags', 'flags is a string of regular expression flags, e.g. "i"');
      }
      try {
        regexOf(a);
        return [];
      } catch (error) {
        return issue(
          'value',
          `not a valid regular expression: ${error instanceof Error ? error.message : String(error)}`,
        );
      }
    },
    run: (a, { output }) =>
      binary(
        regexOf(a).test(output),
        `expected a match for /${String(a.value)}/; ${gotAround(output, regexOf(a).exec(output)?.[0] ?? '', false)}`,
      ),
  },
  'is-json': {
    negatable: true,
    check: (a) => checkSchema(a, false),
    run: (a, { output }) => runSchema(a, output),
  },
  'json-schema': {
    negatable: true,
    check: (a) => checkSchema(a, true),
    run: (a, { output }) => runSchema(a, output),
  },
  length: {
    negatable: true,
    check: (a) => {
      const spec = lengthSpec(a.value);
      return typeof spec === 'string' ? issue('value', spec) : [];
    },
    run: (a, { output }) => {
      const spec = lengthSpec(a.value) as LengthSpec;
      const size = spec.unit === 'words' ? countWords(output) : [...output].length;
      const pass = (spec.min === undefined || size >= spec.min) && (spec.max === undefined || size <= spec.max);
      const range =
        spec.min !== undefined && spec.max !== undefined
          ? `${spec.min} to ${spec.max}`
          : spec.min !== undefined
            ? `at least ${spec.min}`
            : `at most ${spec.max ?? 0}`;
      return binary(pass, `expected ${range} ${spec.unit}; got ${size} ${spec.unit}`);
    },
  },
  'mentions-var': {
    negatable: true,
    check: (a) =>
      typeof a.value === 'string' && /^[A-Za-z_][A-Za-z0-9_]*$/.test(a.value)
        ? []
        : issue('value', 'mentions-var needs value: the name of an input variable, e.g. user_name'),
    // Case-insensitive: "alice" mentions Alice.
    run: (a, { output, vars }) => {
      const name = String(a.value);
      const value = vars[name];
      if (value === undefined || value === null || stringify(value) === '') {
        return binary(false, `expected the output to mention {{${name}}}, but the case gives no value for ${name}`);
      }
      const text = stringify(value);
      return binary(
        output.toLowerCase().includes(text.toLowerCase()),
        `expected the output to mention {{${name}}} = ${clip(text)}; ${gotAround(output, text, true)}`,
      );
    },
  },
  similar: {
    negatable: true,
    check: (a) => {
      if (!isScalar(a.value) || String(a.value) === '')
        return issue('value', 'similar needs value: the reference text');
      if (a.threshold !== undefined && (a.threshold < 0 || a.threshold > 1)) {
        return issue('threshold', 'similar threshold is the minimum similarity, from 0 to 1');
      }
      return [];
    },
    run: (a, { output }) => {
      const threshold = a.threshold ?? DEFAULT_SIMILAR_THRESHOLD;
      const score = lexicalSimilarity(output, String(a.value));
      return {
        pass: score >= threshold,
        score,
        reason: `expected similarity >= ${threshold} to ${clip(String(a.value))}; got ${score.toFixed(3)} for ${clip(output)}`,
      };
    },
  },
  latency: {
    negatable: false,
    check: needsPositiveThreshold('latency in milliseconds'),
    run: (a, { latencyMs }) =>
      latencyMs === null
        ? binary(false, `expected latency <= ${a.threshold ?? 0} ms; no latency was measured`)
        : binary(
            latencyMs <= (a.threshold ?? 0),
            `expected latency <= ${a.threshold ?? 0} ms; got ${Math.round(latencyMs)} ms`,
          ),
  },
  cost: {
    negatable: false,
    check: needsPositiveThreshold('cost in USD'),
    run: (a, { cost }) =>
      cost === null
        ? binary(false, `expected cost <= $${a.threshold ?? 0}; the cost is unknown (no price for this model)`)
        : binary(cost <= (a.threshold ?? 0), `expected cost <= $${a.threshold ?? 0}; got $${cost.toFixed(6)}`),
  },
  'llm-rubric': {
    negatable: false,
    check: (a) => {
      if (typeof a.value !== 'string' || a.value.trim() === '') {
        return issue('value', 'llm-rubric needs value: the rubric the judge grades against');
      }
      if (a.threshold !== undefined && (a.threshold < 0 || a.threshold > 1)) {
        return issue('threshold', 'llm-rubric threshold is the minimum judge score, from 0 to 1');
      }
      return [];
    },
    // promptfoo: with a threshold the judge's score decides, otherwise its pass.
    run: (a, { verdict }) => {
      if (verdict === undefined) return binary(false, 'expected a judge verdict; the judge was not called');
      const pass = a.threshold === undefined ? verdict.pass : verdict.score >= a.threshold;
      const wanted = a.threshold === undefined ? 'the judge to pass it' : `a judge score >= ${a.threshold}`;
      return {
        pass,
        score: verdict.score,
        reason: `expected ${wanted}; the judge scored ${verdict.score}: ${verdict.reason}`,
      };
    },
  },
};

/** Every assertion type a suite may use, `not-` variants included. */
export const ASSERTION_TYPES: readonly string[] = Object.entries(HANDLERS).flatMap(([type, handler]) =>
  handler.negatable ? [type, `not-${type}`] : [type],
);

/** Types that need a model call before they can be scored. */
export const isJudgedAssertion = (type: string): boolean => type === 'llm-rubric';

const resolveHandler = (type: string): { handler: AssertionHandler; negated: boolean } | undefined => {
  const direct = Object.prototype.hasOwnProperty.call(HANDLERS, type) ? HANDLERS[type] : undefined;
  if (direct !== undefined) return { handler: direct, negated: false };
  if (!type.startsWith('not-')) return undefined;
  const base = type.slice(4);
  const inner = Object.prototype.hasOwnProperty.call(HANDLERS, base) ? HANDLERS[base] : undefined;
  return inner?.negatable === true ? { handler: inner, negated: true } : undefined;
};

/** Configuration problems of one assertion (paths relative to it: `type`, `value`, `threshold`, `weight`). */
export const checkAssertion = (assertion: EvalAssertion): FieldIssue[] => {
  const resolved = resolveHandler(assertion.type);
  if (resolved === undefined) {
    return issue('type', `unknown assertion type "${assertion.type}"; known types: ${ASSERTION_TYPES.join(', ')}`);
  }
  const problems: FieldIssue[] = [];
  if (assertion.weight !== undefined && !(Number.isFinite(assertion.weight) && assertion.weight >= 0)) {
    problems.push({ path: 'weight', message: 'weight must be a number >= 0' });
  }
  if (assertion.threshold !== undefined && !Number.isFinite(assertion.threshold)) {
    problems.push({ path: 'threshold', message: 'threshold must be a number' });
  }
  const base =
    assertion.type.startsWith('not-') && resolved.negated ? { ...assertion, type: assertion.type.slice(4) } : assertion;
  return [...problems, ...resolved.handler.check(base)];
};

const interpolateText = (text: string, vars: Readonly<Record<string, unknown>>): string => {
  if (!text.includes('{{')) return text;
  try {
    return renderTemplate(text, vars);
  } catch {
    return text; // not a template after all: compare it as written
  }
};

/** As in promptfoo, string values may name the case's variables: `contains: "{{user_name}}"`. */
const interpolate = (value: unknown, vars: Readonly<Record<string, unknown>>): unknown =>
  typeof value === 'string'
    ? interpolateText(value, vars)
    : Array.isArray(value)
      ? value.map((item: unknown) => (typeof item === 'string' ? interpolateText(item, vars) : item))
      : value;

/**
 * Runs one (valid) assertion. String values are first rendered with the case's variables. A `not-` variant passes when the base fails; its score is 1 - the base's.
 * An assertion that throws (it should not, once checked) fails with the error as its reason.
 */
export const runAssertion = (assertion: EvalAssertion, context: AssertionContext): AssertionResult => {
  const weight = assertion.weight ?? 1;
  const resolved = resolveHandler(assertion.type);
  if (resolved === undefined) {
    return {
      type: assertion.type,
      pass: false,
      score: 0,
      weight,
      reason: `unknown assertion type "${assertion.type}"`,
    };
  }
  const value = interpolate(assertion.value, context.vars);
  const base = {
    ...assertion,
    ...(value === undefined ? {} : { value }),
    ...(resolved.negated ? { type: assertion.type.slice(4) } : {}),
  };
  let outcome: Outcome;
  try {
    outcome = resolved.handler.run(base, context);
  } catch (error) {
    outcome = binary(false, `the assertion failed to run: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (resolved.negated) {
    outcome = { pass: !outcome.pass, score: 1 - outcome.score, reason: `expected the opposite of: ${outcome.reason}` };
  }
  return { type: assertion.type, pass: outcome.pass, score: outcome.score, weight, reason: outcome.reason };
};

/**
 * A case's verdict from its assertion results. The score is the weighted mean of the scores (weight 0
 * counts for nothing; no weight at all scores 1). As in promptfoo: with a threshold below 1 the case passes
 * when the score reaches it; at threshold 1 (the default, "no threshold") every assertion of weight > 0 must pass.
 */
export const scoreCase = (
  results: readonly AssertionResult[],
  threshold: number,
): { readonly pass: boolean; readonly score: number } => {
  const counted = results.filter((r) => r.weight > 0);
  const total = counted.reduce((sum, r) => sum + r.weight, 0);
  const score = total === 0 ? 1 : counted.reduce((sum, r) => sum + r.weight * r.score, 0) / total;
  const pass = threshold >= 1 ? counted.every((r) => r.pass) : score >= threshold;
  return { pass, score };
};
