import type { Command } from 'commander';
import {
  CONTENT_LIMITS,
  formatPromptFile,
  shortSha,
  type PromptContent,
  type VersionRecordWithLabels,
} from '@promptops/core';
import { nameRefArgs, type CommandContext } from '../context.js';
import { UsageError } from '../errors.js';
import { formatTime, type Output } from '../output.js';
import { printEffective, tenantArg, tenantEffective } from './override.js';

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
    .option(
      '--tenant <tenant>',
      "the tenant's effective prompt on the label (lines from its override marked T)",
      tenantArg,
    )
    .action(async (first: string, second: string | undefined, options: { tenant?: string }, command: Command) => {
      const { name, ref } = nameRefArgs(first, second);
      const out = ctx.output(command);
      const client = await ctx.client(command);
      const tenant = options.tenant;
      if (tenant !== undefined && (/^v[0-9]+$/.test(ref) || /^[0-9a-f]{7,64}$/.test(ref))) {
        throw new UsageError('invalid_ref', `--tenant needs a label: a pin by version or sha gets no override`, {
          fix: `name the label the tenant is served, e.g. promptops show ${name}@production --tenant ${tenant}`,
        });
      }
      const effective = tenant === undefined ? null : await tenantEffective(client, name, tenant, ref);
      const version = await client.getVersion(name, effective?.effective.baseSha ?? ref);
      if (out.json) {
        out.data(
          tenant === undefined
            ? version
            : { ...version, tenant, override: effective?.override ?? null, effective: effective?.effective ?? null },
        );
        return;
      }
      printHeader(version, out);
      out.line();
      if (tenant === undefined) {
        out.line(contentText(version.content, version.name));
        return;
      }
      const c = out.colors;
      if (effective === null) {
        out.line(c.dim(`tenant ${tenant} has no override: the shared prompt`));
        out.line();
        out.line(contentText(version.content, version.name));
        return;
      }
      const { override, effective: e } = effective;
      out.line(
        `tenant ${tenant}: override v${override.version} ${c.yellow(shortSha(override.sha))} (${override.message})`,
      );
      out.line(`effective sha ${c.yellow(e.sha)}`);
      out.line();
      printEffective(effective.base, e.content, out);
    });
};

const printHeader = (version: VersionRecordWithLabels, out: Output): void => {
  const c = out.colors;
  out.line(`${c.bold(version.name)} v${version.version} ${c.yellow(version.sha)}`);
  out.table([
    ['author', version.author],
    ['date', formatTime(version.createdAt)],
    ['parent', version.parentSha ?? '(none)'],
    ['labels', version.labels.length === 0 ? '(none)' : c.green([...version.labels].sort().join(', '))],
    ['message', version.message === '' ? c.dim('(no message)') : version.message],
  ]);
};
