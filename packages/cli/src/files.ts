import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import {
  PROMPT_FILE_SUFFIXES,
  PromptopsError,
  parsePromptFile,
  promptNameFromPath,
  type FieldIssue,
  type PromptContent,
} from '@promptops/core';

/**
 * Prompts as code: finds `**\/*.prompt.yaml|yml` under the files and folders given (default `prompts/`)
 * and names each by its path relative to the folder given, without the suffix
 * (`prompts/support/greeter.prompt.yaml` -> `support/greeter`). A `name:` in the file wins.
 */

export const DEFAULT_PROMPTS_DIR = 'prompts';

export interface PromptFileRef {
  /** The path as shown to the user: relative to the working directory when inside it. */
  readonly file: string;
  readonly absolutePath: string;
  /** The name derived from the path; the file's own `name:` overrides it. */
  readonly pathName: string;
}

export interface LoadedPrompt extends PromptFileRef {
  readonly content: PromptContent;
}

export const isPromptFile = (path: string): boolean => PROMPT_FILE_SUFFIXES.some((suffix) => path.endsWith(suffix));

// Folders that never hold a project's prompts but can be huge.
const SKIPPED_DIRS = new Set(['node_modules']);

const walk = async (dir: string, out: string[]): Promise<void> => {
  const entries = await readdir(dir, { withFileTypes: true });
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (!entry.name.startsWith('.') && !SKIPPED_DIRS.has(entry.name)) await walk(path, out);
    } else if (isPromptFile(entry.name) && (entry.isFile() || (entry.isSymbolicLink() && (await isFile(path))))) {
      out.push(path);
    }
  }
};

const isFile = async (path: string): Promise<boolean> => (await stat(path).catch(() => undefined))?.isFile() ?? false;

/** A path as the user should read it: relative to the working directory when inside it. */
/** A file's read or parse failure as a PromptopsError: parse errors as they are, I/O errors naming the file. */
export const fileError = (file: string, error: unknown): PromptopsError =>
  error instanceof PromptopsError
    ? error
    : new PromptopsError('invalid', 'unreadable_file', `${file}: ${(error as Error).message}`, {
        fix: 'check that the file exists and is readable',
        details: { file },
      });

export const displayPath = (cwd: string, path: string): string => {
  const rel = relative(cwd, path);
  return (rel === '' ? '.' : rel.startsWith('..') || isAbsolute(rel) ? path : rel).split(sep).join('/');
};

const isInside = (root: string, path: string): boolean => {
  const rel = relative(root, path);
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel);
};

/**
 * A file named directly is named relative to the prompt folder that holds it (`roots`, from
 * promptops.yaml), else to the nearest enclosing `prompts/` folder, so `push prompts/support/greeter.prompt.yaml`
 * and `push prompts` agree; outside one, by its file name.
 */
export const pathNameForFile = (absolutePath: string, roots: readonly string[] = []): string => {
  const root = roots.find((dir) => isInside(dir, absolutePath));
  if (root !== undefined) return promptNameFromPath(relative(root, absolutePath).split(sep).join('/'));
  const parts = absolutePath.split(sep);
  const at = parts.lastIndexOf(DEFAULT_PROMPTS_DIR, parts.length - 2);
  const rel = at >= 0 ? parts.slice(at + 1).join('/') : basename(absolutePath);
  return promptNameFromPath(rel);
};

export interface DiscoverOptions {
  /** Folders searched when no paths are given (absolute or relative to cwd); default `prompts/`. */
  readonly defaults?: readonly string[];
  /** The prompt folders a directly named file is named relative to. */
  readonly roots?: readonly string[];
  /** A default folder that is missing or empty holds no prompts rather than being an error (pull, lock, status). */
  readonly allowEmpty?: boolean;
}

/** Lists the prompt files under `paths` (default: the prompt folders), sorted by name, each file once. */
export const discoverPromptFiles = async (
  paths: readonly string[],
  cwd: string,
  options: DiscoverOptions = {},
): Promise<PromptFileRef[]> => {
  const usingDefaults = paths.length === 0;
  const targets = usingDefaults ? (options.defaults ?? [DEFAULT_PROMPTS_DIR]) : paths;
  const lenient = usingDefaults && options.allowEmpty === true;
  const found = new Map<string, PromptFileRef>();
  for (const target of targets) {
    const absolute = resolve(cwd, target);
    const shown = isAbsolute(target) ? displayPath(cwd, target) : target;
    const info = await stat(absolute).catch(() => undefined);
    if (info === undefined) {
      if (lenient) continue;
      throw new PromptopsError('invalid', 'file_not_found', `${shown}: no such file or directory`, {
        fix: usingDefaults
          ? `create ${shown}/ with *.prompt.yaml files (\`promptops init\` scaffolds one), or name the files or folders to use`
          : 'check the path; name *.prompt.yaml files or folders that contain them',
        details: { file: shown },
      });
    }
    if (info.isDirectory()) {
      const files: string[] = [];
      await walk(absolute, files);
      if (files.length === 0) {
        if (lenient) continue;
        throw new PromptopsError(
          'invalid',
          'no_prompt_files',
          `${shown}: no ${PROMPT_FILE_SUFFIXES.join(' or ')} files`,
          {
            fix: `prompt files end in ${PROMPT_FILE_SUFFIXES.join(' or ')}, e.g. ${shown}/greeter.prompt.yaml`,
            details: { file: shown },
          },
        );
      }
      for (const file of files) {
        const rel = relative(absolute, file).split(sep).join('/');
        found.set(file, { file: displayPath(cwd, file), absolutePath: file, pathName: promptNameFromPath(rel) });
      }
    } else {
      if (!isPromptFile(absolute)) {
        throw new PromptopsError('invalid', 'not_a_prompt_file', `${shown} is not a prompt file`, {
          fix: `prompt files end in ${PROMPT_FILE_SUFFIXES.join(' or ')}; rename it, e.g. ${basename(target).replace(/\.ya?ml$/, '')}.prompt.yaml`,
          details: { file: shown },
        });
      }
      found.set(absolute, {
        file: displayPath(cwd, absolute),
        absolutePath: absolute,
        pathName: pathNameForFile(absolute, options.roots ?? []),
      });
    }
  }
  return [...found.values()].sort((a, b) => a.pathName.localeCompare(b.pathName) || a.file.localeCompare(b.file));
};

export interface PromptFileFailure {
  readonly ref: PromptFileRef;
  readonly error: PromptopsError;
}

/**
 * Reads and validates every file, collecting failures instead of stopping at the first: a file that
 * does not parse, or a second file defining a prompt another file already defines.
 */
export const readPromptFiles = async (
  refs: readonly PromptFileRef[],
): Promise<{ prompts: LoadedPrompt[]; failures: PromptFileFailure[] }> => {
  const loaded: LoadedPrompt[] = [];
  const failures: PromptFileFailure[] = [];
  for (const ref of refs) {
    try {
      const text = await readFile(ref.absolutePath, 'utf8');
      const content = parsePromptFile(text, { file: ref.file, defaultName: ref.pathName });
      loaded.push({ ...ref, content });
    } catch (error) {
      failures.push({
        ref,
        error: fileError(ref.file, error),
      });
    }
  }
  const byName = new Map<string, LoadedPrompt>();
  const prompts: LoadedPrompt[] = [];
  for (const prompt of loaded) {
    const other = byName.get(prompt.content.name);
    if (other !== undefined) {
      failures.push({
        ref: prompt,
        error: new PromptopsError(
          'invalid',
          'duplicate_prompt',
          `${prompt.file}: prompt "${prompt.content.name}" is also defined by ${other.file}`,
          {
            issues: [{ path: 'name', message: `prompt "${prompt.content.name}" is also defined by ${other.file}` }],
            fix: 'give each prompt one file: rename one of them or change its name:',
            details: { file: prompt.file, otherFile: other.file },
          },
        ),
      });
    } else {
      byName.set(prompt.content.name, prompt);
      prompts.push(prompt);
    }
  }
  return { prompts, failures };
};

/**
 * Reads and validates every file before anything is sent: if any is invalid (or two files define one
 * prompt), the whole set is refused with every problem listed, so a push is never half-done.
 */
export const loadPromptFiles = async (
  refs: readonly PromptFileRef[],
  /** What the caller did not do because of the failures, for the summary line. */
  nothing = 'nothing was pushed',
): Promise<LoadedPrompt[]> => {
  const { prompts, failures } = await readPromptFiles(refs);
  if (failures.length > 0) {
    throw combine(
      failures.map((failure) => failure.error),
      refs.length,
      nothing,
    );
  }
  return prompts;
};

const combine = (failures: readonly PromptopsError[], total: number, nothing: string): PromptopsError => {
  const files = failures.map((failure) => ({
    file: typeof failure.details?.file === 'string' ? failure.details.file : undefined,
    code: failure.code,
    message: failure.message,
    issues: failure.issues ?? [],
  }));
  // Each issue carries its file, so one flat list still says where every problem is.
  const issues: (FieldIssue & { file?: string })[] = files.flatMap((entry) =>
    entry.issues.map((issue) => ({
      ...(entry.file === undefined ? {} : { file: entry.file }),
      path: issue.path,
      message: issue.message,
    })),
  );
  const summary = `${failures.length} of ${total} prompt file${total === 1 ? '' : 's'} invalid; ${nothing}`;
  const first = failures[0];
  return new PromptopsError(
    'invalid',
    failures.length === 1 && first !== undefined ? first.code : 'invalid_prompt_files',
    `${failures.map((failure) => failure.message).join('\n')}\n${summary}`,
    {
      issues,
      fix:
        failures.length === 1 && first?.fix !== undefined
          ? first.fix
          : 'correct the files listed above, then run the command again',
      details: { files },
    },
  );
};

/**
 * Writes through a temporary file and a rename, so a reader (or a crash) never sees half a file. The
 * temporary name does not end in .prompt.yaml, so discovery never picks it up.
 */
export const writeFileAtomic = async (path: string, text: string): Promise<void> => {
  await mkdir(dirname(path), { recursive: true });
  const temporary = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  await writeFile(temporary, text);
  try {
    await rename(temporary, path);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
};
