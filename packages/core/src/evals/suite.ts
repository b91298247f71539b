import { parseDocument } from 'yaml';
import * as z from 'zod';
import { contentSha } from '../canonical.js';
import { PromptopsError, formatIssues, type FieldIssue } from '../errors.js';
import type { EvalAssertion, EvalCase, EvalProviderConfig, EvalSuiteContent } from '../eval-records.js';
import { TENANT_PATTERN } from '../overrides.js';
import { PROMPT_NAME_PATTERN, promptNameSchema, protoKeyIssues, zodIssues } from '../schema.js';
import { ASSERTION_TYPES, checkAssertion } from './assertions.js';
import { DatasetError, parseDataset } from './dataset.js';

/**
 * The eval suite file format (`evals/**\/*.eval.yaml`, or inline under `evals:` in a prompt file) and
 * its normalized content. Like a prompt file, the file is a friendlier spelling: provider shorthands are
 * expanded, `defaultTest` is folded into every case, datasets are expanded into cases, and defaults are
 * filled in, so any layout of the same suite has the same sha.
 */

export const EVAL_SUITE_SUFFIXES = ['.eval.yaml', '.eval.yml'] as const;
export const PROVIDER_IDS = ['simulated', 'openai', 'anthropic'] as const;
export const SIMULATED_MODEL = 'simulated-1';
export const MAX_CASE_ID_LENGTH = 200;

// ---------- normalized content (what the sha is computed over; what the registry accepts) ----------

const jsonRecord = z.record(z.string(), z.json());

const assertionSchema = z.strictObject({
  type: z.string({ error: 'type must be a string (e.g. contains, regex, mentions-var)' }).min(1),
  value: z.json().optional(),
  threshold: z.number({ error: 'threshold must be a number' }).optional(),
  weight: z.number({ error: 'weight must be a number >= 0' }).min(0, 'weight must be >= 0').optional(),
  options: jsonRecord.optional(),
});

const share = (what: string) =>
  z
    .number({ error: `${what} must be a number from 0 to 1` })
    .min(0, `${what} is at least 0`)
    .max(1, `${what} is at most 1`);

const caseSchema = z.strictObject({
  id: z.string({ error: 'id must be a string' }).min(1, 'id must not be empty').max(MAX_CASE_ID_LENGTH),
  description: z.string().optional(),
  vars: jsonRecord,
  assert: z.array(assertionSchema),
  threshold: share('threshold').optional(),
  tenant: z
    .string({ error: 'tenant must be a tenant id (e.g. acme)' })
    .regex(
      TENANT_PATTERN,
      'tenant is not a tenant id: letters, digits, "_", "." and "-" (at most 128), starting with a letter or digit, e.g. acme',
    )
    .optional(),
});

const providerSchema = z.strictObject({
  id: z.enum(PROVIDER_IDS, { error: `provider id must be one of ${PROVIDER_IDS.join(', ')}` }),
  model: z.string({ error: 'model must be a string' }).min(1, 'model must not be empty'),
  params: jsonRecord,
});

export const evalSuiteContentSchema = z.strictObject({
  name: promptNameSchema,
  prompt: promptNameSchema,
  provider: providerSchema,
  threshold: share('threshold'),
  passRate: share('passRate'),
  cases: z.array(caseSchema).min(1, 'a suite needs at least one case'),
});

const caseLabel = (c: { id?: unknown }, index: number): string =>
  typeof c.id === 'string' ? `case "${c.id}"` : `case ${index + 1}`;

/** Semantic checks beyond the shape: unique ids, assertion configs, variables that assertions name. */
const SECRET_PARAM = /^(api[_-]?key|x[_-]api[_-]key|authorization|bearer|token|secret|password)$/i;

const contentIssues = (content: EvalSuiteContent): FieldIssue[] => {
  const issues: FieldIssue[] = [];
  for (const key of Object.keys(content.provider.params)) {
    if (SECRET_PARAM.test(key)) {
      issues.push({
        path: `provider.params.${key}`,
        message: `a key does not belong in a suite; put it in an environment variable and name that with apiKeyEnv`,
      });
    }
  }
  const seen = new Map<string, number>();
  content.cases.forEach((c, index) => {
    const first = seen.get(c.id);
    if (first !== undefined) {
      issues.push({
        path: `cases[${index}].id`,
        message: `case id "${c.id}" is also used by cases[${first}]; ids must be unique`,
      });
    } else seen.set(c.id, index);
    c.assert.forEach((assertion, at) => {
      for (const problem of checkAssertion(assertion)) {
        issues.push({
          path: `cases[${index}].assert[${at}].${problem.path}`,
          message: `${caseLabel(c, index)}: ${problem.message}`,
        });
      }
      if (
        (assertion.type === 'mentions-var' || assertion.type === 'not-mentions-var') &&
        typeof assertion.value === 'string' &&
        !Object.prototype.hasOwnProperty.call(c.vars, assertion.value)
      ) {
        issues.push({
          path: `cases[${index}].assert[${at}].value`,
          message: `${caseLabel(c, index)}: mentions-var names {{${assertion.value}}}, but the case has no variable "${assertion.value}" (it has: ${Object.keys(c.vars).join(', ') || 'none'})`,
        });
      }
    });
  });
  return issues;
};

const invalidSuite = (where: string, issues: readonly FieldIssue[], fix: string): PromptopsError =>
  new PromptopsError('invalid', 'invalid_eval_suite', `${where}: invalid eval suite:\n${formatIssues(issues)}`, {
    issues,
    fix,
    details: { file: where },
  });

/** Validates already-normalized suite content (e.g. a suite pushed to the registry). */
export const parseEvalSuiteContent = (input: unknown, what = 'eval suite content'): EvalSuiteContent => {
  const proto = protoKeyIssues(input);
  if (proto.length > 0) throw invalidSuite(what, proto, 'rename the "__proto__" key');
  const parsed = evalSuiteContentSchema.safeParse(input);
  if (!parsed.success) throw invalidSuite(what, zodIssues(parsed.error), 'correct the fields listed in issues');
  const content = parsed.data as EvalSuiteContent;
  const issues = contentIssues(content);
  if (issues.length > 0) throw invalidSuite(what, issues, 'correct the cases listed in issues');
  return content;
};

/** A suite's identity: sha256 of the canonical JSON of its normalized content. */
export const suiteSha = (content: EvalSuiteContent): string => contentSha(content);

/** A case's identity: sha256 of the canonical JSON of what decides its result (vars, assertions, threshold). */
export const caseHash = (c: EvalCase): string =>
  contentSha({
    vars: c.vars,
    assert: c.assert,
    ...(c.threshold === undefined ? {} : { threshold: c.threshold }),
    ...(c.tenant === undefined ? {} : { tenant: c.tenant }),
  });

// ---------- the file format ----------

const fileAssertionSchema = z.strictObject(
  {
    type: z.string({ error: 'type must be a string (e.g. contains, regex, mentions-var)' }),
    value: z.json().optional(),
    threshold: z.number({ error: 'threshold must be a number' }).optional(),
    weight: z.number({ error: 'weight must be a number >= 0' }).optional(),
    options: jsonRecord.optional(),
  },
  {
    error: (issue) =>
      issue.code === 'unrecognized_keys'
        ? `unknown field ${issue.keys.map((k) => `"${k}"`).join(', ')}; an assertion has type, value, threshold, weight and options`
        : issue.code === 'invalid_type'
          ? 'an assertion is a mapping like { type: contains, value: "Hello" }'
          : undefined,
  },
);

const fileCaseSchema = z.strictObject(
  {
    id: z.union([z.string(), z.number()], { error: 'id must be a string' }).optional(),
    description: z.string({ error: 'description must be a string' }).optional(),
    vars: jsonRecord.optional(),
    assert: z.array(fileAssertionSchema, { error: 'assert must be a list of assertions' }).optional(),
    threshold: share('threshold').optional(),
    tenant: z.string({ error: 'tenant must be a tenant id (e.g. acme)' }).optional(),
  },
  {
    error: (issue) =>
      issue.code === 'unrecognized_keys'
        ? `unknown field ${issue.keys.map((k) => `"${k}"`).join(', ')}; a case has id, description, vars, assert, threshold and tenant`
        : issue.code === 'invalid_type'
          ? 'a case is a mapping like { id: alice, vars: {...}, assert: [...] }'
          : undefined,
  },
);

const fileProviderSchema = z.union(
  [
    z.string(),
    z
      .object({
        id: z.string({ error: 'provider.id must be a string (simulated, openai, anthropic)' }),
        model: z.string({ error: 'provider.model must be a string' }).optional(),
      })
      .catchall(z.json()),
  ],
  { error: 'provider is a string like "openai:gpt-4o-mini" or a mapping { id, model, ...params }' },
);

const SUITE_FIELDS = [
  'name',
  'prompt',
  'description',
  'provider',
  'threshold',
  'passRate',
  'defaultTest',
  'cases',
  'dataset',
] as const;

const suiteFileSchema = z.strictObject(
  {
    name: z.string({ error: 'name must be a string' }).optional(),
    prompt: z.string({ error: 'prompt must be the name of the prompt under test' }).optional(),
    description: z.string({ error: 'description must be a string' }).optional(),
    provider: fileProviderSchema.optional(),
    threshold: share('threshold').optional(),
    passRate: share('passRate').optional(),
    defaultTest: z
      .strictObject({
        vars: jsonRecord.optional(),
        assert: z.array(fileAssertionSchema, { error: 'defaultTest.assert must be a list of assertions' }).optional(),
        threshold: share('threshold').optional(),
      })
      .optional(),
    cases: z.array(fileCaseSchema, { error: 'cases must be a list of cases' }).optional(),
    dataset: z
      .union([z.string(), z.array(z.string())], {
        error: 'dataset is a path (or a list of paths) to .jsonl or .csv files',
      })
      .optional(),
  },
  {
    error: (issue) =>
      issue.code === 'unrecognized_keys'
        ? `unknown field ${issue.keys.map((k) => `"${k}"`).join(', ')}; allowed fields: ${SUITE_FIELDS.join(', ')}`
        : issue.code === 'invalid_type'
          ? 'an eval suite is a YAML mapping with fields like prompt, provider and cases'
          : undefined,
  },
);
type SuiteFile = z.infer<typeof suiteFileSchema>;

/**
 * `openai:gpt-4o-mini`, `openai:chat:gpt-4o-mini` (promptfoo's spelling), `anthropic:messages:claude-…`,
 * `simulated`, or a mapping `{ id, model, ...params }`.
 */
export const parseProviderSpec = (
  spec: string | { id: string; model?: string | undefined; [key: string]: unknown },
): EvalProviderConfig => {
  if (typeof spec === 'string') {
    const parts = spec.split(':');
    const id = parts[0] ?? '';
    const rest = parts.slice(1);
    if ((id === 'openai' && rest[0] === 'chat') || (id === 'anthropic' && rest[0] === 'messages')) rest.shift();
    const model = rest.join(':');
    return { id, model: model === '' && id === 'simulated' ? SIMULATED_MODEL : model, params: {} };
  }
  const { id, model, ...params } = spec;
  return { id, model: model ?? (id === 'simulated' ? SIMULATED_MODEL : ''), params: params as Record<string, never> };
};

const normalizeAssertion = (a: z.infer<typeof fileAssertionSchema>): EvalAssertion => ({
  type: a.type,
  ...(a.value === undefined ? {} : { value: a.value }),
  ...(a.threshold === undefined ? {} : { threshold: a.threshold }),
  weight: a.weight ?? 1,
  ...(a.options === undefined ? {} : { options: a.options }),
});

export interface ParseSuiteOptions {
  /** The suite file as shown in messages. */
  readonly file: string;
  /** Used when the file has no `name:` (the caller derives it from the path). */
  readonly defaultName?: string;
  /** Used when the file has no `prompt:` (an inline suite tests the prompt it is in). */
  readonly defaultPrompt?: string;
  /** Reads a dataset named in the file (path as written, relative to the suite file). */
  readonly readDataset?: (path: string) => string;
}

/** `evals/support/greeter.eval.yaml` -> `support/greeter` (relative to the evals folder). */
export const suiteNameFromPath = (relativePath: string): string => {
  let name = relativePath.replaceAll('\\', '/').replace(/^\.\//, '');
  for (const suffix of EVAL_SUITE_SUFFIXES) if (name.endsWith(suffix)) name = name.slice(0, -suffix.length);
  return name;
};

type RawCase = { readonly where: string; readonly label: string; readonly value: z.infer<typeof fileCaseSchema> };

const fileCases = (data: SuiteFile, options: ParseSuiteOptions, issues: FieldIssue[]): RawCase[] => {
  const cases: RawCase[] = (data.cases ?? []).map((value, index) => ({
    where: `cases[${index}]`,
    label: typeof value.id === 'string' || typeof value.id === 'number' ? `case "${value.id}"` : `case ${index + 1}`,
    value,
  }));
  const paths = data.dataset === undefined ? [] : typeof data.dataset === 'string' ? [data.dataset] : data.dataset;
  for (const path of paths) {
    if (options.readDataset === undefined) {
      issues.push({ path: 'dataset', message: `dataset ${path} cannot be read here (no file access was given)` });
      continue;
    }
    let text: string;
    try {
      text = options.readDataset(path);
    } catch (error) {
      issues.push({
        path: 'dataset',
        message: `cannot read dataset ${path}: ${error instanceof Error ? error.message : String(error)}`,
      });
      continue;
    }
    try {
      for (const row of parseDataset(path, text, ASSERTION_TYPES)) {
        const record = row.value as Record<string, unknown>;
        const shaped = Object.prototype.hasOwnProperty.call(record, 'vars') ? record : { vars: record };
        const parsed = fileCaseSchema.safeParse(shaped);
        if (!parsed.success) {
          for (const problem of zodIssues(parsed.error)) {
            issues.push({
              path: `${row.origin}${problem.path === '' ? '' : `.${problem.path}`}`,
              message: problem.message,
            });
          }
          continue;
        }
        cases.push({ where: row.origin, label: `case ${row.origin}`, value: { id: row.origin, ...parsed.data } });
      }
    } catch (error) {
      if (!(error instanceof DatasetError)) throw error;
      issues.push({ path: error.origin, message: error.message });
    }
  }
  return cases;
};

const toSuiteContent = (
  data: SuiteFile,
  name: string,
  prompt: string,
  options: ParseSuiteOptions,
): EvalSuiteContent => {
  const issues: FieldIssue[] = [];
  const raw = fileCases(data, options, issues);
  if (raw.length === 0 && issues.length === 0) {
    issues.push({ path: 'cases', message: 'the suite has no cases; add cases: or dataset:' });
  }
  const defaults = data.defaultTest ?? {};
  const cases: EvalCase[] = [];
  raw.forEach((entry) => {
    const c = entry.value;
    const assert = [...(defaults.assert ?? []), ...(c.assert ?? [])].map(normalizeAssertion);
    const threshold = c.threshold ?? defaults.threshold;
    cases.push({
      id: c.id === undefined ? `case-${cases.length + 1}` : String(c.id),
      ...(c.description === undefined ? {} : { description: c.description }),
      vars: { ...(defaults.vars ?? {}), ...(c.vars ?? {}) },
      assert,
      ...(threshold === undefined ? {} : { threshold }),
      ...(c.tenant === undefined ? {} : { tenant: c.tenant }),
    });
  });
  const provider = parseProviderSpec(data.provider ?? 'simulated');
  const content = {
    name,
    prompt,
    provider,
    threshold: data.threshold ?? 1,
    passRate: data.passRate ?? 1,
    cases,
  };
  if (issues.length > 0) throw invalidSuite(options.file, issues, 'correct the fields listed above');
  try {
    return parseEvalSuiteContent(content, options.file);
  } catch (error) {
    if (!(error instanceof PromptopsError) || error.issues === undefined) throw error;
    // Name cases by where they were written (cases[2], data.jsonl#3), not by their place in the expanded list.
    const mapped = error.issues.map((problem) => {
      const match = /^cases\[(\d+)\](.*)$/.exec(problem.path);
      const entry = match === null ? undefined : raw[Number(match[1])];
      if (match === null || entry === undefined) {
        return { path: problem.path.replace(/^provider\.params\./, 'provider.'), message: problem.message };
      }
      const rest = match[2] ?? '';
      const inAssert = /^\.assert\[(\d+)\](.*)$/.exec(rest);
      const defaultCount = defaults.assert?.length ?? 0;
      const message = problem.message.startsWith('case ') ? problem.message : `${entry.label}: ${problem.message}`;
      if (inAssert !== null && Number(inAssert[1]) < defaultCount) {
        // A defaultTest assertion is reported where it is written.
        return {
          path: `defaultTest.assert[${inAssert[1]}]${inAssert[2] ?? ''}`,
          message: problem.message.replace(/^case [^:]*: /, ''),
        };
      }
      const field = inAssert === null ? rest : `.assert[${Number(inAssert[1]) - defaultCount}]${inAssert[2] ?? ''}`;
      return { path: `${entry.where}${field}`, message };
    });
    const unique = mapped.filter(
      (problem, index) => mapped.findIndex((p) => p.path === problem.path && p.message === problem.message) === index,
    );
    throw invalidSuite(options.file, unique, error.fix ?? 'correct the fields listed above');
  }
};

const parseSuiteData = (raw: unknown, options: ParseSuiteOptions, prefix = ''): EvalSuiteContent => {
  const proto = protoKeyIssues(raw);
  if (proto.length > 0) throw invalidSuite(options.file, proto, 'rename the "__proto__" key');
  const parsed = suiteFileSchema.safeParse(raw);
  if (!parsed.success) {
    const issues = zodIssues(parsed.error).map((i) => ({ ...i, path: `${prefix}${i.path}` }));
    throw invalidSuite(options.file, issues, 'correct the fields listed above');
  }
  const data = parsed.data;
  const name = data.name ?? options.defaultName;
  const prompt = data.prompt ?? options.defaultPrompt;
  const missing: FieldIssue[] = [];
  if (name === undefined) missing.push({ path: `${prefix}name`, message: 'the suite has no name' });
  if (prompt === undefined)
    missing.push({ path: `${prefix}prompt`, message: 'the suite does not say which prompt it tests' });
  if (name === undefined || prompt === undefined) {
    throw invalidSuite(options.file, missing, 'add name: and prompt: (the name of the prompt under test)');
  }
  return toSuiteContent(data, name, prompt, options);
};

const readYaml = (text: string, file: string): unknown => {
  // JSON is YAML too; generated suites (hundreds of cases) are usually JSON, and JSON.parse reads them
  // two orders of magnitude faster than the YAML parser. Text that is not valid JSON goes to the YAML parser.
  if (/^\s*\{/.test(text)) {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      // YAML flow syntax, or a mistake the YAML parser will point at
    }
  }
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw invalidSuite(
      file,
      doc.errors.map((error) => ({ path: '(yaml)', message: error.message.split('\n')[0] ?? error.message })),
      'fix the YAML syntax at the line shown',
    );
  }
  return doc.toJS() as unknown;
};

/** Parses an eval suite file into normalized content. Every error names the file, the case and the field. */
export const parseEvalSuiteFile = (text: string, options: ParseSuiteOptions): EvalSuiteContent =>
  parseSuiteData(readYaml(text, options.file), options);

/** The key under which a prompt file may carry its own suites. */
export const INLINE_EVALS_KEY = 'evals';

/**
 * Suites written inline in a prompt file under `evals:` (one suite, or a list). Each tests that prompt
 * (`prompt:` may be left out); the name defaults to the prompt's name, then `<prompt>-2`, `<prompt>-3`.
 */
export const parseInlineEvalSuites = (
  text: string,
  options: Omit<ParseSuiteOptions, 'defaultName' | 'defaultPrompt'> & { readonly promptName: string },
): EvalSuiteContent[] => {
  const raw = readYaml(text, options.file);
  if (raw === null || typeof raw !== 'object' || !Object.prototype.hasOwnProperty.call(raw, INLINE_EVALS_KEY))
    return [];
  const inline = (raw as Record<string, unknown>)[INLINE_EVALS_KEY];
  const list = Array.isArray(inline) ? inline : [inline];
  return list.map((entry, index) =>
    parseSuiteData(
      entry,
      {
        ...options,
        defaultName: index === 0 ? options.promptName : `${options.promptName}-${index + 1}`,
        defaultPrompt: options.promptName,
      },
      Array.isArray(inline) ? `${INLINE_EVALS_KEY}[${index}].` : `${INLINE_EVALS_KEY}.`,
    ),
  );
};

export const isSuiteName = (name: string): boolean => PROMPT_NAME_PATTERN.test(name);
