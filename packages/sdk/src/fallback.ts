import { PromptopsError } from '@promptops/core/errors';
import { promptSha, validatePromptContent, type PromptContent } from '@promptops/core/render';
import {
  formatLockfile,
  lockedOverrides,
  parseLockfile,
  parseRef,
  resolveFromSnapshot,
  type Lockfile,
  type Resolution,
  type Snapshot,
  type SnapshotOverride,
  type SnapshotPrompt,
  type SnapshotVersion,
} from '@promptops/core/resolve';
import { nodeFs } from './node-fs.js';
import { dict } from './snapshot-store.js';

/**
 * What the client serves when the registry has nothing for a request: a lockfile's embedded contents
 * (`promptops lock --embed`), then in-code defaults. A lock entry serves requests for the label it was
 * locked from; an entry locked by version or sha (label null) serves any label, since it is what this
 * build ships. In-code defaults serve any label, and a pin only when it names their sha. A lock entry's
 * tenant overrides (verified by parseLockfile) serve those tenants their effective prompt; in-code defaults
 * have none.
 */

export interface FallbackOptions {
  /** A path to `promptops.lock` (read at `ready()`, Node only) or a parsed `Lockfile`. */
  readonly lockfile?: string | Lockfile;
  /** Prompt contents keyed by name, used when neither the registry nor the lockfile has the prompt. */
  readonly prompts?: Readonly<Record<string, PromptContent>>;
}

export interface Fallback {
  readonly releaseSha: string | null;
  /** The lockfile's embedded contents as a snapshot (labels as locked). */
  readonly lock: Snapshot;
  /** Lock entries locked without a label: they answer any label. */
  readonly unlabelled: ReadonlyMap<string, SnapshotVersion>;
  readonly defaults: ReadonlyMap<string, SnapshotVersion>;
  /** Names of lock entries without embedded content (they cannot be served). */
  readonly withoutContent: readonly string[];
  /** Where the lockfile came from (its path, or `fallback.lockfile` for an object); null without one. */
  readonly lockfile: string | null;
}

export const EMPTY_FALLBACK: Fallback = {
  releaseSha: null,
  lock: { project: '', cursor: 0, prompts: dict<SnapshotPrompt>() },
  unlabelled: new Map(),
  defaults: new Map(),
  withoutContent: [],
  lockfile: null,
};

/** In-code defaults, validated like a push would be: a broken default is a programming error, thrown at once. */
export const defaultsFrom = (prompts: Readonly<Record<string, PromptContent>> = {}): Map<string, SnapshotVersion> => {
  const defaults = new Map<string, SnapshotVersion>();
  for (const [name, input] of Object.entries(prompts)) {
    const content = validatePromptContent(input, `fallback.prompts['${name}']`);
    if (content.name !== name) {
      throw new PromptopsError('invalid', 'invalid_options', `fallback.prompts['${name}'] is named '${content.name}'`, {
        fix: 'key each default by its content name',
      });
    }
    // Version 0: an in-code default was never pushed, so it has no registry version number.
    defaults.set(name, Object.freeze({ version: 0, sha: promptSha(content), content: Object.freeze(content) }));
  }
  return defaults;
};

/** A lockfile object given in code is verified like one read from disk. */
export const verifyLockfile = (lock: Lockfile, what = 'fallback.lockfile'): Lockfile =>
  parseLockfile(formatLockfile(lock), what);

/** Reads and verifies a lockfile from disk; node:fs is imported only here, so other runtimes load the SDK. */
export const readLockfile = async (path: string): Promise<Lockfile> => {
  const { fs } = await nodeFs('fallback.lockfile as a path');
  let text: string;
  try {
    text = await fs.readFile(path, 'utf8');
  } catch (error) {
    throw new PromptopsError(
      'invalid',
      'lockfile_unreadable',
      `cannot read lockfile ${path}: ${(error as Error).message}`,
      {
        fix: 'check fallback.lockfile; generate it with `promptops lock --embed`',
      },
    );
  }
  return parseLockfile(text, path);
};

export const buildFallback = (
  lock: Lockfile | undefined,
  defaults: ReadonlyMap<string, SnapshotVersion>,
  origin = 'fallback.lockfile',
): Fallback => {
  const prompts = dict<SnapshotPrompt>();
  const unlabelled = new Map<string, SnapshotVersion>();
  const withoutContent: string[] = [];
  for (const [name, entry] of Object.entries(lock?.prompts ?? {})) {
    if (entry.content === undefined) {
      withoutContent.push(name);
      continue;
    }
    const version: SnapshotVersion = Object.freeze({ version: entry.version, sha: entry.sha, content: entry.content });
    const labels = dict<string>();
    if (entry.label === null) unlabelled.set(name, version);
    else labels[entry.label] = entry.sha;
    const versions = dict<SnapshotVersion>();
    versions[entry.sha] = version;
    // A record without a prototype: a tenant named like `constructor` is just a name.
    const overrides = lockedOverrides(entry, () => dict<SnapshotOverride>());
    prompts[name] = { labels, versions, ...(overrides === undefined ? {} : { overrides }) };
  }
  return {
    releaseSha: lock?.releaseSha ?? null,
    lock: { project: '', cursor: 0, prompts },
    unlabelled,
    defaults,
    withoutContent,
    lockfile: lock === undefined ? null : origin,
  };
};

/** Why the fallback cannot serve `name` for `label` (or `ref`): one clause of an error message. */
export const fallbackMiss = (fallback: Fallback, name: string, label: string, ref: string | undefined): string => {
  if (fallback.lockfile === null) return 'there is no lockfile to fall back on (fallback.lockfile)';
  const lockfile = `the lockfile ${fallback.lockfile}`;
  if (fallback.withoutContent.includes(name)) return `${lockfile} names '${name}' without its content`;
  const entry = Object.hasOwn(fallback.lock.prompts, name) ? fallback.lock.prompts[name] : undefined;
  if (entry === undefined) return `${lockfile} has no entry for '${name}'`;
  if (ref !== undefined) return `${lockfile} does not hold ${name}@${ref}`;
  const labels = Object.keys(entry.labels).sort();
  return `${lockfile} pins '${name}' for ${labels.join(', ') || 'no label'} only, not ${label}`;
};

const asResolution = (name: string, v: SnapshotVersion, label: string | null): Resolution => ({
  name,
  version: v.version,
  sha: v.sha,
  label,
  content: v.content,
  variant: 'base',
  rolloutId: null,
  shadow: null,
});

/** Resolves by label (`ref` undefined) or by a ref (`v17`, sha prefix, label) against the fallback. */
export const resolveFallback = (
  fallback: Fallback,
  name: string,
  label: string,
  ref: string | undefined,
): Resolution | undefined => {
  const fromLock = resolveFromSnapshot(fallback.lock, ref === undefined ? name : `${name}@${ref}`, { label });
  if (fromLock !== undefined) return fromLock;
  const parsed = ref === undefined ? undefined : parseRef(ref);
  for (const source of [fallback.unlabelled, fallback.defaults]) {
    const version = source.get(name);
    if (version === undefined) continue;
    if (parsed === undefined) return asResolution(name, version, label);
    if (parsed.kind === 'label') return asResolution(name, version, parsed.label);
    if (parsed.kind === 'sha' ? version.sha.startsWith(parsed.prefix) : parsed.version === version.version) {
      return asResolution(name, version, null);
    }
  }
  return undefined;
};
