import { resolve } from 'node:path';
import { Option, type Command } from 'commander';
import {
  PromptopsError,
  formatPromptFile,
  parseNameRef,
  parsePromptFile,
  promptSha,
  shortSha,
  formatRef,
  type PromptContent,
} from '@promptops/core';
import { ApiError, isFatal, type ApiClient } from '../api-client.js';
import { mapInOrder } from '../concurrency.js';
import { labelArg, promptNameArg, refArg, type CommandContext } from '../context.js';
import { UsageError, parseArg, toErrorJson, type ErrorJson } from '../errors.js';
import {
  DEFAULT_PROMPTS_DIR,
  discoverPromptFiles,
  displayPath,
  readPromptFiles,
  writeFileAtomic,
  type LoadedPrompt,
  type PromptFileRef,
} from '../files.js';
import type { Output } from '../output.js';
import { describeOverridePull, pullOverrides, readOverrideTree, type OverridePullResult } from './pull-overrides.js';

/**
 * `promptops pull`: writes the registry's versions back to prompt files. A file whose content already
 * has the version's sha is never rewritten (whatever its YAML layout), so push then pull leaves a tree
 * byte-identical; a file with edits the registry does not have is kept unless --force. Each pulled
 * prompt's tenant overrides are written to `overrides/<tenant>/<name>.override.yaml` the same way.
 */

export type PullResult =
  | {
      readonly name: string;
      readonly status: 'created' | 'updated' | 'unchanged';
      readonly ref: string;
      readonly version: number;
      readonly sha: string;
      readonly file: string;
    }
  | {
      readonly name: string;
      readonly status: 'skipped';
      readonly ref: string;
      readonly version: number;
      readonly sha: string;
      readonly file: string;
      readonly error: ErrorJson;
    }
  | {
      readonly name: string;
      readonly status: 'error';
      readonly ref: string;
      readonly file: string | null;
      readonly error: ErrorJson;
    };

interface Target {
  readonly name: string;
  readonly ref: string;
}

interface LocalTree {
  /** Valid files by prompt name. */
  readonly byName: ReadonlyMap<string, LoadedPrompt>;
  /** Files that do not parse, by the name their path gives them. */
  readonly invalidByPathName: ReadonlyMap<string, PromptFileRef>;
  /** Every prompt file by absolute path, valid or not. */
  readonly byPath: ReadonlyMap<string, PromptFileRef | LoadedPrompt>;
}

const readTree = async (dirs: readonly string[], cwd: string): Promise<LocalTree> => {
  const refs = await discoverPromptFiles([], cwd, { defaults: dirs, roots: dirs, allowEmpty: true });
  const { prompts, failures } = await readPromptFiles(refs);
  const byPath = new Map<string, PromptFileRef | LoadedPrompt>(refs.map((ref) => [ref.absolutePath, ref]));
  for (const prompt of prompts) byPath.set(prompt.absolutePath, prompt);
  return {
    byName: new Map(prompts.map((p) => [p.content.name, p])),
    invalidByPathName: new Map(failures.filter((f) => !('content' in f.ref)).map((f) => [f.ref.pathName, f.ref])),
    byPath,
  };
};

/** The file text for a version; refuses to write anything that would not read back as the same sha. */
const fileText = (content: PromptContent, sha: string, file: string, pathName: string): string => {
  const text = formatPromptFile(content, { pathName });
  const back = parsePromptFile(text, { file, defaultName: pathName });
  if (promptSha(back) !== sha) {
    throw new PromptopsError(
      'internal',
      'format_not_stable',
      `${file}: the file format of ${content.name} does not read back as ${shortSha(sha)}; nothing was written`,
      { fix: 'report this as a bug, with the prompt content (promptops show --json)' },
    );
  }
  return text;
};

const localEdits = (
  base: { name: string; ref: string; version: number; sha: string; file: string },
  why: string,
): PullResult => ({
  ...base,
  status: 'skipped',
  error: {
    code: 'local_changes',
    message: `${base.file} ${why}; kept it`,
    fix: `push the file first (\`promptops push ${base.file}\`), or run pull --force to overwrite it`,
  },
});

const pullOne = async (
  client: ApiClient,
  target: Target,
  tree: LocalTree,
  options: { dir: string; cwd: string; force: boolean },
): Promise<PullResult> => {
  const { name, ref } = target;
  try {
    const version = await client.getVersion(name, ref);
    const local = tree.byName.get(name);
    const invalid = tree.invalidByPathName.get(name);
    const existing = local ?? invalid;
    const path = existing?.absolutePath ?? resolve(options.dir, `${name}.prompt.yaml`);
    const file = existing?.file ?? displayPath(options.cwd, path);
    const pathName = existing?.pathName ?? name;
    const base = { name, ref, version: version.version, sha: version.sha, file };

    if (local !== undefined) {
      const localSha = promptSha(local.content);
      if (localSha === version.sha) return { ...base, status: 'unchanged' };
      // Overwrite only what the registry can give back: the file's content is a version it has.
      if (!options.force && (await client.findVersion(name, localSha)) === undefined) {
        return localEdits(base, 'has changes that are not in the registry');
      }
    } else if (invalid !== undefined) {
      if (!options.force) {
        return localEdits(base, 'is not a valid prompt file (unsaved work?)');
      }
    } else {
      const other = tree.byPath.get(path);
      if (other !== undefined) {
        // The path is taken by a file that defines another prompt (its name: says so).
        const holds = 'content' in other ? (other as LoadedPrompt).content.name : other.pathName;
        return {
          name,
          status: 'error',
          ref,
          file,
          error: {
            code: 'path_taken',
            message: `${file} already holds prompt "${holds}"`,
            fix: `rename that file after its prompt, or pull into another folder with --dir`,
          },
        };
      }
    }
    await writeFileAtomic(path, fileText(version.content, version.sha, file, pathName));
    return { ...base, status: existing === undefined ? 'created' : 'updated' };
  } catch (error) {
    if (isFatal(error) || !(error instanceof ApiError)) throw error;
    return { name, status: 'error', ref, file: null, error: toErrorJson(error) };
  }
};

const describe = (result: PullResult, out: Output): string => {
  const c = out.colors;
  const name = c.bold(result.name);
  switch (result.status) {
    case 'created':
      return `${name}: ${c.green('created')} v${result.version} ${c.yellow(shortSha(result.sha))} ${result.file}`;
    case 'updated':
      return `${name}: ${c.green('updated')} v${result.version} ${c.yellow(shortSha(result.sha))} ${result.file}`;
    case 'unchanged':
      return `${name}: ${c.dim('unchanged')} v${result.version} ${c.yellow(shortSha(result.sha))} ${result.file}`;
    case 'skipped':
      return `${name}: ${c.red('skipped')} ${result.error.message}\n  fix: ${result.error.fix ?? ''}`;
    case 'error':
      return `${name}: ${c.red('error')} ${result.error.message}${result.error.fix === undefined ? '' : `\n  fix: ${result.error.fix}`}`;
  }
};

/** `NAME` or `NAME@REF` arguments; a plain name takes `fallback`. */
const targetsOf = (args: readonly string[], fallback: string): Target[] =>
  args.map((arg) => {
    if (!arg.includes('@')) return { name: promptNameArg(arg), ref: fallback };
    const parsed = parseArg(() => parseNameRef(arg));
    return { name: parsed.name, ref: formatRef(parsed.ref) };
  });

export const registerPull = (program: Command, ctx: CommandContext): void => {
  program
    .command('pull')
    .description("write the registry's versions to prompt files (only files whose content differs are written)")
    .argument('[names...]', 'prompts to pull, NAME or NAME@REF (default: every prompt the label is set for)')
    .addOption(
      new Option('-l, --label <label>', 'pull what this label serves (latest: the heads)').default('production'),
    )
    .addOption(
      new Option('--ref <ref>', 'pull this version of the named prompts: v17, a sha prefix or a label').conflicts(
        'label',
      ),
    )
    .option('--dir <dir>', 'folder for the files (default: the first promptops.yaml prompts folder, else prompts/)')
    .option('-f, --force', 'overwrite files with changes the registry does not have')
    .option('--no-overrides', "skip the tenants' override files")
    .action(
      async (
        args: string[],
        options: { label: string; ref?: string; dir?: string; force?: boolean; overrides: boolean },
        command: Command,
      ) => {
        const out = ctx.output(command);
        const label = options.ref === undefined ? labelArg(options.label) : undefined;
        const ref = options.ref === undefined ? undefined : refArg(options.ref);
        if (ref !== undefined && args.length === 0) {
          throw new UsageError('missing_name', '--ref needs the prompts to pull', {
            fix: 'name them, e.g. promptops pull greeter --ref v17 (or use --label to pull every prompt)',
          });
        }
        const dirs = (options.dir === undefined ? await ctx.promptDirs(command) : [options.dir]).map((d) =>
          resolve(ctx.io.cwd, d),
        );
        const dir = dirs[0] ?? resolve(ctx.io.cwd, DEFAULT_PROMPTS_DIR);
        const client = await ctx.client(command);
        const fallback = ref ?? label ?? 'production';
        let targets = targetsOf(args, fallback);
        if (targets.length === 0) {
          const prompts = await client.listPrompts();
          targets = prompts
            .filter((p) => label !== undefined && p.labels[label] !== undefined)
            .map((p) => ({ name: p.name, ref: fallback }))
            .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
          if (targets.length === 0) out.note(`no prompt has the label ${fallback}; nothing to pull`);
        }
        const tree = await readTree(dirs, ctx.io.cwd);
        const force = options.force === true;
        const results = await mapInOrder(
          targets,
          (target) => pullOne(client, target, tree, { dir, cwd: ctx.io.cwd, force }),
          (result) => out.line(describe(result, out)),
        );
        const overrides: OverridePullResult[] = options.overrides
          ? await pullOverrides(
              client,
              targets.map((t) => t.name),
              await readOverrideTree(dirs, ctx.io.cwd),
              { dir, cwd: ctx.io.cwd, force },
              (result) => out.line(describeOverridePull(result, out)),
            )
          : [];
        const count = (status: PullResult['status']): number => results.filter((r) => r.status === status).length;
        const overrideCount = (status: OverridePullResult['status']): number =>
          overrides.filter((r) => r.status === status).length;
        if (count('skipped') + count('error') + overrideCount('skipped') + overrideCount('error') > 0) ctx.fail();
        if (out.json) {
          out.data({ label: label ?? null, ref: ref ?? null, dir: displayPath(ctx.io.cwd, dir), results, overrides });
          return;
        }
        const summary = (
          n: number,
          what: string,
          of: (s: 'created' | 'updated' | 'unchanged' | 'skipped' | 'error') => number,
        ) => {
          const parts = [`${of('created')} created`, `${of('updated')} updated`, `${of('unchanged')} unchanged`];
          if (of('skipped') > 0) parts.push(`${of('skipped')} skipped`);
          if (of('error') > 0) parts.push(`${of('error')} failed`);
          return `${n} ${what}${n === 1 ? '' : 's'}: ${parts.join(', ')}`;
        };
        out.line(summary(results.length, 'prompt', count));
        if (overrides.length > 0) out.line(summary(overrides.length, 'override', overrideCount));
      },
    );
};
