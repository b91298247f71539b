import { PromptopsError, formatIssues, type FieldIssue } from '../errors.js';
import { checkAssertion } from '../evals/assertions.js';
import { P_VALUE_ADJUSTMENTS, type PValueAdjustment } from '../stats/adjust.js';
import type { DriftOutput } from './descriptors.js';
import type { DriftEmbeddingsInput, DriftEmbeddingsSkipped } from './embeddings.js';

/** Where the outputs come from: an eval dataset on both versions, a shadow rollout, or live traces. */
export const DRIFT_SOURCES = ['offline', 'shadow', 'live'] as const;
export type DriftSource = (typeof DRIFT_SOURCES)[number];

/** Both versions' outputs for the same input (an eval case, a shadowed request). */
export interface DriftPair {
  readonly id?: string;
  readonly vars?: Readonly<Record<string, unknown>>;
  readonly a: DriftOutput;
  readonly b: DriftOutput;
}

/** One output of an unpaired sample (a trace), with the variables it was rendered with. */
export interface DriftSample extends DriftOutput {
  readonly vars?: Readonly<Record<string, unknown>>;
}

export interface DriftOptions {
  /** The false-drift budget of the whole report (per report, across descriptors). */
  readonly alpha: number;
  readonly correction: PValueAdjustment;
  readonly jsonSchema?: unknown;
  /** Below these counts (pairs, or outputs in the smaller sample) a descriptor is "not enough data". */
  readonly minSamples: { readonly binary: number; readonly numeric: number; readonly categorical: number };
  /** Unpaired numeric descriptors: Mann-Whitney (location) or Kolmogorov-Smirnov (any difference). */
  readonly unpairedNumericTest: 'mann-whitney' | 'ks';
  /** How many example pairs the report keeps. */
  readonly examples: number;
}

export const DEFAULT_DRIFT_OPTIONS: DriftOptions = {
  alpha: 0.05,
  correction: 'holm',
  minSamples: { binary: 10, numeric: 10, categorical: 20 },
  unpairedNumericTest: 'mann-whitney',
  examples: 3,
};

export interface DriftReportInput {
  /** How the report names the versions, e.g. `v17` and `v18` (B is the candidate). */
  readonly versions: { readonly a: string; readonly b: string };
  readonly source: DriftSource;
  /** Paired outputs (offline, shadow); or else `samples`. */
  readonly pairs?: readonly DriftPair[];
  /** Unpaired outputs (live windows). */
  readonly samples?: { readonly a: readonly DriftSample[]; readonly b: readonly DriftSample[] };
  readonly options?: Partial<DriftOptions>;
  /** Each output's embedding, in the order of `pairs` or `samples`, or why there are none. Optional. */
  readonly embeddings?: DriftEmbeddingsInput | DriftEmbeddingsSkipped;
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const checkOutput = (value: unknown, path: string, issues: FieldIssue[]): void => {
  if (!isObject(value)) {
    issues.push({ path, message: 'must be an output object such as { "output": "Hello, Ann!" }' });
    return;
  }
  if (typeof value.output !== 'string') issues.push({ path: `${path}.output`, message: 'must be the output text' });
  for (const key of ['tokens', 'latencyMs'] as const) {
    const n = value[key];
    if (n !== undefined && n !== null && !(typeof n === 'number' && Number.isFinite(n) && n >= 0))
      issues.push({ path: `${path}.${key}`, message: 'must be a number, 0 or more, or null when unknown' });
  }
  if (value.assertions !== undefined) {
    if (!isObject(value.assertions) || !Object.values(value.assertions).every((v) => typeof v === 'boolean'))
      issues.push({ path: `${path}.assertions`, message: 'must map assertion names to true or false' });
  }
  if (value.vars !== undefined && !isObject(value.vars))
    issues.push({ path: `${path}.vars`, message: 'must be an object of template variables' });
};

const checkOptions = (options: unknown, issues: FieldIssue[]): DriftOptions => {
  if (options !== undefined && !isObject(options)) {
    issues.push({ path: 'options', message: 'must be an object such as { "alpha": 0.05 }' });
    return DEFAULT_DRIFT_OPTIONS;
  }
  const given = Object.fromEntries(Object.entries(options ?? {}).filter(([, v]) => v !== undefined));
  const merged = { ...DEFAULT_DRIFT_OPTIONS, ...given } as Record<keyof DriftOptions, unknown>;
  if (typeof merged.alpha !== 'number' || !(merged.alpha > 0 && merged.alpha <= 0.2))
    issues.push({ path: 'options.alpha', message: 'must be above 0 and at most 0.2 (0.05 is usual)' });
  if (!P_VALUE_ADJUSTMENTS.includes(merged.correction as PValueAdjustment))
    issues.push({ path: 'options.correction', message: `must be one of ${P_VALUE_ADJUSTMENTS.join(', ')}` });
  if (merged.unpairedNumericTest !== 'mann-whitney' && merged.unpairedNumericTest !== 'ks')
    issues.push({ path: 'options.unpairedNumericTest', message: 'must be mann-whitney or ks' });
  if (!(Number.isInteger(merged.examples) && (merged.examples as number) >= 0))
    issues.push({ path: 'options.examples', message: 'must be a whole number, 0 or more' });
  const minimum = { ...DEFAULT_DRIFT_OPTIONS.minSamples, ...(isObject(merged.minSamples) ? merged.minSamples : {}) };
  if (!isObject(merged.minSamples)) issues.push({ path: 'options.minSamples', message: 'must be an object' });
  for (const [kind, n] of Object.entries(minimum)) {
    if (!(Number.isInteger(n) && (n as number) >= 2))
      issues.push({ path: `options.minSamples.${kind}`, message: 'must be a whole number, 2 or more' });
  }
  if (merged.jsonSchema !== undefined) {
    for (const issue of checkAssertion({ type: 'json-schema', value: merged.jsonSchema }))
      issues.push({ path: 'options.jsonSchema', message: issue.message });
  }
  return { ...(merged as unknown as DriftOptions), minSamples: minimum as DriftOptions['minSamples'] };
};

const checkEmbeddings = (given: Record<string, unknown>, issues: FieldIssue[]): void => {
  const e = given.embeddings;
  if (e === undefined) return;
  if (!isObject(e) || typeof e.model !== 'string') {
    issues.push({ path: 'embeddings', message: 'must be { model, a, b } (vectors) or { model, skipped } (why none)' });
    return;
  }
  if (e.skipped !== undefined) {
    if (typeof e.skipped !== 'string') issues.push({ path: 'embeddings.skipped', message: 'must say why, as text' });
    return;
  }
  const counts = Array.isArray(given.pairs)
    ? { a: given.pairs.length, b: given.pairs.length }
    : isObject(given.samples) && Array.isArray(given.samples.a) && Array.isArray(given.samples.b)
      ? { a: given.samples.a.length, b: given.samples.b.length }
      : undefined;
  let dim: number | undefined;
  for (const side of ['a', 'b'] as const) {
    const vectors = e[side];
    if (!Array.isArray(vectors) || (counts !== undefined && vectors.length !== counts[side])) {
      issues.push({ path: `embeddings.${side}`, message: 'must hold one vector per output, in the outputs’ order' });
      continue;
    }
    const bad = vectors.findIndex(
      (v: unknown) =>
        !Array.isArray(v) ||
        v.length === 0 ||
        v.length !== (dim ??= v.length) ||
        !v.every((x) => typeof x === 'number' && Number.isFinite(x)),
    );
    if (bad >= 0)
      issues.push({
        path: `embeddings.${side}[${bad}]`,
        message: 'must be a list of finite numbers, as long as every other vector',
      });
  }
};

/** The input checked, options filled in; every bad field is named in one invalid_drift_input error. */
export const checkDriftInput = (input: unknown): DriftReportInput & { readonly options: DriftOptions } => {
  const issues: FieldIssue[] = [];
  const given = isObject(input) ? input : {};
  if (!isObject(input))
    issues.push({ path: '', message: 'must be an object with versions, source and pairs or samples' });
  const versions = given.versions;
  if (
    !isObject(versions) ||
    typeof versions.a !== 'string' ||
    typeof versions.b !== 'string' ||
    !versions.a ||
    !versions.b
  )
    issues.push({ path: 'versions', message: 'must name both versions, e.g. { "a": "v17", "b": "v18" }' });
  if (!DRIFT_SOURCES.includes(given.source as DriftSource))
    issues.push({ path: 'source', message: `must be one of ${DRIFT_SOURCES.join(', ')}` });
  const { pairs, samples } = given;
  if ((pairs === undefined) === (samples === undefined)) {
    issues.push({
      path: '',
      message: 'give either pairs (paired outputs) or samples (unpaired outputs), not both or neither',
    });
  } else if (pairs !== undefined) {
    if (!Array.isArray(pairs)) issues.push({ path: 'pairs', message: 'must be a list of { a, b } output pairs' });
    else
      pairs.forEach((pair: unknown, i) => {
        if (!isObject(pair)) return issues.push({ path: `pairs[${i}]`, message: 'must be { a, b }' });
        checkOutput(pair.a, `pairs[${i}].a`, issues);
        checkOutput(pair.b, `pairs[${i}].b`, issues);
        if (pair.vars !== undefined && !isObject(pair.vars))
          issues.push({ path: `pairs[${i}].vars`, message: 'must be an object of template variables' });
      });
  } else if (!isObject(samples) || !Array.isArray(samples.a) || !Array.isArray(samples.b)) {
    issues.push({ path: 'samples', message: 'must be { a: [outputs], b: [outputs] }' });
  } else {
    for (const side of ['a', 'b'] as const)
      (samples[side] as unknown[]).forEach((item, i) => checkOutput(item, `samples.${side}[${i}]`, issues));
  }
  const options = checkOptions(given.options, issues);
  checkEmbeddings(given, issues);
  if (issues.length > 0) {
    throw new PromptopsError(
      'invalid',
      'invalid_drift_input',
      `the drift report's input is not valid:\n${formatIssues(issues)}`,
      {
        issues,
        fix: 'correct the fields named above; leave an option out to take its default',
      },
    );
  }
  return { ...(given as unknown as DriftReportInput), options };
};
