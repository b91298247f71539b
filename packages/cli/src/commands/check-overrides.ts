import {
  PromptopsError,
  checkOverride,
  overrideSha,
  shortSha,
  type Lockfile,
  type PromptContent,
} from '@promptops/core';
import type { LoadedPrompt } from '../files.js';
import { discoverOverrideFiles, readOverrideFiles, type OverrideFileFailure } from '../override-files.js';

/** One problem `promptops check` reports: the file, the field and the fix. */
export interface CheckProblem {
  /** The prompt file, or the lock file for problems of the lock itself. */
  readonly file: string;
  readonly name: string | null;
  /** The field, e.g. `messages[1].content` or `variables.tone`; null when the whole file is meant. */
  readonly path: string | null;
  readonly code: string;
  readonly message: string;
  readonly fix: string;
}

/**
 * `check` for override files, offline: each file's fields (core's parseOverrideFile, the tenant from its
 * folder), its slots and variables against the prompt's file (core's checkOverride: an unknown slot names
 * the slots the prompt has), and, with a lock, whether the lock pins this override. A lock's override
 * without a file is no problem: tenants' overrides may be kept in the registry only (self-service).
 */

export interface CheckedOverride {
  readonly file: string;
  readonly name: string;
  readonly tenant: string | null;
  /** The override sha, or null when the file is invalid. */
  readonly sha: string | null;
}

const problemsOf = ({ ref, error }: OverrideFileFailure): CheckProblem[] => {
  const name = ref.target?.name ?? null;
  const fix = error.fix ?? 'correct the file';
  const strip = (m: string) => (m.startsWith(`${ref.file}: `) ? m.slice(ref.file.length + 2) : m);
  if (error.issues === undefined || error.issues.length === 0) {
    return [{ file: ref.file, name, path: null, code: error.code, message: strip(error.message), fix }];
  }
  return error.issues.map((issue) => ({
    file: ref.file,
    name,
    path: issue.path === '(yaml)' || issue.path === '(root)' ? null : issue.path,
    code: issue.path === '(yaml)' ? 'invalid_yaml' : error.code,
    message: issue.path === '(yaml)' ? `YAML: ${issue.message}` : issue.message,
    fix,
  }));
};

/** What a base ref in a file names in a lock's pinned base (`v3` or a sha prefix). */
const sameBase = (ref: string | null, base: { version: number; sha: string } | null): boolean =>
  ref === null || base === null
    ? ref === base
    : ref === `v${base.version}` || (ref.length >= 7 && base.sha.startsWith(ref.toLowerCase()));

export const checkOverrideFiles = async (
  paths: readonly string[],
  cwd: string,
  dirs: readonly string[],
  prompts: readonly LoadedPrompt[],
  lock: { readonly lock: Lockfile; readonly file: string } | undefined,
): Promise<{ problems: CheckProblem[]; files: CheckedOverride[] }> => {
  const refs = await discoverOverrideFiles(paths, cwd, dirs);
  const { overrides, failures } = await readOverrideFiles(refs);
  const problems = failures.flatMap(problemsOf);
  const byName = new Map<string, PromptContent>(prompts.map((p) => [p.content.name, p.content]));
  for (const o of overrides) {
    const { tenant, name } = o.target;
    const { override, label, base } = o.content;
    // Own properties only: a prompt or tenant named like `constructor` is just a name.
    const prompts = lock?.lock.prompts;
    const entry = prompts !== undefined && Object.hasOwn(prompts, name) ? prompts[name] : undefined;
    const locked =
      entry?.overrides !== undefined && Object.hasOwn(entry.overrides, tenant) ? entry.overrides[tenant] : undefined;
    // A pinned base is checked against the lock's copy of it when embedded, else the prompt's file.
    const against =
      base !== null && locked?.base?.content !== undefined && sameBase(base, locked.base)
        ? locked.base.content
        : base === null
          ? byName.get(name)
          : undefined;
    if (against === undefined && base === null) {
      problems.push({
        file: o.file,
        name,
        path: null,
        code: 'prompt_not_found',
        message: `no prompt file defines "${name}", so tenant ${tenant}'s override cannot be checked`,
        fix: `add prompts/${name}.prompt.yaml (promptops pull ${name}), or move the file under overrides/${tenant}/ after the prompt's name`,
      });
    } else if (against !== undefined) {
      try {
        checkOverride(against, override);
      } catch (error) {
        if (!(error instanceof PromptopsError)) throw error;
        for (const issue of error.issues ?? [{ path: '', message: error.message }]) {
          problems.push({
            file: o.file,
            name,
            path: issue.path === '' ? null : issue.path,
            code: error.code,
            message:
              error.code === 'override_unknown_slot'
                ? `${issue.message}; its slots: ${Object.keys(against.slots).sort().join(', ') || 'none'}`
                : issue.message,
            fix: error.fix ?? 'override only what the prompt declares',
          });
        }
      }
    }
    if (lock !== undefined && entry !== undefined && entry.label === label) {
      const sha = overrideSha(override);
      if (locked === undefined) {
        problems.push({
          file: o.file,
          name,
          path: null,
          code: 'stale_lock',
          message: `stale lock: ${lock.file} has no override of "${name}" for tenant ${tenant} (the file was added after locking)`,
          fix: 'push the file, then run `promptops lock`; or remove the file',
        });
      } else if (locked.sha !== sha || locked.label !== label || !sameBase(base, locked.base)) {
        problems.push({
          file: o.file,
          name,
          path: null,
          code: 'stale_lock',
          message: `stale lock: the override (${shortSha(sha)}) changed since locking; ${lock.file} pins tenant ${tenant}'s v${locked.version} (${shortSha(locked.sha)})`,
          fix: `push the file, then run \`promptops lock\`; to restore the locked override, run \`promptops pull ${name}\``,
        });
      }
    }
  }
  const files: CheckedOverride[] = refs.map((ref) => {
    const loaded = overrides.find((o) => o.absolutePath === ref.absolutePath);
    return {
      file: ref.file,
      name: ref.target?.name ?? ref.file,
      tenant: ref.target?.tenant ?? null,
      sha: loaded === undefined ? null : overrideSha(loaded.content.override),
    };
  });
  return { problems, files };
};
