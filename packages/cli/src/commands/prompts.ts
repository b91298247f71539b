import type { Command } from 'commander';
import { LATEST_LABEL, shortSha, type PromptListItem } from '@promptops/core';
import { labelArg, type CommandContext } from '../context.js';
import { formatTime } from '../output.js';

/** `promptops prompts` / `ls`: every prompt of the project with its head and what each label serves. */

const labelsText = (prompt: PromptListItem): string =>
  Object.entries(prompt.labels)
    // `latest` is the head, shown in its own column.
    .filter(([label]) => label !== LATEST_LABEL)
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([label, target]) => `${label} v${target.version}`)
    .join(', ');

export const registerPrompts = (program: Command, ctx: CommandContext): void => {
  program
    .command('prompts')
    .alias('ls')
    .description('list the prompts of the project: head version and sha, labels, last update')
    .argument('[prefix]', 'only names that start with this, e.g. support/')
    .option('-l, --label <label>', 'only prompts that have this label', labelArg)
    .action(async (prefix: string | undefined, options: { label?: string }, command: Command) => {
      const out = ctx.output(command);
      const client = await ctx.client(command);
      const prompts = (await client.listPrompts())
        .filter((prompt) => prefix === undefined || prompt.name.startsWith(prefix))
        .filter((prompt) => options.label === undefined || prompt.labels[options.label] !== undefined)
        .sort((a, b) => (a.name < b.name ? -1 : 1));
      if (out.json) {
        out.data({ prompts });
        return;
      }
      if (prompts.length === 0) {
        const filters = [
          prefix === undefined ? '' : ` start with "${prefix}"`,
          options.label === undefined ? '' : ` have the label ${options.label}`,
        ].filter(Boolean);
        out.line(
          filters.length === 0
            ? 'no prompts yet: push some with `promptops push`'
            : `no prompts${filters.join(' and')}`,
        );
        return;
      }
      const c = out.colors;
      out.table(
        prompts.map((prompt) => [
          prompt.name,
          `v${prompt.version} ${c.yellow(shortSha(prompt.sha))}`,
          c.green(labelsText(prompt)),
          formatTime(prompt.updatedAt),
        ]),
        ['name', 'head', 'labels', 'updated'],
      );
    });
};
