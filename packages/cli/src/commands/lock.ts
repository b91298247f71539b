import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import {
  PromptopsError,
  createLockfile,
  formatIssues,
  formatLockfile,
  parseLockfile,
  promptSha,
  shortSha,
  type FieldIssue,
  type LockEntry,
  type LockOverride,
} from '@promptops/core';
import type { ApiClient } from '../api-client.js';
import { mapInOrder } from '../concurrency.js';
import { labelArg, type CommandContext } from '../context.js';
import { discoverPromptFiles, loadPromptFiles, writeFileAtomic, type LoadedPrompt } from '../files.js';
import { overrideApi } from '../override-api.js';

/**
 * `promptops lock`: pins each prompt to what a label serves now, in `promptops.lock` (core's format:
 * sorted, canonical, so re-locking an unchanged registry rewrites nothing). The prompts are those of
 * the local prompt files, or every prompt with the label when there are none. `--embed` adds each
 * version's content, which the SDK serves when the server is unreachable. Each tenant's override of the
 * label is pinned with the prompt (its pinned base's content too with `--embed`), so the SDK's fallback
 * serves a tenant its own effective prompt.
 */

export interface LockedPrompt {
  readonly name: string;
  readonly version: number;
  readonly sha: string;
  readonly label: string;
  /** The local file of this prompt, if any. */
  readonly file: string | null;
  /** Whether that file's content is the pinned version (null without a file); `check` fails when not. */
  readonly fileMatches: boolean | null;
  /** The tenants' overrides pinned with it; absent when none. */
  readonly overrides?: readonly { readonly tenant: string; readonly version: number; readonly sha: string }[];
}

/** Each tenant's current override of `name` that serves `label`, as the lock pins it. */
const lockOverrides = async (
  client: ApiClient,
  name: string,
  label: string,
  embed: boolean,
): Promise<Record<string, LockOverride> | undefined> => {
  const records = (await overrideApi(client).list(name)).filter((r) => r.label === label);
  if (records.length === 0) return undefined;
  const out: Record<string, LockOverride> = {};
  for (const r of records) {
    const base = r.baseSha === null ? null : await client.getVersion(name, r.baseSha);
    out[r.tenant] = {
      version: r.version,
      sha: r.sha,
      label: r.label,
      override: r.override,
      base:
        base === null ? null : { version: base.version, sha: base.sha, ...(embed ? { content: base.content } : {}) },
    };
  }
  return out;
};

const readText = async (path: string): Promise<string | undefined> => {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
};

export const registerLock = (program: Command, ctx: CommandContext): void => {
  program
    .command('lock')
    .description('pin each prompt to the version a label serves now, in promptops.lock (prints the release sha)')
    .option('-l, --label <label>', 'the label whose versions to pin', 'production')
    .option('--embed', "embed each version's content (the SDK's fallback when the server is unreachable)")
    .option('-o, --out <file>', 'where to write (default: promptops.yaml lock, else promptops.lock)')
    .action(async (options: { label: string; embed?: boolean; out?: string }, command: Command) => {
      const label = labelArg(options.label);
      const embed = options.embed === true;
      const out = ctx.output(command);
      const target = await ctx.lockPath(command, options.out);
      const dirs = await ctx.promptDirs(command);
      // Names come from the files, so every file must parse (as for push).
      const local = await loadPromptFiles(
        await discoverPromptFiles([], ctx.io.cwd, { defaults: dirs, roots: dirs, allowEmpty: true }),
        'nothing was locked',
      );
      const client = await ctx.client(command);
      const remote = new Map((await client.listPrompts()).map((p) => [p.name, p]));
      const byName = new Map<string, LoadedPrompt>(local.map((p) => [p.content.name, p]));

      let names: string[];
      if (local.length > 0) {
        names = [...byName.keys()];
        const issues: FieldIssue[] = [];
        for (const name of names) {
          const item = remote.get(name);
          if (item === undefined) issues.push({ path: name, message: 'not in the registry' });
          else if (item.labels[label] === undefined) issues.push({ path: name, message: `label ${label} is not set` });
        }
        if (issues.length > 0) {
          throw new PromptopsError(
            'invalid',
            'lock_incomplete',
            `cannot lock ${label}: ${issues.length} of ${names.length} prompt${names.length === 1 ? '' : 's'} have no version to pin; nothing was written\n${formatIssues(issues)}`,
            {
              issues,
              fix: `push the new prompts and promote a version of each to ${label} (promptops promote NAME vN --label ${label}), then lock again`,
            },
          );
        }
      } else {
        names = [...remote.values()].filter((p) => p.labels[label] !== undefined).map((p) => p.name);
        if (names.length === 0) {
          throw new PromptopsError(
            'invalid',
            'nothing_to_lock',
            `no prompt files here and no prompt has the label ${label}`,
            {
              fix: `promote versions to ${label} first, or lock another label with --label`,
            },
          );
        }
      }

      const pinned = names.map((name) => ({ name, ...remote.get(name)!.labels[label]! }));
      // The content is fetched by the full sha just read, so a label moving meanwhile cannot mix versions.
      const contents = embed
        ? await mapInOrder(pinned, async (p) => (await client.getVersion(p.name, p.sha)).content)
        : undefined;
      const overrides = await mapInOrder(pinned, (p) => lockOverrides(client, p.name, label, embed));
      const entries: Record<string, LockEntry> = Object.fromEntries(
        pinned.map((p, index) => [
          p.name,
          {
            sha: p.sha,
            version: p.version,
            label,
            ...(overrides[index] === undefined ? {} : { overrides: overrides[index] }),
            ...(contents === undefined ? {} : { content: contents[index]! }),
          },
        ]),
      );
      const lock = createLockfile(entries);
      const text = formatLockfile(lock);
      parseLockfile(text, target.display); // what check and the SDK will do with it
      const changed = (await readText(target.path)) !== text;
      if (changed) await writeFileAtomic(target.path, text);

      const prompts: LockedPrompt[] = Object.entries(lock.prompts).map(([name, entry]) => {
        const file = byName.get(name);
        return {
          name,
          version: entry.version,
          sha: entry.sha,
          label,
          file: file?.file ?? null,
          fileMatches: file === undefined ? null : promptSha(file.content) === entry.sha,
          ...(entry.overrides === undefined
            ? {}
            : {
                overrides: Object.entries(entry.overrides)
                  .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
                  .map(([tenant, o]) => ({ tenant, version: o.version, sha: o.sha })),
              }),
        };
      });
      const differing = prompts.filter((p) => p.fileMatches === false);
      for (const p of differing) {
        out.note(
          `note: ${p.file} is not ${label} v${p.version} (${shortSha(p.sha)}); \`promptops check\` reports it until ${label} serves the file's content or the file is pulled back (promptops pull ${p.name} --label ${label})`,
        );
      }
      if (out.json) {
        out.data({ file: target.display, label, releaseSha: lock.releaseSha, changed, embed, prompts });
        return;
      }
      const c = out.colors;
      out.table(
        prompts.map((p) => [
          c.bold(p.name),
          `v${p.version}`,
          c.yellow(shortSha(p.sha)),
          p.overrides === undefined ? '' : `${p.overrides.length} override${p.overrides.length === 1 ? '' : 's'}`,
          p.fileMatches === false ? c.yellow('file differs') : '',
        ]),
      );
      const count = `${prompts.length} prompt${prompts.length === 1 ? '' : 's'} pinned to ${label}`;
      out.line(
        `${changed ? `wrote ${target.display}` : `${target.display} unchanged`}: ${count}, release ${c.yellow(lock.releaseSha)}`,
      );
    });
};
