import type { Command } from 'commander';
import { PromptopsError, isOverrideFile, promptSha, shortSha } from '@promptops/core';
import { ApiError, isFatal, type ApiClient } from '../api-client.js';
import { mapInOrder } from '../concurrency.js';
import type { CommandContext } from '../context.js';
import { toErrorJson, type ErrorJson } from '../errors.js';
import { discoverPromptFiles, loadPromptFiles, type LoadedPrompt, type PromptFileRef } from '../files.js';
import { discoverOverrideFiles, readOverrideFiles } from '../override-files.js';
import type { Output } from '../output.js';
import { describeOverridePush, loadOverridesOrThrow, pushOverride, type OverridePushResult } from './push-overrides.js';

/**
 * `promptops push`: validate every file first, then push each prompt on top of its current head, then
 * set each tenant override file that differs from the tenant's current override. Pushing unchanged
 * content is a no-op on the server (same sha), so push is safe to run on every commit. `--dry-run`
 * reads the registry only and says what would change.
 */

export type PushResult =
  | {
      readonly name: string;
      readonly status: 'new' | 'unchanged';
      readonly version: number;
      readonly sha: string;
      readonly file: string;
    }
  | {
      readonly name: string;
      readonly status: 'conflict';
      readonly file: string;
      readonly head: { readonly version: number; readonly sha: string } | null;
      readonly error: ErrorJson;
    }
  | { readonly name: string; readonly status: 'error'; readonly file: string; readonly error: ErrorJson };

const pushOne = async (
  client: ApiClient,
  prompt: LoadedPrompt,
  message: string | undefined,
  dryRun: boolean,
): Promise<PushResult> => {
  const { name } = prompt.content;
  try {
    const head = await client.getPrompt(name);
    if (dryRun) {
      const sha = promptSha(prompt.content);
      const same = head?.sha === sha;
      return {
        name,
        status: same ? 'unchanged' : 'new',
        version: same ? head.version : (head?.version ?? 0) + 1,
        sha,
        file: prompt.file,
      };
    }
    const pushed = await client.pushVersion(name, { content: prompt.content, parent: head?.sha ?? null, message });
    return {
      name,
      status: pushed.created ? 'new' : 'unchanged',
      version: pushed.version,
      sha: pushed.sha,
      file: prompt.file,
    };
  } catch (error) {
    if (error instanceof ApiError && isFatal(error)) throw error;
    if (error instanceof ApiError && error.code === 'stale_parent') {
      const head = error.details?.head as { version?: unknown; sha?: unknown } | undefined;
      const known = typeof head?.version === 'number' && typeof head.sha === 'string';
      return {
        name,
        status: 'conflict',
        file: prompt.file,
        head: known ? { version: head.version as number, sha: head.sha as string } : null,
        error: toErrorJson(error),
      };
    }
    if (error instanceof ApiError) return { name, status: 'error', file: prompt.file, error: toErrorJson(error) };
    throw error;
  }
};

const describe = (result: PushResult, out: Output, dryRun: boolean): string => {
  const c = out.colors;
  const name = c.bold(result.name);
  switch (result.status) {
    case 'new':
      return `${name}: ${c.green(dryRun ? 'would push' : 'new')} v${result.version} ${c.yellow(shortSha(result.sha))}`;
    case 'unchanged':
      return `${name}: ${c.dim('unchanged')} v${result.version} ${c.yellow(shortSha(result.sha))}`;
    case 'conflict':
      return `${name}: ${c.red('conflict')}${result.head === null ? '' : `, head moved to v${result.head.version} ${c.yellow(shortSha(result.head.sha))}`} (${result.file})`;
    case 'error':
      return `${name}: ${c.red('error')} ${result.error.message} (${result.file})${result.error.fix === undefined ? '' : `\n  fix: ${result.error.fix}`}`;
  }
};

export const registerPush = (program: Command, ctx: CommandContext): void => {
  program
    .command('push')
    .description('validate prompt files and push each changed prompt as a new version')
    .argument(
      '[paths...]',
      'prompt files or folders holding **/*.prompt.yaml and overrides/<tenant>/*.override.yaml (default: promptops.yaml prompts, else prompts/)',
    )
    .option('-m, --message <message>', 'message recorded with each new version (and override files without message:)')
    .option('--dry-run', 'read the registry only and show what would change')
    .action(async (paths: string[], options: { message?: string; dryRun?: boolean }, command: Command) => {
      const out = ctx.output(command);
      const dryRun = options.dryRun === true;
      const dirs = await ctx.promptDirs(command);
      const promptPaths = paths.filter((p) => !isOverrideFile(p));
      const overrideRefs = await discoverOverrideFiles(paths, ctx.io.cwd, dirs);
      let files: PromptFileRef[] = [];
      if (paths.length === 0 || promptPaths.length > 0) {
        try {
          files = await discoverPromptFiles(promptPaths, ctx.io.cwd, { defaults: dirs, roots: dirs });
        } catch (error) {
          // A folder holding only override files has no prompt to push.
          if (!(error instanceof PromptopsError && error.code === 'no_prompt_files' && overrideRefs.length > 0)) {
            throw error;
          }
        }
      }
      // Everything is parsed before the first request: one bad file means nothing is pushed.
      const prompts = await loadPromptFiles(files);
      const overrides = loadOverridesOrThrow(await readOverrideFiles(overrideRefs), overrideRefs.length);
      const client = await ctx.client(command);
      let done = 0;
      const results = await mapInOrder(
        prompts,
        async (prompt) => {
          const result = await pushOne(client, prompt, options.message, dryRun);
          done += 1;
          out.progress(`pushing ${done}/${prompts.length} ${prompt.content.name}`);
          return result;
        },
        (result) => {
          out.done();
          out.line(describe(result, out, dryRun));
        },
      ).finally(() => out.done());
      // Overrides after the prompts: an override may use a slot this push adds.
      const overrideResults: OverridePushResult[] = await mapInOrder(
        overrides,
        (loaded) => pushOverride(client, loaded, { message: options.message, dryRun }),
        (result) => out.line(describeOverridePush(result, out, dryRun)),
      );

      const count = (status: PushResult['status']): number => results.filter((r) => r.status === status).length;
      const overrideCount = (status: OverridePushResult['status']): number =>
        overrideResults.filter((r) => r.status === status).length;
      const problems = count('conflict') + count('error') + overrideCount('error');
      if (problems > 0) ctx.fail();
      if (out.json) {
        out.data({ ...(dryRun ? { dryRun } : {}), results, overrides: overrideResults });
        return;
      }
      const parts = [`${count('new')} ${dryRun ? 'to push' : 'new'}`, `${count('unchanged')} unchanged`];
      if (count('conflict') > 0) parts.push(`${count('conflict')} conflict${count('conflict') === 1 ? '' : 's'}`);
      if (count('error') > 0) parts.push(`${count('error')} failed`);
      out.line(`${results.length} prompt${results.length === 1 ? '' : 's'}: ${parts.join(', ')}`);
      if (overrideResults.length > 0) {
        const oparts = [
          `${overrideCount('set')} ${dryRun ? 'to set' : 'set'}`,
          `${overrideCount('unchanged')} unchanged`,
        ];
        if (overrideCount('error') > 0) oparts.push(`${overrideCount('error')} failed`);
        out.line(`${overrideResults.length} override${overrideResults.length === 1 ? '' : 's'}: ${oparts.join(', ')}`);
      }
      if (dryRun) out.note('dry run: nothing was pushed');
      if (count('conflict') > 0) {
        out.note('fix: the prompts marked conflict changed on the server while pushing; run push again');
      }
    });
};
