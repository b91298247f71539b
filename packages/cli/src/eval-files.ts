import { readFileSync } from 'node:fs';
import { readFile, readdir, stat } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import {
  EVAL_SUITE_SUFFIXES,
  PromptopsError,
  parseEvalSuiteFile,
  parseInlineEvalSuites,
  suiteNameFromPath,
  type EvalSuiteContent,
} from '@promptops/core';
import { displayPath, type LoadedPrompt } from './files.js';

/**
 * Eval suites as code: `evals/**\/*.eval.yaml|yml` (named by their path relative to the folder given,
 * like prompt files; a `name:` in the file wins), and suites written inline under `evals:` in prompt files.
 * Datasets are read relative to the suite file.
 */

export const DEFAULT_EVALS_DIR = 'evals';

export interface LoadedSuite {
  /** The file it was read from, as shown to the user. */
  readonly file: string;
  readonly absolutePath: string;
  readonly content: EvalSuiteContent;
}

const isSuiteFile = (path: string): boolean => EVAL_SUITE_SUFFIXES.some((suffix) => path.endsWith(suffix));

const walk = async (dir: string, out: string[]): Promise<void> => {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (!entry.name.startsWith('.') && entry.name !== 'node_modules') await walk(path, out);
    } else if (isSuiteFile(entry.name)) out.push(path);
  }
};

/** A named file is named relative to the nearest enclosing `evals/` folder, else by its file name. */
const nameFor = (absolutePath: string, root: string | undefined): string => {
  if (root !== undefined) return suiteNameFromPath(relative(root, absolutePath).split(sep).join('/'));
  const parts = absolutePath.split(sep);
  const at = parts.lastIndexOf(DEFAULT_EVALS_DIR, parts.length - 2);
  return suiteNameFromPath(at >= 0 ? parts.slice(at + 1).join('/') : (parts.at(-1) ?? ''));
};

const parseSuite = async (absolutePath: string, cwd: string, root: string | undefined): Promise<LoadedSuite> => {
  const file = displayPath(cwd, absolutePath);
  const text = await readFile(absolutePath, 'utf8');
  const content = parseEvalSuiteFile(text, {
    file,
    defaultName: nameFor(absolutePath, root),
    readDataset: (path) => readFileSync(isAbsolute(path) ? path : resolve(dirname(absolutePath), path), 'utf8'),
  });
  return { file, absolutePath, content };
};

/** Suite files under the paths given (default `evals/`), parsed; unreadable or invalid ones are errors. */
export const loadSuiteFiles = async (
  paths: readonly string[],
  cwd: string,
  options: { readonly allowMissingDefault: boolean },
): Promise<LoadedSuite[]> => {
  const usingDefault = paths.length === 0;
  const targets = usingDefault ? [DEFAULT_EVALS_DIR] : paths;
  const suites: LoadedSuite[] = [];
  for (const target of targets) {
    const absolute = resolve(cwd, target);
    const info = await stat(absolute).catch(() => undefined);
    if (info === undefined) {
      if (usingDefault && options.allowMissingDefault) continue;
      throw new PromptopsError('invalid', 'file_not_found', `${target}: no such file or directory`, {
        fix: usingDefault
          ? 'create evals/ with *.eval.yaml suites, write suites inline under evals: in a prompt file, or name the suite files'
          : 'check the path; name *.eval.yaml files or folders that contain them',
        details: { file: target },
      });
    }
    if (info.isDirectory()) {
      const files: string[] = [];
      await walk(absolute, files);
      files.sort();
      for (const path of files) suites.push(await parseSuite(path, cwd, absolute));
    } else {
      suites.push(await parseSuite(absolute, cwd, undefined));
    }
  }
  return suites;
};

/** Suites written inline in prompt files (under `evals:`). */
export const loadInlineSuites = async (prompts: readonly LoadedPrompt[]): Promise<LoadedSuite[]> => {
  const suites: LoadedSuite[] = [];
  for (const prompt of prompts) {
    const text = await readFile(prompt.absolutePath, 'utf8');
    if (!/^evals\s*:/m.test(text)) continue;
    const absolutePath = prompt.absolutePath;
    for (const content of parseInlineEvalSuites(text, {
      file: prompt.file,
      promptName: prompt.content.name,
      readDataset: (path) => readFileSync(isAbsolute(path) ? path : resolve(dirname(absolutePath), path), 'utf8'),
    })) {
      suites.push({ file: prompt.file, absolutePath, content });
    }
  }
  return suites;
};

/** `X/evals/a.eval.yaml` -> `X/prompts`: where a suite's own prompts most likely live. */
export const siblingPromptDir = (suitePath: string): string | undefined => {
  const parts = suitePath.split(sep);
  const at = parts.lastIndexOf(DEFAULT_EVALS_DIR, parts.length - 2);
  return at < 0 ? undefined : [...parts.slice(0, at), 'prompts'].join(sep);
};
