import { readdir, readFile, stat } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import {
  OVERRIDES_DIR,
  PromptopsError,
  isOverrideFile,
  overrideTargetFromPath,
  parseOverrideFile,
  type OverrideFile,
} from '@promptops/core';
import { ApiError, type ApiClient } from './api-client.js';
import { displayPath, fileError } from './files.js';

/**
 * Prompts as code for tenant overrides: `<prompts folder>/overrides/<tenant>/<name>.override.yaml`
 * (core's override-file.ts has the format). Found under the default prompt folders, or among the files
 * and folders named on the command line.
 */

export interface OverrideFileRef {
  readonly file: string;
  readonly absolutePath: string;
  /** Tenant and prompt from the path; null when the path does not name them (reported as a failure). */
  readonly target: { readonly tenant: string; readonly name: string } | null;
  /** Why `target` is null. */
  readonly pathError?: PromptopsError;
}

export interface LoadedOverride extends OverrideFileRef {
  readonly target: { readonly tenant: string; readonly name: string };
  readonly content: OverrideFile;
}

export interface OverrideFileFailure {
  readonly ref: OverrideFileRef;
  readonly error: PromptopsError;
}

const SKIPPED_DIRS = new Set(['node_modules']);

const walk = async (dir: string, out: string[]): Promise<void> => {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (!entry.name.startsWith('.') && !SKIPPED_DIRS.has(entry.name)) await walk(path, out);
    } else if (isOverrideFile(entry.name)) {
      out.push(path);
    }
  }
};

/**
 * The path below the `overrides` folder: the one right inside a prompt folder when the file is in one,
 * else the nearest `overrides` folder above the tenant's.
 */
const relativeToOverrides = (absolutePath: string, roots: readonly string[]): string | null => {
  for (const root of roots) {
    const rel = relative(join(root, OVERRIDES_DIR), absolutePath);
    if (rel !== '' && !rel.startsWith('..') && !isAbsolute(rel)) return rel.split(sep).join('/');
  }
  const parts = absolutePath.split(sep);
  const at = parts.lastIndexOf(OVERRIDES_DIR, parts.length - 3);
  return at < 0 ? null : parts.slice(at + 1).join('/');
};

const refOf = (cwd: string, absolutePath: string, roots: readonly string[]): OverrideFileRef => {
  const file = displayPath(cwd, absolutePath);
  const rel = relativeToOverrides(absolutePath, roots);
  try {
    // Outside an overrides folder, the bare file name gives no tenant: refused with the layout to use.
    return { file, absolutePath, target: overrideTargetFromPath(rel ?? file.split('/').pop() ?? file, file) };
  } catch (error) {
    if (!(error instanceof PromptopsError)) throw error;
    return { file, absolutePath, target: null, pathError: error };
  }
};

/**
 * Override files under `paths` (files named directly, or folders walked), or with no paths under each
 * prompt folder's `overrides/`; a missing folder holds none. Sorted by file.
 */
export const discoverOverrideFiles = async (
  paths: readonly string[],
  cwd: string,
  roots: readonly string[],
): Promise<OverrideFileRef[]> => {
  const found = new Set<string>();
  const targets = paths.length === 0 ? roots.map((root) => join(resolve(cwd, root), OVERRIDES_DIR)) : paths;
  for (const target of targets) {
    const absolute = resolve(cwd, target);
    const info = await stat(absolute).catch(() => undefined);
    if (info === undefined) continue;
    if (info.isDirectory()) {
      const files: string[] = [];
      await walk(absolute, files);
      for (const file of files) found.add(file);
    } else if (isOverrideFile(absolute)) {
      found.add(absolute);
    }
  }
  const absoluteRoots = roots.map((root) => resolve(cwd, root));
  return [...found].sort().map((path) => refOf(cwd, path, absoluteRoots));
};

/** Reads and checks every file, collecting failures; two files for one (tenant, prompt) are a failure. */
export const readOverrideFiles = async (
  refs: readonly OverrideFileRef[],
): Promise<{ overrides: LoadedOverride[]; failures: OverrideFileFailure[] }> => {
  const overrides: LoadedOverride[] = [];
  const failures: OverrideFileFailure[] = [];
  const seen = new Map<string, string>();
  for (const ref of refs) {
    if (ref.target === null) {
      failures.push({ ref, error: ref.pathError! });
      continue;
    }
    try {
      const text = await readFile(ref.absolutePath, 'utf8');
      const content = parseOverrideFile(text, { file: ref.file, ...ref.target });
      const key = `${ref.target.tenant}\u0000${ref.target.name}`;
      const other = seen.get(key);
      if (other !== undefined) {
        throw new PromptopsError(
          'invalid',
          'invalid_override',
          `${ref.file}: tenant ${ref.target.tenant}'s override of "${ref.target.name}" is also defined by ${other}`,
          {
            issues: [{ path: '(root)', message: `also defined by ${other}` }],
            fix: 'keep one file per tenant and prompt',
            details: { file: ref.file },
          },
        );
      }
      seen.set(key, ref.file);
      overrides.push({ ...ref, target: ref.target, content });
    } catch (error) {
      failures.push({
        ref,
        error: fileError(ref.file, error),
      });
    }
  }
  return { overrides, failures };
};

/** Where pull writes a tenant's override of `name` when no file holds it yet. */
export const overrideFilePath = (dir: string, tenant: string, name: string): string =>
  join(dir, OVERRIDES_DIR, tenant, ...`${name}.override.yaml`.split('/'));

/** A pinned base as a file writes it (`v3`), from its sha. */
export const baseRefOf = async (client: ApiClient, name: string, baseSha: string | null): Promise<string | null> =>
  baseSha === null ? null : `v${(await client.getVersion(name, baseSha)).version}`;

/** The sha a file's `base` ref names, or null when it follows the label. */
export const baseShaOf = async (client: ApiClient, name: string, base: string | null): Promise<string | null> => {
  if (base === null) return null;
  try {
    return (await client.getVersion(name, base)).sha;
  } catch (error) {
    if (error instanceof ApiError && (error.code === 'version_not_found' || error.code === 'invalid_ref')) {
      throw new PromptopsError('invalid', 'invalid_override', `base ${base}: ${error.message}`, {
        issues: [{ path: 'base', message: error.message }],
        fix: `pin a version "${name}" has (v3 or a sha prefix), or remove base to follow the label`,
      });
    }
    throw error;
  }
};
