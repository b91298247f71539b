import * as z from 'zod';
import { canonicalJson, contentSha, SHA_PATTERN } from './canonical.js';
import { PromptopsError, formatIssues } from './errors.js';
import { TENANT_PATTERN, overrideSha, parseOverride, type PromptOverride } from './overrides.js';
import { promptSha } from './prompt.js';
import { promptContentSchema, zodIssues, type PromptContent } from './schema.js';
import type { Snapshot, SnapshotOverride, SnapshotVersion } from './snapshot.js';

/**
 * `promptops.lock`: which version of each prompt a build ships with. JSON with a fixed key order so a
 * re-lock without changes is byte-identical. The release sha identifies the whole set: sha256 of the
 * canonical JSON of `{ name: sha }`, so it changes exactly when any prompt's version does (embedding
 * content or not does not change it). A prompt with tenant overrides adds them to its part of the release
 * sha (`{ sha, overrides: { tenant: { sha, label, base } } }`), so a lock without overrides keeps its sha.
 */

export const LOCKFILE_NAME = 'promptops.lock';
export const LOCKFILE_VERSION = 1;

/** A pinned base version of an override; its content with `--embed`. */
export interface LockBase {
  readonly version: number;
  readonly sha: string;
  readonly content?: PromptContent;
}

/**
 * A tenant's override as locked: what the tenant's fallback applies to the entry's content (or to its
 * pinned base). The override itself is small and always present, so its sha is checked on every read.
 */
export interface LockOverride {
  readonly version: number;
  readonly sha: string;
  readonly label: string;
  readonly override: PromptOverride;
  /** The pinned base, or null: it follows the label (the entry's version). */
  readonly base: LockBase | null;
}

export interface LockEntry {
  readonly sha: string;
  readonly version: number;
  readonly label: string | null;
  /** Tenant -> its override of this prompt for the locked label; absent when no tenant has one. */
  readonly overrides?: Readonly<Record<string, LockOverride>>;
  /** Present with `promptops lock --embed`; the SDK serves it when the server is unreachable. */
  readonly content?: PromptContent;
}

export interface Lockfile {
  readonly lockfileVersion: typeof LOCKFILE_VERSION;
  readonly releaseSha: string;
  readonly prompts: Readonly<Record<string, LockEntry>>;
}

const shaField = (what: string) => z.string().regex(SHA_PATTERN, `${what} must be 64 hex characters`);

const lockOverrideSchema = z.strictObject({
  version: z.number().int().positive(),
  sha: shaField('sha'),
  label: z.string().min(1, 'label must name the label the override serves'),
  // Checked by core's parseOverride below, so the lockfile and the registry refuse the same overrides.
  override: z.unknown(),
  base: z
    .strictObject({
      version: z.number().int().positive(),
      sha: shaField('base.sha'),
      content: promptContentSchema.optional(),
    })
    .nullable(),
});

const lockfileSchema = z.strictObject({
  lockfileVersion: z.literal(LOCKFILE_VERSION, { error: `lockfileVersion must be ${LOCKFILE_VERSION}` }),
  releaseSha: z.string().regex(SHA_PATTERN, 'releaseSha must be 64 hex characters'),
  prompts: z.record(
    z.string(),
    z.strictObject({
      sha: z.string().regex(SHA_PATTERN, 'sha must be 64 hex characters'),
      version: z.number().int().positive(),
      label: z.string().nullable(),
      overrides: z
        .record(
          z.string().regex(TENANT_PATTERN, 'a tenant id is letters, digits, "_", "." and "-", at most 128'),
          lockOverrideSchema,
        )
        .optional(),
      content: promptContentSchema.optional(),
    }),
  ),
});

type ReleasePart = { readonly sha: string; readonly overrides?: Readonly<Record<string, LockOverride>> };

const releasePart = (entry: ReleasePart): unknown =>
  entry.overrides === undefined || Object.keys(entry.overrides).length === 0
    ? entry.sha
    : {
        sha: entry.sha,
        overrides: Object.fromEntries(
          Object.entries(entry.overrides).map(([tenant, o]) => [
            tenant,
            { sha: o.sha, label: o.label, base: o.base?.sha ?? null },
          ]),
        ),
      };

export const releaseShaOf = (prompts: Readonly<Record<string, ReleasePart>>): string =>
  contentSha(Object.fromEntries(Object.entries(prompts).map(([name, entry]) => [name, releasePart(entry)])));

const byKey = <V>(record: Readonly<Record<string, V>>): [string, V][] =>
  Object.entries(record).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));

const formatOverride = (o: LockOverride): unknown => ({
  version: o.version,
  sha: o.sha,
  label: o.label,
  override: JSON.parse(canonicalJson(o.override)) as unknown,
  base:
    o.base === null
      ? null
      : {
          version: o.base.version,
          sha: o.base.sha,
          ...(o.base.content === undefined ? {} : { content: JSON.parse(canonicalJson(o.base.content)) as unknown }),
        },
});

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
          ...(entry.overrides === undefined || Object.keys(entry.overrides).length === 0
            ? {}
            : {
                overrides: Object.fromEntries(byKey(entry.overrides).map(([tenant, o]) => [tenant, formatOverride(o)])),
              }),
          ...(entry.content === undefined ? {} : { content: JSON.parse(canonicalJson(entry.content)) as unknown }),
        },
      ]),
  );
  return `${JSON.stringify({ lockfileVersion: lock.lockfileVersion, releaseSha: lock.releaseSha, prompts }, null, 2)}\n`;
};

const tampered = (file: string, what: string): PromptopsError =>
  new PromptopsError('invalid', 'lockfile_tampered', `${file}: ${what}`, {
    fix: 'regenerate it with `promptops lock`',
  });

/** An override entry: a valid override that hashes to its sha, and a pinned base's content to the base's sha. */
const verifyOverride = (file: string, name: string, tenant: string, locked: LockOverride): PromptOverride => {
  let parsed: PromptOverride;
  try {
    parsed = parseOverride(locked.override, `${file}: tenant '${tenant}''s override of '${name}'`);
  } catch (error) {
    if (!(error instanceof PromptopsError)) throw error;
    throw new PromptopsError('invalid', 'invalid_lockfile', error.message, {
      ...(error.issues === undefined
        ? {}
        : {
            issues: error.issues.map((i) => ({ ...i, path: `prompts.${name}.overrides.${tenant}.override.${i.path}` })),
          }),
      fix: 'regenerate it with `promptops lock`',
    });
  }
  if (overrideSha(parsed) !== locked.sha) {
    throw tampered(
      file,
      `tenant '${tenant}''s override of '${name}' does not hash to its sha ${locked.sha.slice(0, 7)}`,
    );
  }
  const base = locked.base;
  if (base?.content !== undefined && (base.content.name !== name || promptSha(base.content) !== base.sha)) {
    throw tampered(
      file,
      `the pinned base of tenant '${tenant}''s override of '${name}' does not hash to its sha ${base.sha.slice(0, 7)}`,
    );
  }
  return parsed;
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
    for (const [tenant, locked] of Object.entries(entry.overrides ?? {})) {
      // The normalized override (same sha) is what resolution applies.
      (locked as { override: PromptOverride }).override = verifyOverride(file, name, tenant, locked);
    }
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

/**
 * An entry's overrides as a snapshot holds them (tenant -> override), or undefined without any. An
 * override pinned to a base whose content is not embedded is left out: the fallback cannot build its
 * effective prompt, and serves that tenant the shared prompt rather than guess.
 */
export const lockedOverrides = (
  entry: LockEntry,
  record: () => Record<string, SnapshotOverride> = () => ({}),
): Record<string, SnapshotOverride> | undefined => {
  const out = record();
  for (const [tenant, o] of Object.entries(entry.overrides ?? {})) {
    if (o.base !== null && o.base.content === undefined) continue;
    const base: SnapshotVersion | null =
      o.base === null ? null : { version: o.base.version, sha: o.base.sha, content: o.base.content! };
    out[tenant] = { version: o.version, sha: o.sha, label: o.label, override: o.override, base };
  }
  return Object.keys(out).length > 0 ? out : undefined;
};

/** A snapshot made of a lockfile's embedded contents (and its overrides): what the SDK serves as its fallback. */
export const snapshotFromLockfile = (lock: Lockfile, project = ''): Snapshot => ({
  project,
  cursor: 0,
  prompts: Object.fromEntries(
    Object.entries(lock.prompts)
      .filter(([, entry]) => entry.content !== undefined)
      .map(([name, entry]) => {
        const overrides = lockedOverrides(entry);
        return [
          name,
          {
            labels: entry.label === null ? {} : { [entry.label]: entry.sha },
            versions: { [entry.sha]: { version: entry.version, sha: entry.sha, content: entry.content! } },
            ...(overrides === undefined ? {} : { overrides }),
          },
        ];
      }),
  ),
});
