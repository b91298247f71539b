import { parse as parseCsv } from 'csv-parse/sync';
import { parse as parseYaml } from 'yaml';
import { PromptopsError } from '../../errors.js';
import { MESSAGE_ROLES } from '../../schema.js';
import { expectedCell, isRecord, type Json } from './assertions.js';

/**
 * Reading what a promptfoo config points at: `file://` prompts (text split on `---` lines, Markdown,
 * chat messages in JSON, YAML or JSON Lines, CSV of prompts, globs) and test files (CSV with promptfoo's
 * special columns, JSON Lines, YAML or JSON lists). Pure: the caller lends `readFile` and `glob`, both
 * relative to the config's folder. A missing file is an error naming the file and the field that named it.
 */

export interface PromptfooIo {
  readonly readFile: (path: string) => string;
  /** Files matching a glob, relative to the config's folder, sorted. */
  readonly glob?: (pattern: string) => readonly string[];
}

export interface RawPrompt {
  /** Where it came from, for the report: `prompts[0] (prompts/a.txt, 2 of 3)`. */
  readonly origin: string;
  /** The name it gets unless a label says otherwise. */
  readonly base: string;
  readonly label?: string;
  readonly text?: string;
  readonly messages?: readonly { readonly role: string; readonly content: string }[];
}

export interface Skipped {
  readonly origin: string;
  readonly reason: string;
}

export interface RawTest {
  /** `tests[2]` or `tests/cases.csv#3`. */
  readonly origin: string;
  /** The test file it came from (datasets), or undefined for inline tests. */
  readonly file?: string;
  readonly test: Json;
}

const CODE = /\.(js|cjs|mjs|ts|cts|mts|py|rb)(:[A-Za-z0-9_]+)?$/i;
const GLOB = /[*?{[]/;

export const read = (io: PromptfooIo, path: string, field: string, config: string): string => {
  try {
    return io.readFile(path);
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    throw new PromptopsError('invalid', 'file_not_found', `${config}: ${field}: cannot read ${path}: ${why}`, {
      fix: `create ${path} (paths are relative to the promptfoo config's folder), or correct ${field}`,
      details: { file: path, field },
    });
  }
};

/** The files a `file://` path names: itself, or what its glob or folder matches (at least one). */
export const expand = (io: PromptfooIo, path: string, field: string, config: string): string[] => {
  const pattern = path.endsWith('/') ? `${path}*` : path;
  if (!GLOB.test(pattern)) return [path];
  const found = io.glob === undefined ? [] : [...io.glob(pattern)];
  if (found.length === 0) {
    throw new PromptopsError('invalid', 'file_not_found', `${config}: ${field}: file://${path} matches no file`, {
      fix: `correct the pattern in ${field} (paths are relative to the promptfoo config's folder)`,
      details: { file: path, field },
    });
  }
  return found;
};

const baseName = (path: string): string => path.replace(/^.*\//, '').replace(/\.[^.]+$/, '');
const extension = (path: string): string => /\.([A-Za-z0-9]+)$/.exec(path)?.[1]?.toLowerCase() ?? '';

const ROLES = new Set<string>(MESSAGE_ROLES);
/** A list of `{ role, content }` with string contents and roles promptops knows, or undefined. */
export const asMessages = (value: unknown): { role: string; content: string }[] | undefined =>
  Array.isArray(value) &&
  value.length > 0 &&
  value.every((m) => isRecord(m) && typeof m.role === 'string' && ROLES.has(m.role) && typeof m.content === 'string')
    ? value.map((m: Json) => ({ role: String(m.role), content: String(m.content) }))
    : undefined;

/** A prompt written inline: a template, or a JSON list of chat messages. */
export const inlinePrompt = (raw: string, origin: string, base: string, label?: string): RawPrompt | Skipped => {
  const trimmed = raw.trim();
  if (trimmed.startsWith('[') && /"role"\s*:/.test(trimmed)) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(trimmed) as unknown;
    } catch {
      return { origin, reason: 'a chat prompt built by template logic (not JSON until rendered) cannot be imported' };
    }
    const messages = asMessages(parsed);
    if (messages === undefined) {
      return { origin, reason: 'chat messages need a role (system, developer, user, assistant) and a text content' };
    }
    return { origin, base, ...(label === undefined ? {} : { label }), messages };
  }
  return { origin, base, ...(label === undefined ? {} : { label }), text: raw };
};

const structuredPrompt = (value: unknown, origin: string, base: string, label?: string): RawPrompt | Skipped => {
  if (typeof value === 'string') return inlinePrompt(value, origin, base, label);
  const messages = asMessages(value);
  if (messages !== undefined) return { origin, base, ...(label === undefined ? {} : { label }), messages };
  return { origin, reason: 'neither a text nor a list of chat messages { role, content } with text contents' };
};

/** One prompt file (already expanded from a glob) as one or more prompts. */
const promptsOfFile = (
  io: PromptfooIo,
  path: string,
  field: string,
  config: string,
  label: string | undefined,
): (RawPrompt | Skipped)[] => {
  const origin = `${field} (${path})`;
  if (CODE.test(path)) return [{ origin, reason: 'a prompt function (code) has no promptops counterpart' }];
  const text = read(io, path, field, config);
  const base = baseName(path);
  const ext = extension(path);
  if (ext === 'json' || ext === 'yaml' || ext === 'yml') {
    let parsed: unknown;
    try {
      parsed = ext === 'json' ? (JSON.parse(text) as unknown) : (parseYaml(text) as unknown);
    } catch {
      return [inlinePrompt(text, origin, base, label)];
    }
    return [structuredPrompt(parsed, origin, base, label)];
  }
  if (ext === 'jsonl') {
    const lines = text.split(/\r?\n/).filter((line) => line.trim() !== '');
    return lines.map((line, index) => inlinePrompt(line, `${origin} line ${index + 1}`, `${base}-${index + 1}`, label));
  }
  if (ext === 'csv') {
    const rows = parseCsv(text, { columns: true, skip_empty_lines: true, bom: true }) as Record<string, string>[];
    return rows.map((row, index) =>
      typeof row.prompt === 'string'
        ? inlinePrompt(row.prompt, `${origin} row ${index + 1}`, `${base}-${index + 1}`, row.label || undefined)
        : { origin: `${origin} row ${index + 1}`, reason: 'a CSV of prompts needs a "prompt" column' },
    );
  }
  if (ext === 'md' || ext === 'j2') return [inlinePrompt(text, origin, base, label)];
  // Text: several prompts separated by lines holding only `---`, as promptfoo splits them.
  const parts: string[] = [];
  let buffer: string[] = [];
  for (const line of [...text.split(/\r?\n/), '---']) {
    if (line.trim() === '---') {
      const part = buffer.join('\n').trim();
      if (part !== '') parts.push(part);
      buffer = [];
    } else buffer.push(line);
  }
  return parts.map((part, index) =>
    parts.length === 1
      ? { origin, base, ...(label === undefined ? {} : { label }), text: part }
      : {
          origin: `${origin}, ${index + 1} of ${parts.length}`,
          base: `${label ?? base}-${index + 1}`,
          text: part,
        },
  );
};

/** `prompts:` in any of its shapes, every file read. */
export const loadPrompts = (config: Json, io: PromptfooIo, file: string): (RawPrompt | Skipped)[] => {
  const given = config.prompts;
  const entries: { value: unknown; label?: string; field: string }[] = [];
  if (typeof given === 'string') entries.push({ value: given, field: 'prompts' });
  else if (Array.isArray(given)) given.forEach((value: unknown, i) => entries.push({ value, field: `prompts[${i}]` }));
  else if (isRecord(given)) {
    for (const [path, label] of Object.entries(given)) {
      entries.push({ value: path, field: `prompts.${path}`, ...(typeof label === 'string' ? { label } : {}) });
    }
  }
  const out: (RawPrompt | Skipped)[] = [];
  entries.forEach(({ value, field, label: given }, index) => {
    let raw: string | undefined;
    let label = given;
    if (typeof value === 'string') raw = value;
    else if (isRecord(value)) {
      raw = typeof value.raw === 'string' ? value.raw : typeof value.id === 'string' ? value.id : undefined;
      label = typeof value.label === 'string' ? value.label : label;
      if (value.config !== undefined) {
        out.push({
          origin: `${field}.config`,
          reason: "a prompt's own provider config is not imported (the suite's provider applies)",
        });
      }
    }
    if (raw === undefined) {
      out.push({ origin: field, reason: 'not a string or { raw | id, label }' });
      return;
    }
    if (!raw.startsWith('file://')) {
      out.push(inlinePrompt(raw, field, `prompt-${index + 1}`, label));
      return;
    }
    const path = raw.slice('file://'.length);
    const files = CODE.test(path) ? [path] : expand(io, path, field, file);
    for (const match of files)
      out.push(...promptsOfFile(io, match, field, file, files.length === 1 ? label : undefined));
  });
  return out;
};

// ---------- tests ----------

const SPECIAL_COLUMN = /^__(expected\d*|description|id|threshold|prefix|suffix|metric|metadata.*|config.*)$/;

const csvTests = (text: string, path: string, warnings: string[]): RawTest[] => {
  const rows = parseCsv(text, { columns: true, skip_empty_lines: true, bom: true }) as Record<string, string>[];
  const ignored = new Set<string>();
  const tests = rows.map((row, index) => {
    const vars: Json = {};
    const assert: Json[] = [];
    const test: Json = {};
    for (const [column, cell] of Object.entries(row)) {
      if (!SPECIAL_COLUMN.test(column)) vars[column] = cell;
      else if (/^__expected\d*$/.test(column)) {
        if (cell.trim() !== '') assert.push(expectedCell(cell));
      } else if (column === '__description') test.description = cell;
      else if (column === '__id' && cell !== '') test.id = cell;
      else if (column === '__threshold' && cell.trim() !== '') test.threshold = Number(cell);
      else ignored.add(column);
    }
    return { origin: `${path}#${index + 1}`, file: path, test: { ...test, vars, assert } };
  });
  for (const column of ignored) warnings.push(`${path}: column ${column} is not imported`);
  return tests;
};

/** One test file (CSV, JSON Lines, YAML or JSON) as tests. */
const testsOfFile = (io: PromptfooIo, path: string, field: string, config: string, warnings: string[]): RawTest[] => {
  if (CODE.test(path)) {
    warnings.push(`${field} (${path}): tests generated by code have no promptops counterpart; left out`);
    return [];
  }
  const text = read(io, path, field, config);
  const ext = extension(path);
  if (ext === 'csv') return csvTests(text, path, warnings);
  let list: unknown[];
  try {
    list =
      ext === 'jsonl'
        ? text
            .split(/\r?\n/)
            .filter((line) => line.trim() !== '')
            .map((line) => JSON.parse(line) as unknown)
        : [ext === 'json' ? (JSON.parse(text) as unknown) : (parseYaml(text) as unknown)].flat();
  } catch (error) {
    throw new PromptopsError(
      'invalid',
      'invalid_promptfoo_config',
      `${config}: ${field}: ${path} does not parse: ${(error as Error).message}`,
      {
        fix: `correct ${path}: tests are CSV, JSON Lines, or a YAML/JSON list of { vars, assert }`,
        details: { file: path, field },
      },
    );
  }
  return list.map((test, index) => ({
    origin: `${path}#${index + 1}`,
    file: path,
    test: isRecord(test) ? test : { invalid: test },
  }));
};

/** `tests:` in any of its shapes, every file read. */
export const loadTests = (config: Json, io: PromptfooIo, file: string, warnings: string[]): RawTest[] => {
  const given = config.tests;
  if (given === undefined) return [];
  if (isRecord(given)) {
    warnings.push('tests: a test generator or dataset loader has no promptops counterpart; left out');
    return [];
  }
  const list = Array.isArray(given) ? given : [given];
  return list.flatMap((entry: unknown, index) => {
    const field = Array.isArray(given) ? `tests[${index}]` : 'tests';
    if (isRecord(entry)) return [{ origin: field, test: entry }];
    if (typeof entry !== 'string') {
      warnings.push(`${field}: not a test or a file; left out`);
      return [];
    }
    if (/^[a-z]+:\/\//.test(entry) && !entry.startsWith('file://')) {
      warnings.push(`${field}: tests from ${entry} cannot be read here; left out (export them to CSV or JSONL)`);
      return [];
    }
    const path = entry.replace(/^file:\/\//, '');
    return expand(io, path, field, file).flatMap((match) => testsOfFile(io, match, field, file, warnings));
  });
};
