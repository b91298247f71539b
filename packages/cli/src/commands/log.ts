import type { Command } from 'commander';
import { shortSha } from '@promptops/core';
import type { VersionWithLabels } from '@promptops/core';
import { promptNameArg, type CommandContext } from '../context.js';
import { formatTime } from '../output.js';
import { integerOption } from './options.js';

const PAGE_SIZE = 100;

/** `promptops log NAME`: the version history, newest first, with the labels each version holds. */
export const registerLog = (program: Command, ctx: CommandContext): void => {
  program
    .command('log')
    .description('list the versions of a prompt, newest first')
    .argument('<name>', 'prompt name')
    .option('-n, --limit <n>', 'show at most n versions', integerOption('limit', 1, 1_000_000), 50)
    .action(async (nameText: string, options: { limit: number }, command: Command) => {
      const name = promptNameArg(nameText);
      const out = ctx.output(command);
      const client = await ctx.client(command);
      const versions: VersionWithLabels[] = [];
      let before: number | undefined;
      // The server pages; follow `nextBefore` until the limit is reached or history ends.
      while (versions.length < options.limit) {
        const page = await client.listVersions(name, {
          limit: Math.min(PAGE_SIZE, options.limit - versions.length),
          ...(before === undefined ? {} : { before }),
        });
        versions.push(...page.versions);
        if (page.nextBefore === null || page.versions.length === 0) break;
        before = page.nextBefore;
      }
      const shown = versions.slice(0, options.limit);
      if (out.json) {
        out.data({ name, versions: shown });
        return;
      }
      const c = out.colors;
      out.table(
        shown.map((v) => [
          `v${v.version}`,
          c.yellow(shortSha(v.sha)),
          formatTime(v.createdAt),
          v.author,
          v.message === '' ? c.dim('(no message)') : (v.message.split('\n')[0] ?? ''),
          v.labels.length === 0 ? '' : c.green(`(${[...v.labels].sort().join(', ')})`),
        ]),
      );
    });
};
