import { stringify } from 'yaml';
import { YAML_OUTPUT } from '../yaml-output.js';
import { PromptopsError } from '../errors.js';
import { ASSERTION_TYPES } from './assertions.js';
import { parseProviderSpec } from './suite.js';

/**
 * Import of a promptfoo config (`promptfooconfig.yaml`): prompts, providers, `defaultTest` and `tests`
 * (vars, assert, threshold) become promptops prompt files and suite files. Pure: the caller reads the
 * config and any `file://` prompt and writes the files. What has no promptops counterpart (JavaScript and
 * Python assertions, model-graded types other than `llm-rubric`, transforms) is left out and listed in
 * `warnings`, so nothing is dropped silently.
 */

export interface ImportedFile {
  /** Relative to the output folders: `prompts/<name>.prompt.yaml`, `evals/<name>.eval.yaml`. */
  readonly path: string;
  readonly text: string;
}

export interface PromptfooImport {
  readonly prompts: readonly ImportedFile[];
  readonly suites: readonly ImportedFile[];
  readonly warnings: readonly string[];
}

export interface PromptfooImportOptions {
  /** Reads a `file://` reference (path as written, relative to the config). */
  readonly readFile?: (path: string) => string;
  /** The config file as shown in messages. */
  readonly file?: string;
}

type Json = Record<string, unknown>;
const isRecord = (value: unknown): value is Json =>
  value !== null && typeof value === 'object' && !Array.isArray(value);

const slug = (text: string): string =>
  text
    .toLowerCase()
    .replace(/[^a-z0-9_.-]+/g, '-')
    .replace(/^[^a-z0-9]+|-+$/g, '')
    .slice(0, 60) || 'prompt';

const SUPPORTED = new Set(ASSERTION_TYPES);

interface PromptSource {
  readonly name: string;
  readonly raw: string;
}

const readPrompts = (config: Json, options: PromptfooImportOptions, warnings: string[]): PromptSource[] => {
  const list = config.prompts === undefined ? [] : Array.isArray(config.prompts) ? config.prompts : [config.prompts];
  const out: PromptSource[] = [];
  list.forEach((entry: unknown, index) => {
    let raw: string | undefined;
    let label: string | undefined;
    if (typeof entry === 'string') raw = entry;
    else if (isRecord(entry)) {
      raw = typeof entry.raw === 'string' ? entry.raw : typeof entry.id === 'string' ? entry.id : undefined;
      label = typeof entry.label === 'string' ? entry.label : undefined;
    }
    if (raw === undefined) {
      warnings.push(`prompts[${index}]: not a string or { raw | id, label }; skipped`);
      return;
    }
    if (raw.startsWith('file://')) {
      const path = raw.slice('file://'.length);
      if (options.readFile === undefined) {
        warnings.push(`prompts[${index}]: ${raw} cannot be read here; skipped`);
        return;
      }
      label ??= path.replace(/^.*\//, '').replace(/\.[^.]+$/, '');
      raw = options.readFile(path);
    }
    const base = slug(label ?? `prompt-${index + 1}`);
    let name = base;
    for (let n = 2; out.some((p) => p.name === name); n += 1) name = `${base}-${n}`;
    out.push({ name, raw });
  });
  return out;
};

/** A promptfoo prompt is a template string, or a JSON list of chat messages. */
const promptFileFor = (source: PromptSource, variables: readonly string[], provider: Json | undefined): string => {
  let messages: { role: string; content: string }[] | undefined;
  const trimmed = source.raw.trim();
  if (trimmed.startsWith('[')) {
    try {
      const parsed = JSON.parse(trimmed) as unknown;
      if (
        Array.isArray(parsed) &&
        parsed.every((m) => isRecord(m) && typeof m.role === 'string' && typeof m.content === 'string')
      ) {
        messages = parsed as { role: string; content: string }[];
      }
    } catch {
      // a text template that happens to start with "["
    }
  }
  const file = {
    type: messages === undefined ? 'text' : 'chat',
    ...(provider === undefined ? {} : { model: provider }),
    ...(variables.length === 0 ? {} : { variables: Object.fromEntries(variables.map((v) => [v, { type: 'any' }])) }),
    ...(messages === undefined ? { template: source.raw } : { messages }),
  };
  return stringify(file, { ...YAML_OUTPUT, blockQuote: 'literal' });
};

const mapAssertions = (list: unknown, where: string, warnings: string[]): Json[] => {
  if (list === undefined) return [];
  if (!Array.isArray(list)) {
    warnings.push(`${where}: assert is not a list; skipped`);
    return [];
  }
  const out: Json[] = [];
  list.forEach((entry: unknown, index) => {
    const at = `${where}[${index}]`;
    if (!isRecord(entry) || typeof entry.type !== 'string') {
      warnings.push(`${at}: not an assertion with a type; skipped`);
      return;
    }
    if (!SUPPORTED.has(entry.type)) {
      warnings.push(`${at}: assertion type "${entry.type}" has no promptops counterpart; skipped`);
      return;
    }
    if (entry.type === 'similar' || entry.type === 'not-similar') {
      warnings.push(`${at}: similar is lexical in promptops (promptfoo uses embeddings); check its threshold`);
    }
    for (const key of Object.keys(entry)) {
      if (!['type', 'value', 'threshold', 'weight'].includes(key)) warnings.push(`${at}: "${key}" is not imported`);
    }
    out.push({
      type: entry.type,
      ...(entry.value === undefined ? {} : { value: entry.value }),
      ...(typeof entry.threshold === 'number' ? { threshold: entry.threshold } : {}),
      ...(typeof entry.weight === 'number' ? { weight: entry.weight } : {}),
    });
  });
  return out;
};

const mapProvider = (entry: unknown, warnings: string[]): Json | undefined => {
  const id = typeof entry === 'string' ? entry : isRecord(entry) && typeof entry.id === 'string' ? entry.id : undefined;
  if (id === undefined) return undefined;
  const spec = parseProviderSpec(id);
  if (!['openai', 'anthropic', 'simulated'].includes(spec.id)) {
    warnings.push(`provider "${id}" has no promptops adapter; the suite uses simulated until you choose one`);
    return { id: 'simulated' };
  }
  const config = isRecord(entry) && isRecord(entry.config) ? entry.config : {};
  const { apiBaseUrl, apiHost, ...params } = config;
  const baseUrl =
    typeof apiBaseUrl === 'string' ? apiBaseUrl : typeof apiHost === 'string' ? `https://${apiHost}/v1` : undefined;
  return { id: spec.id, model: spec.model, ...params, ...(baseUrl === undefined ? {} : { baseUrl }) };
};

/** Maps a parsed promptfoo config to promptops prompt and suite files. */
export const importPromptfooConfig = (config: unknown, options: PromptfooImportOptions = {}): PromptfooImport => {
  const file = options.file ?? 'promptfooconfig.yaml';
  if (!isRecord(config)) {
    throw new PromptopsError(
      'invalid',
      'invalid_promptfoo_config',
      `${file}: not a promptfoo config (a YAML mapping)`,
      {
        fix: 'pass a promptfooconfig.yaml with prompts, providers and tests',
      },
    );
  }
  const warnings: string[] = [];
  const prompts = readPrompts(config, options, warnings);
  if (prompts.length === 0) {
    throw new PromptopsError('invalid', 'invalid_promptfoo_config', `${file}: no prompts to import`, {
      fix: 'the config needs prompts: (strings or file:// references)',
    });
  }
  const providers =
    config.providers === undefined ? [] : Array.isArray(config.providers) ? config.providers : [config.providers];
  const provider = providers.length === 0 ? undefined : mapProvider(providers[0], warnings);
  if (providers.length > 1) {
    warnings.push(
      `${providers.length} providers: the suites use the first; run the others with promptops eval --provider`,
    );
  }
  const defaultTest = isRecord(config.defaultTest) ? config.defaultTest : {};
  const tests = Array.isArray(config.tests) ? config.tests : [];
  if (config.tests !== undefined && !Array.isArray(config.tests)) {
    warnings.push(
      `tests: only an inline list is imported (got ${JSON.stringify(config.tests)}); use dataset: for CSV/JSONL files`,
    );
  }
  const cases = tests.flatMap((test: unknown, index) => {
    if (!isRecord(test)) {
      warnings.push(`tests[${index}]: not a mapping; skipped`);
      return [];
    }
    const assert = mapAssertions(test.assert, `tests[${index}].assert`, warnings);
    return [
      {
        id: `case-${index + 1}`,
        ...(typeof test.description === 'string' ? { description: test.description } : {}),
        vars: isRecord(test.vars) ? test.vars : {},
        ...(assert.length === 0 ? {} : { assert }),
        ...(typeof test.threshold === 'number' ? { threshold: test.threshold } : {}),
      },
    ];
  });
  const defaultAssert = mapAssertions(defaultTest.assert, 'defaultTest.assert', warnings);
  const defaultVars = isRecord(defaultTest.vars) ? defaultTest.vars : {};
  const variables = [...new Set([...Object.keys(defaultVars), ...cases.flatMap((c) => Object.keys(c.vars))])].sort();
  const suiteProvider = provider === undefined ? 'simulated' : provider;
  const promptModel =
    provider === undefined || provider.id === 'simulated'
      ? undefined
      : { provider: provider.id, ...(typeof provider.model === 'string' ? { name: provider.model } : {}) };
  return {
    prompts: prompts.map((p) => ({ path: `${p.name}.prompt.yaml`, text: promptFileFor(p, variables, promptModel) })),
    suites: prompts.map((p) => ({
      path: `${p.name}.eval.yaml`,
      text: stringify(
        {
          name: p.name,
          prompt: p.name,
          ...(typeof config.description === 'string' ? { description: config.description } : {}),
          provider: suiteProvider,
          ...(Object.keys(defaultVars).length > 0 ||
          defaultAssert.length > 0 ||
          typeof defaultTest.threshold === 'number'
            ? {
                defaultTest: {
                  ...(Object.keys(defaultVars).length === 0 ? {} : { vars: defaultVars }),
                  ...(defaultAssert.length === 0 ? {} : { assert: defaultAssert }),
                  ...(typeof defaultTest.threshold === 'number' ? { threshold: defaultTest.threshold } : {}),
                },
              }
            : {}),
          cases,
        },
        YAML_OUTPUT,
      ),
    })),
    warnings,
  };
};
