import type { Command } from 'commander';
import { shortSha } from '@promptops/core';
import { promptNameArg, refArg, type CommandContext } from '../context.js';
import { formatValue, type Output } from '../output.js';

const colorLine = (line: string, out: Output): string => {
  const c = out.colors;
  if (line.startsWith('+++') || line.startsWith('---') || line.startsWith('===')) return c.bold(line);
  if (line.startsWith('+')) return c.green(line);
  if (line.startsWith('-')) return c.red(line);
  if (line.startsWith('@@')) return c.cyan(line);
  return line;
};

/** `promptops diff NAME FROM TO`: the prompt body as a unified diff, then changed fields. Exit 0 either way. */
export const registerDiff = (program: Command, ctx: CommandContext): void => {
  program
    .command('diff')
    .description('show what changed between two versions of a prompt')
    .argument('<name>', 'prompt name')
    .argument('<from>', 'older ref: v17, a sha prefix or a label')
    .argument('[to]', 'newer ref', 'latest')
    .action(async (nameText: string, fromText: string, toText: string, _options: unknown, command: Command) => {
      const name = promptNameArg(nameText);
      const from = refArg(fromText);
      const to = refArg(toText);
      const out = ctx.output(command);
      const client = await ctx.client(command);
      const result = await client.diff(name, from, to);
      if (out.json) {
        out.data(result);
        return;
      }
      const c = out.colors;
      const label = (v: { version: number; sha: string }): string => `v${v.version} (${c.yellow(shortSha(v.sha))})`;
      if (result.diff.identical) {
        out.line(`${name}: ${label(result.from)} and ${label(result.to)} are identical`);
        return;
      }
      const body = result.diff.unified.trimEnd();
      // A patch with no hunks means only fields changed; print just the field list then.
      if (body.includes('\n@@')) for (const line of body.split('\n')) out.line(colorLine(line, out));
      if (result.diff.fields.length > 0) {
        out.line();
        out.line(c.bold('fields:'));
        for (const field of result.diff.fields) {
          out.line(`  ${field.path}: ${c.red(formatValue(field.from))} -> ${c.green(formatValue(field.to))}`);
        }
      }
    });
};
