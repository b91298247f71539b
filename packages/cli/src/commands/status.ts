import type { Command } from 'commander';
import { promptSha, shortSha, type PromptListItem } from '@promptops/core';
import type { ApiClient } from '../api-client.js';
import { mapInOrder } from '../concurrency.js';
import { labelArg, type CommandContext } from '../context.js';
import { toErrorJson, type ErrorJson } from '../errors.js';
import { discoverPromptFiles, readPromptFiles, type LoadedPrompt } from '../files.js';
import type { Colors } from '../output.js';

/**
 * `promptops status`: how each local prompt file relates to the registry, like `git status`:
 * `new` (not in the registry), `head` (the file is the head version), `label` (it is what the label
 * serves, not the head), `modified` (neither; `version` says which older version it is, if any),
 * `remote-only` (in the registry, no local file) and `invalid` (the file does not parse).
 */

export type PromptState = 'new' | 'head' | 'label' | 'modified' | 'remote-only' | 'invalid';

interface Pointer {
  readonly version: number;
  readonly sha: string;
}

export interface StatusEntry {
  readonly name: string;
  readonly status: PromptState;
  readonly file: string | null;
  /** The local content's sha (null without a valid local file). */
  readonly sha: string | null;
  /** The registry version whose content the file is, or null when it is none of them. */
  readonly version: number | null;
  readonly head: Pointer | null;
  /** What the label serves, or null when the label is not set for this prompt. */
  readonly label: Pointer | null;
  readonly error?: ErrorJson;
}

const ORDER: readonly PromptState[] = ['invalid', 'modified', 'new', 'label', 'head', 'remote-only'];

const stateOf = async (
  client: ApiClient,
  prompt: LoadedPrompt,
  remote: PromptListItem | undefined,
  label: string,
): Promise<StatusEntry> => {
  const name = prompt.content.name;
  const sha = promptSha(prompt.content);
  const base = { name, file: prompt.file, sha };
  if (remote === undefined) return { ...base, status: 'new', version: null, head: null, label: null };
  const head = { version: remote.version, sha: remote.sha };
  const served = remote.labels[label];
  const labelPointer = served === undefined ? null : { version: served.version, sha: served.sha };
  const pointers = { head, label: labelPointer };
  if (sha === head.sha) return { ...base, status: 'head', version: head.version, ...pointers };
  if (labelPointer !== null && sha === labelPointer.sha) {
    return { ...base, status: 'label', version: labelPointer.version, ...pointers };
  }
  // Asking for the version by its full sha tells whether the file is some older version.
  const older = await client.findVersion(name, sha);
  return { ...base, status: 'modified', version: older?.version ?? null, ...pointers };
};

const detail = (entry: StatusEntry, label: string, c: Colors): string => {
  const at = (pointer: Pointer): string => `v${pointer.version} ${c.yellow(shortSha(pointer.sha))}`;
  const labelText =
    entry.label === null
      ? `${label} not set`
      : entry.label.sha === entry.head?.sha
        ? `${label} too`
        : `${label} ${at(entry.label)}`;
  switch (entry.status) {
    case 'new':
      return 'not in the registry';
    case 'head':
      return `head ${at(entry.head!)}, ${labelText}`;
    case 'label':
      return `${label} ${at(entry.label!)}, head is ${at(entry.head!)}`;
    case 'modified':
      return `${entry.version === null ? 'unpushed changes' : `is v${entry.version}`}; head ${at(entry.head!)}, ${labelText}`;
    case 'remote-only':
      return `no local file; head ${at(entry.head!)}, ${labelText}`;
    case 'invalid': {
      const issue = entry.error?.issues?.[0];
      return issue === undefined
        ? (entry.error?.message.split('\n')[0] ?? 'invalid')
        : `${issue.path}: ${issue.message}`;
    }
  }
};

const COLOR: Record<PromptState, keyof Pick<Colors, 'green' | 'red' | 'yellow' | 'dim' | 'cyan'>> = {
  new: 'green',
  head: 'dim',
  label: 'cyan',
  modified: 'yellow',
  'remote-only': 'dim',
  invalid: 'red',
};

export const registerStatus = (program: Command, ctx: CommandContext): void => {
  program
    .command('status')
    .description('compare local prompt files with the registry: new, head, label, modified, remote-only')
    .argument('[paths...]', 'prompt files or folders (default: promptops.yaml prompts, else prompts/)')
    .option('-l, --label <label>', 'the label to compare with', 'production')
    .action(async (paths: string[], options: { label: string }, command: Command) => {
      const label = labelArg(options.label);
      const out = ctx.output(command);
      const dirs = await ctx.promptDirs(command);
      const refs = await discoverPromptFiles(paths, ctx.io.cwd, { defaults: dirs, roots: dirs, allowEmpty: true });
      const { prompts, failures } = await readPromptFiles(refs);
      const client = await ctx.client(command);
      const remote = new Map((await client.listPrompts()).map((p) => [p.name, p]));

      const entries: StatusEntry[] = await mapInOrder(prompts, (prompt) =>
        stateOf(client, prompt, remote.get(prompt.content.name), label),
      );
      for (const { ref, error } of failures) {
        entries.push({
          name: 'content' in ref ? (ref as LoadedPrompt).content.name : ref.pathName,
          status: 'invalid',
          file: ref.file,
          sha: null,
          version: null,
          head: null,
          label: null,
          error: toErrorJson(error),
        });
      }
      // Prompts without a file are known only when the whole tree was read.
      if (paths.length === 0) {
        const local = new Set([...entries.map((e) => e.name), ...failures.map((f) => f.ref.pathName)]);
        for (const item of remote.values()) {
          if (local.has(item.name)) continue;
          const served = item.labels[label];
          entries.push({
            name: item.name,
            status: 'remote-only',
            file: null,
            sha: null,
            version: null,
            head: { version: item.version, sha: item.sha },
            label: served === undefined ? null : { version: served.version, sha: served.sha },
          });
        }
      }
      entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      if (failures.length > 0) ctx.fail();
      if (out.json) {
        out.data({ label, prompts: entries });
        return;
      }
      const c = out.colors;
      if (entries.length === 0) {
        out.line('no prompt files and no prompts in the registry');
        return;
      }
      out.table(
        entries.map((entry) => [
          c.bold(entry.name),
          c[COLOR[entry.status]](entry.status),
          detail(entry, label, c),
          entry.file ?? '',
        ]),
      );
      const counts = ORDER.map((state) => [state, entries.filter((e) => e.status === state).length] as const)
        .filter(([, n]) => n > 0)
        .map(([state, n]) => `${n} ${state}`);
      out.line(`${entries.length} prompt${entries.length === 1 ? '' : 's'}: ${counts.join(', ')}`);
    });
};
