import * as z from 'zod';
import { canonicalJson, contentSha, SHA_PATTERN } from './canonical.js';
import { PromptopsError, formatIssues } from './errors.js';
import { promptSha } from './prompt.js';
import { promptContentSchema, zodIssues, type PromptContent } from './schema.js';
import type { Snapshot } from './snapshot.js';

/**
 * `promptops.lock`: which version of each prompt a build ships with. JSON with a fixed key order so a
 * re-lock without changes is byte-identical. The release sha identifies the whole set: sha256 of the
 * canonical JSON of `{ name: sha }`, so it changes exactly when any prompt's version does (embedding
 * content or not does not change it).
 */

export const LOCKFILE_NAME = 'promptops.lock';
export const LOCKFILE_VERSION = 1;

export interface LockEntry {
  readonly sha: string;
  readonly version: number;
  readonly label: string | null;
  /** Present with `promptops lock --embed`; the SDK serves it when the server is unreachable. */
  readonly content?: PromptContent;
}

export interface Lockfile {
  readonly lockfileVersion: typeof LOCKFILE_VERSION;
  readonly releaseSha: string;
  readonly prompts: Readonly<Record<string, LockEntry>>;
}

const lockfileSchema = z.strictObject({
  lockfileVersion: z.literal(LOCKFILE_VERSION, { error: `lockfileVersion must be ${LOCKFILE_VERSION}` }),
  releaseSha: z.string().regex(SHA_PATTERN, 'releaseSha must be 64 hex characters'),
  prompts: z.record(
    z.string(),
    z.strictObject({
      sha: z.string().regex(SHA_PATTERN, 'sha must be 64 hex characters'),
      version: z.number().int().positive(),
      label: z.string().nullable(),
      content: promptContentSchema.optional(),
    }),
  ),
});

export const releaseShaOf = (prompts: Readonly<Record<string, { readonly sha: string }>>): string =>
  contentSha(Object.fromEntries(Object.entries(prompts).map(([name, entry]) => [name, entry.sha])));

export const createLockfile = (prompts: Readonly<Record<string, LockEntry>>): Lockfile => {
  const sorted = Object.fromEntries(Object.entries(prompts).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  return { lockfileVersion: LOCKFILE_VERSION, releaseSha: releaseShaOf(sorted), prompts: sorted };
};

/** Stable text: entries sorted by name, fields in a fixed order, content in canonical key order. */
export const formatLockfile = (lock: Lockfile): string => {
  const prompts = Object.fromEntries(
    Object.entries(lock.prompts)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([name, entry]) => [
        name,
        {
          sha: entry.sha,
          version: entry.version,
          label: entry.label,
          ...(entry.content === undefined ? {} : { content: JSON.parse(canonicalJson(entry.content)) as unknown }),
        },
      ]),
  );
  return `${JSON.stringify({ lockfileVersion: lock.lockfileVersion, releaseSha: lock.releaseSha, prompts }, null, 2)}\n`;
};

/**
 * Parses and verifies a lockfile: the schema, every embedded content against its sha, and the release
 * sha against the entries. A lockfile that fails any check is refused whole.
 */
export const parseLockfile = (text: string, file = LOCKFILE_NAME): Lockfile => {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    throw new PromptopsError('invalid', 'invalid_lockfile', `${file}: not valid JSON: ${(error as Error).message}`, {
      fix: 'regenerate it with `promptops lock`',
    });
  }
  const parsed = lockfileSchema.safeParse(data);
  if (!parsed.success) {
    const issues = zodIssues(parsed.error);
    throw new PromptopsError('invalid', 'invalid_lockfile', `${file}: invalid lockfile:\n${formatIssues(issues)}`, {
      issues,
      fix: 'regenerate it with `promptops lock`',
    });
  }
  const lock = parsed.data as Lockfile;
  for (const [name, entry] of Object.entries(lock.prompts)) {
    if (entry.content !== undefined && (entry.content.name !== name || promptSha(entry.content) !== entry.sha)) {
      throw new PromptopsError(
        'invalid',
        'lockfile_tampered',
        `${file}: the embedded content of '${name}' does not hash to its sha ${entry.sha.slice(0, 7)}`,
        {
          fix: 'regenerate it with `promptops lock --embed`',
        },
      );
    }
  }
  if (releaseShaOf(lock.prompts) !== lock.releaseSha) {
    throw new PromptopsError('invalid', 'lockfile_tampered', `${file}: releaseSha does not match the entries`, {
      fix: 'regenerate it with `promptops lock`',
    });
  }
  return lock;
};

/** A snapshot made of a lockfile's embedded contents: what the SDK serves as its fallback. */
export const snapshotFromLockfile = (lock: Lockfile, project = ''): Snapshot => ({
  project,
  cursor: 0,
  prompts: Object.fromEntries(
    Object.entries(lock.prompts)
      .filter(([, entry]) => entry.content !== undefined)
      .map(([name, entry]) => [
        name,
        {
          labels: entry.label === null ? {} : { [entry.label]: entry.sha },
          versions: { [entry.sha]: { version: entry.version, sha: entry.sha, content: entry.content! } },
        },
      ]),
  ),
});
