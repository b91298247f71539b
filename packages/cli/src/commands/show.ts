import type { Command } from 'commander';
import { CONTENT_LIMITS, formatPromptFile, type PromptContent } from '@promptops/core';
import { nameRefArgs, type CommandContext } from '../context.js';
import { formatTime } from '../output.js';

/**
 * The content in the prompt file format, without `name:` (it matches), so it can be saved as
 * <name>.prompt.yaml. Content nested too deep for the YAML writer's recursion (stored before content was
 * bounded to CONTENT_LIMITS.depth levels) is shown as JSON instead of crashing.
 */
export const contentText = (content: PromptContent, name: string): string => {
  try {
    return formatPromptFile(content, { pathName: name }).trimEnd();
  } catch (error) {
    if (!(error instanceof RangeError)) throw error;
    return [
      `# nested deeper than a prompt file can show (new versions nest at most ${CONTENT_LIMITS.depth} levels); as JSON:`,
      JSON.stringify(content, null, 2),
    ].join('\n');
  }
};

/** `promptops show NAME@REF`: one version, with its content in the prompt file format. */
export const registerShow = (program: Command, ctx: CommandContext): void => {
  program
    .command('show')
    .description('show one version of a prompt (NAME@REF or NAME REF; REF is v17, a sha prefix or a label)')
    .argument('<name@ref>', 'prompt and version, e.g. greeter@v17, greeter@production, greeter@6504af8')
    .argument('[ref]', 'the ref, when given apart from the name')
    .action(async (first: string, second: string | undefined, _options: unknown, command: Command) => {
      const { name, ref } = nameRefArgs(first, second);
      const out = ctx.output(command);
      const client = await ctx.client(command);
      const version = await client.getVersion(name, ref);
      if (out.json) {
        out.data(version);
        return;
      }
      const c = out.colors;
      out.line(`${c.bold(version.name)} v${version.version} ${c.yellow(version.sha)}`);
      out.table([
        ['author', version.author],
        ['date', formatTime(version.createdAt)],
        ['parent', version.parentSha ?? '(none)'],
        ['labels', version.labels.length === 0 ? '(none)' : c.green([...version.labels].sort().join(', '))],
        ['message', version.message === '' ? c.dim('(no message)') : version.message],
      ]);
      out.line();
      out.line(contentText(version.content, version.name));
    });
};
