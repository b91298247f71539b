import type { Command } from 'commander';
import { diffPrompts, shortSha, type PromptContent } from '@promptops/core';
import type { ApiClient } from '../api-client.js';
import { promptNameArg, refArg, type CommandContext } from '../context.js';
import { formatValue, type Output } from '../output.js';
import { printContentDiff, tenantArg, tenantEffective } from './override.js';

interface TenantOptions {
  readonly tenant?: string;
  readonly fromTenant?: string;
  readonly toTenant?: string;
}

/** One side of a diff: the version at `ref`, or a tenant's effective prompt on it (the shared one without an override). */
const side = async (client: ApiClient, name: string, ref: string, tenant: string | undefined) => {
  const found = tenant === undefined ? null : await tenantEffective(client, name, tenant, ref);
  const version = await client.getVersion(name, found?.effective.baseSha ?? ref);
  const content: PromptContent = found?.effective.content ?? version.content;
  const sha = found?.effective.sha ?? version.sha;
  return {
    content,
    title: tenant === undefined ? `${name}@${ref}` : `${name}@${ref} for ${tenant}`,
    identity: {
      ref,
      version: version.version,
      tenant: tenant ?? null,
      sha,
      baseSha: version.sha,
      overrideSha: found?.effective.overrideSha ?? null,
    },
  };
};

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
    .option('--tenant <tenant>', "compare this tenant's effective prompts (both sides)", tenantArg)
    .option('--from-tenant <tenant>', "the from side is this tenant's effective prompt", tenantArg)
    .option('--to-tenant <tenant>', "the to side is this tenant's effective prompt", tenantArg)
    .action(async (nameText: string, fromText: string, toText: string, options: TenantOptions, command: Command) => {
      const name = promptNameArg(nameText);
      const from = refArg(fromText);
      const to = refArg(toText);
      const out = ctx.output(command);
      const client = await ctx.client(command);
      const fromTenant = options.fromTenant ?? options.tenant;
      const toTenant = options.toTenant ?? options.tenant;
      if (fromTenant !== undefined || toTenant !== undefined) {
        const a = await side(client, name, from, fromTenant);
        const b = await side(client, name, to, toTenant);
        const diff = diffPrompts(a.content, b.content, { from: a.title, to: b.title });
        if (out.json) {
          out.data({ from: a.identity, to: b.identity, diff });
          return;
        }
        printContentDiff(diff, out, `${name}: ${a.title} and ${b.title} are identical`);
        return;
      }
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
