import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import { LOCKFILE_NAME, PromptopsError, formatIssues, type FieldIssue } from '@promptops/core';
import { normalizeUrl } from './config.js';
import { DEFAULT_PROMPTS_DIR, displayPath } from './files.js';

/**
 * `promptops.yaml`: the project's settings, committed beside its prompts. Read from the working
 * directory (or `--config PATH`) by every command. Its `url` ranks below `--url` and `PROMPTOPS_URL`;
 * its `prompts` folders are the default paths of push, pull, status, check and lock; `lock` is where
 * `promptops lock` writes and `promptops check` reads. Relative paths are relative to the file.
 */

export const PROJECT_CONFIG_FILE = 'promptops.yaml';

const FIELDS = ['url', 'project', 'prompts', 'lock'] as const;

export interface ProjectConfig {
  /** Absolute path of the file. */
  readonly file: string;
  /** The file as shown to the user. */
  readonly display: string;
  readonly url?: string;
  /** The project the prompts belong to; commands that talk to the server check the key's project. */
  readonly project?: string;
  /** Absolute paths of the prompt folders. */
  readonly prompts: readonly string[];
  /** Absolute path of the lock file. */
  readonly lock: string;
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const nonEmptyString = (value: unknown): value is string => typeof value === 'string' && value.trim() !== '';

const invalid = (display: string, issues: FieldIssue[], fix: string): PromptopsError =>
  new PromptopsError('invalid', 'invalid_config', `${display}: invalid config:\n${formatIssues(issues)}`, {
    issues,
    fix,
    details: { file: display },
  });

/** Validates the parsed YAML; every issue names its field. */
const validate = (
  data: unknown,
  display: string,
): { url?: string; project?: string; prompts?: string[]; lock?: string } => {
  if (data === null || data === undefined) return {};
  if (!isRecord(data)) {
    throw invalid(
      display,
      [{ path: '(root)', message: 'the config is a YAML mapping with fields like url, prompts and lock' }],
      `write fields such as "prompts: [${DEFAULT_PROMPTS_DIR}]", or run \`promptops init --force\` to recreate it`,
    );
  }
  const issues: FieldIssue[] = [];
  const unknown = Object.keys(data).filter((key) => !(FIELDS as readonly string[]).includes(key));
  if (unknown.length > 0) {
    issues.push({
      path: unknown[0] ?? '',
      message: `unknown field ${unknown.map((k) => `"${k}"`).join(', ')}; allowed fields: ${FIELDS.join(', ')}`,
    });
  }
  const out: { url?: string; project?: string; prompts?: string[]; lock?: string } = {};
  if (data.url !== undefined) {
    if (!nonEmptyString(data.url)) issues.push({ path: 'url', message: 'url must be the server URL as a string' });
    else {
      try {
        out.url = normalizeUrl(data.url);
      } catch {
        issues.push({ path: 'url', message: `"${data.url}" is not an http(s) URL, e.g. http://127.0.0.1:4680` });
      }
    }
  }
  if (data.project !== undefined) {
    if (!nonEmptyString(data.project)) issues.push({ path: 'project', message: 'project must be a project name' });
    else out.project = data.project;
  }
  if (data.prompts !== undefined) {
    // `prompts: prompts` is read as a list of one.
    const list = typeof data.prompts === 'string' ? [data.prompts] : data.prompts;
    if (!Array.isArray(list) || list.length === 0) {
      issues.push({ path: 'prompts', message: `prompts must be a list of folders, e.g. [${DEFAULT_PROMPTS_DIR}]` });
    } else {
      list.forEach((item, index) => {
        if (!nonEmptyString(item)) issues.push({ path: `prompts[${index}]`, message: 'a prompt folder is a path' });
      });
      if (list.every(nonEmptyString)) out.prompts = list;
    }
  }
  if (data.lock !== undefined) {
    if (!nonEmptyString(data.lock))
      issues.push({ path: 'lock', message: `lock must be a file path, e.g. ${LOCKFILE_NAME}` });
    else out.lock = data.lock;
  }
  if (issues.length > 0) throw invalid(display, issues, 'correct the fields listed above');
  return out;
};

/** Parses a config file's text; `path` is absolute. */
export const parseProjectConfig = (text: string, path: string, cwd: string): ProjectConfig => {
  const display = displayPath(cwd, path);
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw invalid(
      display,
      doc.errors.map((error) => ({ path: '(yaml)', message: error.message.split('\n')[0] ?? error.message })),
      'fix the YAML syntax at the line shown',
    );
  }
  const data = validate(doc.toJS(), display);
  const base = dirname(path);
  return {
    file: path,
    display,
    ...(data.url === undefined ? {} : { url: data.url }),
    ...(data.project === undefined ? {} : { project: data.project }),
    prompts: (data.prompts ?? [DEFAULT_PROMPTS_DIR]).map((dir) => resolve(base, dir)),
    lock: resolve(base, data.lock ?? LOCKFILE_NAME),
  };
};

/**
 * Reads `--config PATH`, else `promptops.yaml` in the working directory. A missing default file means
 * no project config; a missing file named by `--config` is an error.
 */
export const loadProjectConfig = async (
  configFlag: string | undefined,
  cwd: string,
): Promise<ProjectConfig | undefined> => {
  const explicit = configFlag !== undefined && configFlag !== '';
  const path = resolve(cwd, explicit ? configFlag : PROJECT_CONFIG_FILE);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' && !explicit) return undefined;
    throw new PromptopsError(
      'invalid',
      code === 'ENOENT' ? 'config_not_found' : 'unreadable_config',
      code === 'ENOENT'
        ? `${displayPath(cwd, path)}: no such file (named by --config)`
        : `cannot read ${displayPath(cwd, path)}: ${(error as Error).message}`,
      {
        fix:
          code === 'ENOENT'
            ? 'check the --config path, or run `promptops init` to create promptops.yaml'
            : 'check the file permissions',
        details: { file: displayPath(cwd, path) },
      },
    );
  }
  return parseProjectConfig(text, path, cwd);
};
