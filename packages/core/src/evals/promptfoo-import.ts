import { parse as parseYaml, stringify } from 'yaml';
import { PromptopsError } from '../errors.js';
import { parsePromptFile } from '../prompt-file.js';
import { extractReferences, renderTemplate } from '../template.js';
import { YAML_OUTPUT } from '../yaml-output.js';
import { checkAssertion } from './assertions.js';
import { isRecord, judgeSpec, mapAssertions, type Json } from './promptfoo/assertions.js';
import { NunjucksError, nunjucksToMustache } from './promptfoo/nunjucks.js';
import { mapProvider, type MappedProvider } from './promptfoo/providers.js';
import {
  loadPrompts,
  loadTests,
  read,
  type PromptfooIo,
  type RawPrompt,
  type RawTest,
  type Skipped,
} from './promptfoo/sources.js';
import { parseEvalSuiteFile } from './suite.js';
import type { EvalAssertion } from '../eval-records.js';

/**
 * Import of a promptfoo config (`promptfooconfig.yaml`) into promptops prompt files, suite files and
 * datasets. Pure: the caller lends file reading and globbing (relative to the config) and writes the result.
 *
 * - Prompts: inline, `file://` (globs, `---`-separated text, chat messages in JSON/YAML/JSONL, CSV). Nunjucks
 *   becomes mustache where the meaning is kept; a prompt that cannot be is skipped with the reason.
 * - Variables: those the templates read, declared on the prompt (optional unless every case gives them).
 *   Variables only assertions read are written into those assertions per case; others are left out, said.
 * - Tests: inline tests become `cases`; test files (CSV, JSONL, YAML, JSON) become a JSONL dataset per suite.
 *   Array values expand into one case per combination, as promptfoo does.
 * - Providers: one suite per prompt and provider; request parameters carry over; keys never do (the suite
 *   names the environment variable).
 * Whatever has no counterpart is listed in `warnings` or `skipped`; every written file parses.
 */

export interface ImportedFile {
  /** Relative to the output folders: `<name>.prompt.yaml` (prompts), `<name>.eval.yaml`, `<name>.cases.jsonl`. */
  readonly path: string;
  readonly text: string;
}

export interface PromptfooReport {
  readonly prompts: readonly {
    name: string;
    path: string;
    origin: string;
    type: 'text' | 'chat';
    variables: string[];
  }[];
  readonly suites: readonly {
    name: string;
    path: string;
    prompt: string;
    provider: string;
    cases: number;
    dataset: string | null;
  }[];
}

export interface PromptfooImport {
  readonly prompts: readonly ImportedFile[];
  /** Suites and their datasets (both go to the suites' folder). */
  readonly suites: readonly ImportedFile[];
  readonly warnings: readonly string[];
  /** Prompts (or parts) that were not imported, and why. */
  readonly skipped: readonly Skipped[];
  readonly report: PromptfooReport;
}

export interface PromptfooImportOptions {
  /** Reads a file named by the config (path as written, relative to the config). */
  readonly readFile?: (path: string) => string;
  /** Lists files matching a glob, relative to the config's folder. */
  readonly glob?: (pattern: string) => readonly string[];
  /** The config file as shown in messages. */
  readonly file?: string;
}

const slug = (text: string, fallback: string): string =>
  text
    .toLowerCase()
    .replace(/[^a-z0-9_.-]+/g, '-')
    .replace(/^[^a-z0-9]+|[-.]+$/g, '')
    .slice(0, 60) || fallback;

const unique = (base: string, taken: Set<string>): string => {
  let name = base;
  for (let n = 2; taken.has(name); n += 1) name = `${base}-${n}`;
  taken.add(name);
  return name;
};

const HANDLED = new Set(['description', 'prompts', 'providers', 'targets', 'tests', 'defaultTest', 'env']);
const TEST_KEYS = new Set(['description', 'vars', 'assert', 'threshold', 'options', 'id']);
const OPTION_KEYS = new Set(['provider', 'disableVarExpansion']);

interface Prompt {
  readonly name: string;
  readonly origin: string;
  readonly label?: string;
  readonly text?: string;
  readonly messages?: readonly { role: string; content: string }[];
  readonly variables: ReadonlySet<string>;
}

interface Case {
  readonly id: string;
  readonly file?: string;
  readonly description?: string;
  readonly vars: Json;
  readonly assert: Json[];
  readonly threshold?: number;
}

const refsOf = (assertion: Json): string[] => {
  const texts =
    typeof assertion.value === 'string' ? [assertion.value] : Array.isArray(assertion.value) ? assertion.value : [];
  return texts.flatMap((t: unknown) => (typeof t === 'string' ? [...extractReferences(t).variables] : []));
};

/** String values of an assertion rendered with the case's variables (what promptfoo does at run time). */
const inlineValues = (assertion: Json, vars: Json): Json => {
  const render = (v: unknown): unknown => (typeof v === 'string' ? renderTemplate(v, vars) : v);
  const value = Array.isArray(assertion.value) ? assertion.value.map(render) : render(assertion.value);
  return { ...assertion, ...(assertion.value === undefined ? {} : { value }) };
};

/** Cartesian expansion of array values (promptfoo's var expansion). */
const expandVars = (vars: Json): Json[] => {
  let sets: Json[] = [{}];
  for (const [key, value] of Object.entries(vars)) {
    const options = Array.isArray(value) && value.length > 0 ? value : [value];
    sets = sets.flatMap((set) => options.map((option: unknown) => ({ ...set, [key]: option })));
  }
  return sets;
};

/** Maps a parsed promptfoo config to promptops prompt files, suite files and datasets. */
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
  const io: PromptfooIo = {
    readFile:
      options.readFile ??
      ((path) => {
        throw new Error(`no file access was given to read ${path}`);
      }),
    ...(options.glob === undefined ? {} : { glob: options.glob }),
  };
  const warnings: string[] = [];
  const skipped: Skipped[] = [];
  const readValue = (path: string, where: string): unknown => {
    const text = read(io, path, where, file);
    if (/\.json$/i.test(path)) return JSON.parse(text) as unknown;
    if (/\.ya?ml$/i.test(path)) return parseYaml(text) as unknown;
    return text;
  };

  for (const key of Object.keys(config)) {
    if (key === 'env' && isRecord(config.env)) {
      warnings.push(
        `env: not copied (values may be secrets); set ${Object.keys(config.env).join(', ')} in the environment`,
      );
    } else if (!HANDLED.has(key)) warnings.push(`${key}: has no promptops counterpart; not imported`);
  }

  // ---------- prompts ----------
  const names = new Set<string>();
  const prompts: Prompt[] = [];
  for (const entry of loadPrompts(config, io, file)) {
    if ('reason' in entry) {
      skipped.push(entry);
      continue;
    }
    const raw: RawPrompt = entry;
    try {
      const convert = (text: string, where: string): string => {
        const converted = nunjucksToMustache(text, `${raw.origin} ${where}`);
        warnings.push(...converted.notes);
        return converted.template;
      };
      const text = raw.text === undefined ? undefined : convert(raw.text, 'template');
      const messages = raw.messages?.map((m, i) => ({ role: m.role, content: convert(m.content, `messages[${i}]`) }));
      const variables = new Set<string>();
      for (const template of [text ?? '', ...(messages ?? []).map((m) => m.content)]) {
        for (const name of extractReferences(template, raw.origin).variables) variables.add(name);
      }
      const name = unique(slug(raw.label ?? raw.base, 'prompt'), names);
      prompts.push({
        name,
        origin: raw.origin,
        ...(raw.label === undefined ? {} : { label: raw.label }),
        ...(text === undefined ? {} : { text }),
        ...(messages === undefined ? {} : { messages }),
        variables,
      });
    } catch (error) {
      if (!(error instanceof NunjucksError) && !(error instanceof PromptopsError)) throw error;
      skipped.push({ origin: raw.origin, reason: error.message });
    }
  }
  if (prompts.length === 0) {
    const why = skipped.map((s) => `${s.origin}: ${s.reason}`).join('; ');
    throw new PromptopsError(
      'invalid',
      'invalid_promptfoo_config',
      `${file}: prompts: no prompt can be imported${why === '' ? '' : ` (${why})`}`,
      {
        fix: 'the config needs prompts: text templates or chat messages, inline or as file:// references',
      },
    );
  }

  // ---------- defaultTest and tests ----------
  const defaultTest: Json =
    typeof config.defaultTest === 'string'
      ? ((): Json => {
          const loaded = readValue(config.defaultTest.replace(/^file:\/\//, ''), 'defaultTest');
          return isRecord(loaded) ? loaded : {};
        })()
      : isRecord(config.defaultTest)
        ? config.defaultTest
        : {};
  const notImported = new Map<string, string[]>();
  const note = (what: string, origin: string): void => {
    notImported.set(what, [...(notImported.get(what) ?? []), origin]);
  };
  const readOptions = (opts: unknown, where: string, kind: string): { judge?: string; noExpansion: boolean } => {
    if (!isRecord(opts)) return { noExpansion: false };
    for (const key of Object.keys(opts)) if (!OPTION_KEYS.has(key)) note(`${kind}.options.${key}`, where);
    const judge =
      opts.provider === undefined ? undefined : judgeSpec(opts.provider, `${where}.options.provider`, warnings);
    return { ...(judge === undefined ? {} : { judge }), noExpansion: opts.disableVarExpansion === true };
  };
  for (const key of Object.keys(defaultTest)) {
    if (!['vars', 'assert', 'threshold', 'options'].includes(key)) note(`defaultTest.${key}`, 'defaultTest');
  }
  const defaults = readOptions(defaultTest.options, 'defaultTest', 'defaultTest');
  const assertionContext = (judge: string | undefined) => ({
    warnings,
    readValue,
    ...(judge === undefined ? {} : { judge }),
  });
  /** Assertion values to mustache; an invalid assertion is left out with the reason. */
  const finish = (list: Json[], where: string): Json[] =>
    list.flatMap((assertion, index) => {
      try {
        const convert = (v: unknown): unknown => {
          if (typeof v !== 'string') return v;
          const converted = nunjucksToMustache(v, `${where}[${index}].value`);
          warnings.push(...converted.notes);
          return converted.template;
        };
        const value = Array.isArray(assertion.value) ? assertion.value.map(convert) : convert(assertion.value);
        const out = { ...assertion, ...(assertion.value === undefined ? {} : { value }) };
        refsOf(out);
        const problems = checkAssertion(out as unknown as EvalAssertion);
        if (problems.length > 0) {
          warnings.push(`${where}[${index}]: ${problems.map((p) => `${p.path}: ${p.message}`).join('; ')}; left out`);
          return [];
        }
        return [out];
      } catch (error) {
        if (!(error instanceof NunjucksError) && !(error instanceof PromptopsError)) throw error;
        warnings.push(`${where}[${index}]: ${error.message}; left out`);
        return [];
      }
    });
  const defaultAssert = finish(
    mapAssertions(defaultTest.assert, 'defaultTest.assert', assertionContext(defaults.judge)),
    'defaultTest.assert',
  );
  /** `vars:` inline, or `file://vars.yaml`. */
  const varsOf = (vars: unknown, where: string): Json => {
    const value = typeof vars === 'string' && vars.startsWith('file://') ? readValue(vars.slice(7), where) : vars;
    return isRecord(value) ? value : {};
  };
  const defaultVars = varsOf(defaultTest.vars, 'defaultTest.vars');
  const share = (value: unknown, where: string): number | undefined => {
    if (value === undefined) return undefined;
    if (typeof value === 'number' && value >= 0 && value <= 1) return value;
    warnings.push(`${where}: threshold ${JSON.stringify(value)} is not a share from 0 to 1; not imported`);
    return undefined;
  };
  const defaultThreshold = share(defaultTest.threshold, 'defaultTest.threshold');

  const loaded: RawTest[] = loadTests(config, io, file, warnings);
  const tests = loaded.length > 0 ? loaded : [{ origin: 'tests', test: {} }];
  const cases: Case[] = [];
  let inlineIndex = 0;
  for (const { origin, file: source, test } of tests) {
    if (source === undefined) inlineIndex += 1;
    if ('invalid' in test && Object.keys(test).length === 1) {
      warnings.push(`${origin}: not a test ({ vars, assert }); left out`);
      continue;
    }
    for (const key of Object.keys(test)) if (!TEST_KEYS.has(key)) note(`tests: ${key}`, origin);
    const opts = readOptions(test.options, origin, 'tests');
    const merged: Json = { ...defaultVars, ...varsOf(test.vars, `${origin}.vars`) };
    let unusable: string | undefined;
    for (const [key, value] of Object.entries(merged)) {
      if (typeof value !== 'string' || !value.startsWith('file://')) continue;
      const path = value.slice('file://'.length);
      if (/\.(js|cjs|mjs|ts|py|png|jpe?g|gif|webp|pdf|mp3|wav)(:|$)/i.test(path)) unusable = `vars.${key} (${path})`;
      else merged[key] = readValue(path, `${origin}.vars.${key}`);
    }
    if (unusable !== undefined) {
      warnings.push(`${origin}: ${unusable} is code or binary, which promptops variables cannot hold; test left out`);
      continue;
    }
    const assert = finish(
      mapAssertions(test.assert, `${origin}.assert`, assertionContext(opts.judge ?? defaults.judge)),
      `${origin}.assert`,
    );
    const threshold = share(test.threshold, `${origin}.threshold`);
    const sets = defaults.noExpansion || opts.noExpansion ? [merged] : expandVars(merged);
    const base = typeof test.id === 'string' ? test.id : source === undefined ? `case-${inlineIndex}` : origin;
    sets.forEach((vars, index) => {
      cases.push({
        id: sets.length === 1 ? base : `${base}.${index + 1}`,
        ...(source === undefined ? {} : { file: source }),
        ...(typeof test.description === 'string' ? { description: test.description } : {}),
        vars,
        assert,
        ...(threshold === undefined ? {} : { threshold }),
      });
    });
  }
  for (const [what, origins] of notImported) {
    const shown = origins.slice(0, 3).join(', ') + (origins.length > 3 ? `, and ${origins.length - 3} more` : '');
    warnings.push(`${what} is not imported (${shown})`);
  }

  // ---------- providers ----------
  const given = config.providers ?? config.targets;
  const list = given === undefined ? [] : Array.isArray(given) ? given : [given];
  const mapped: MappedProvider[] = [];
  list.forEach((entry: unknown, index) => {
    const where = Array.isArray(given) ? `providers[${index}]` : 'providers';
    const provider = mapProvider(entry, where, { warnings, readValue });
    if (!mapped.some((m) => JSON.stringify(m.provider) === JSON.stringify(provider.provider))) mapped.push(provider);
  });
  if (mapped.length === 0) mapped.push({ provider: { id: 'simulated' }, label: 'simulated' });

  // ---------- output ----------
  const promptFiles: ImportedFile[] = [];
  const suiteFiles: ImportedFile[] = [];
  const report: { prompts: PromptfooReport['prompts'][number][]; suites: PromptfooReport['suites'][number][] } = {
    prompts: [],
    suites: [],
  };
  const suiteNames = new Set<string>();
  const modelOf = mapped.find((m) => m.provider.id !== 'simulated')?.provider;
  for (const prompt of prompts) {
    const declared = prompt.variables;
    const applies = mapped.filter(
      (m) => m.prompts === undefined || m.prompts.some((p) => p === prompt.label || slug(p, '') === prompt.name),
    );
    const dropped = new Set<string>();
    const suiteDefault = defaultAssert.filter((a) => refsOf(a).every((v) => declared.has(v)));
    const perCase = defaultAssert.filter((a) => !suiteDefault.includes(a));
    const promptCases = cases.map((c) => {
      const inlined = new Set<string>();
      const assert = [...perCase, ...c.assert].map((a) => {
        const refs = refsOf(a);
        if (refs.every((v) => declared.has(v))) return a;
        for (const v of refs) inlined.add(v);
        return inlineValues(a, c.vars);
      });
      const vars: Json = {};
      for (const [key, value] of Object.entries(c.vars)) {
        if (declared.has(key)) vars[key] = value;
        else if (!inlined.has(key)) dropped.add(key);
      }
      return {
        id: c.id,
        ...(c.description === undefined ? {} : { description: c.description }),
        vars,
        ...(assert.length === 0 ? {} : { assert }),
        ...(c.threshold === undefined ? {} : { threshold: c.threshold }),
        file: c.file,
      };
    });
    if (dropped.size > 0) {
      warnings.push(
        `${prompt.name}: ${[...dropped].sort().join(', ')} ${dropped.size === 1 ? 'is' : 'are'} read by neither its templates nor its assertions; left out of its cases`,
      );
    }
    const variables = Object.fromEntries(
      [...declared]
        .sort()
        .map((v) => [
          v,
          promptCases.every((c) => c.vars[v] !== undefined) ? { type: 'any' } : { type: 'any', required: false },
        ]),
    );
    const model =
      modelOf === undefined
        ? undefined
        : Object.fromEntries(
            Object.entries({ provider: modelOf.id, name: modelOf.model, ...modelOf }).filter(
              ([k]) => !['id', 'model', 'baseUrl', 'apiKeyEnv'].includes(k),
            ),
          );
    const promptText = stringify(
      {
        type: prompt.messages === undefined ? 'text' : 'chat',
        ...(model === undefined ? {} : { model }),
        ...(Object.keys(variables).length === 0 ? {} : { variables }),
        ...(prompt.messages === undefined ? { template: prompt.text } : { messages: prompt.messages }),
      },
      { ...YAML_OUTPUT, blockQuote: 'literal' },
    );
    parsePromptFile(promptText, { file: `${prompt.name}.prompt.yaml`, defaultName: prompt.name });
    promptFiles.push({ path: `${prompt.name}.prompt.yaml`, text: promptText });
    report.prompts.push({
      name: prompt.name,
      path: `${prompt.name}.prompt.yaml`,
      origin: prompt.origin,
      type: prompt.messages === undefined ? 'text' : 'chat',
      variables: [...declared].sort(),
    });

    for (const provider of applies) {
      const name = unique(
        applies.length === 1 ? prompt.name : slug(`${prompt.name}-${provider.label}`, prompt.name),
        suiteNames,
      );
      const inline = promptCases.filter((c) => c.file === undefined).map(({ file: _, ...c }) => c);
      const fromFiles = promptCases.filter((c) => c.file !== undefined).map(({ file: _, ...c }) => c);
      const dataset = fromFiles.length === 0 ? undefined : `${name}.cases.jsonl`;
      const datasetText = fromFiles.map((c) => JSON.stringify(c)).join('\n') + '\n';
      const suite = {
        name,
        prompt: prompt.name,
        ...(typeof config.description === 'string' ? { description: config.description } : {}),
        provider: provider.provider,
        ...(suiteDefault.length > 0 || defaultThreshold !== undefined
          ? {
              defaultTest: {
                ...(suiteDefault.length === 0 ? {} : { assert: suiteDefault }),
                ...(defaultThreshold === undefined ? {} : { threshold: defaultThreshold }),
              },
            }
          : {}),
        ...(inline.length === 0 ? {} : { cases: inline }),
        ...(dataset === undefined ? {} : { dataset }),
      };
      if (inline.length === 0 && dataset === undefined) {
        warnings.push(`${name}: no case could be imported; no suite written`);
        continue;
      }
      const suiteText = stringify(suite, YAML_OUTPUT);
      parseEvalSuiteFile(suiteText, { file: `${name}.eval.yaml`, readDataset: () => datasetText });
      suiteFiles.push({ path: `${name}.eval.yaml`, text: suiteText });
      if (dataset !== undefined) suiteFiles.push({ path: dataset, text: datasetText });
      const p = provider.provider;
      report.suites.push({
        name,
        path: `${name}.eval.yaml`,
        prompt: prompt.name,
        provider: p.id === 'simulated' ? 'simulated' : `${String(p.id)}:${String(p.model)}`,
        cases: promptCases.length,
        dataset: dataset ?? null,
      });
    }
  }
  return { prompts: promptFiles, suites: suiteFiles, warnings: [...new Set(warnings)], skipped, report };
};
