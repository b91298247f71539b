import type { Command } from 'commander';
import { shortSha } from '@promptops/core';
import { labelArg, promptNameArg, refArg, type CommandContext } from '../context.js';
import { formatTime } from '../output.js';

/** `promptops blame NAME`: which version, author and change request introduced each line. */
export const registerBlame = (program: Command, ctx: CommandContext): void => {
  program
    .command('blame')
    .description('for each line of what a label serves: the version, author and change request that introduced it')
    .argument('<name>', 'prompt name')
    .option('-l, --label <label>', 'the label whose version is blamed', 'production')
    .option('--ref <ref>', 'blame this version instead (history still read from --label)')
    .action(async (nameText: string, options: { label: string; ref?: string }, command: Command) => {
      const name = promptNameArg(nameText);
      const label = labelArg(options.label);
      const ref = options.ref === undefined ? undefined : refArg(options.ref);
      const out = ctx.output(command);
      const result = await (await ctx.client(command)).blame(name, { label, ref });
      if (out.json) {
        out.data(result);
        return;
      }
      const c = out.colors;
      out.line(
        `${name}@v${result.version} (${c.yellow(shortSha(result.sha))})${result.label === null ? '' : ` — ${c.green(result.label)}`}`,
      );
      out.table(
        result.lines.map((line) => [
          `v${line.version}`,
          c.yellow(shortSha(line.sha)),
          line.author,
          formatTime(line.createdAt).slice(0, 10),
          line.changeRequest !== null
            ? `#${line.changeRequest}`
            : line.deployedBy?.kind === 'break-glass'
              ? c.red('forced')
              : (line.deployedBy?.kind ?? ''),
          line.message === null ? '' : c.dim(`[${line.message.index} ${line.message.role}]`),
          line.text,
        ]),
      );
    });
};
