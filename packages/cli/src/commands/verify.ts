import type { Command } from 'commander';
import type { CommandContext } from '../context.js';

/** `promptops verify`: re-hashes every version and the audit chain on the server, like `git fsck`. */
export const registerVerify = (program: Command, ctx: CommandContext): void => {
  program
    .command('verify')
    .description('check that no version, deployment or audit entry was altered (exit 1 on problems)')
    .action(async (_options: unknown, command: Command) => {
      const out = ctx.output(command);
      const client = await ctx.client(command);
      const result = await client.verify();
      const failed = !result.ok || result.problems.length > 0;
      if (failed) ctx.fail();
      if (out.json) {
        out.data(result);
        return;
      }
      const { versions, auditEntries } = result.checked;
      const summary = `verified ${versions} version${versions === 1 ? '' : 's'}, ${auditEntries} audit entr${auditEntries === 1 ? 'y' : 'ies'}`;
      if (!failed) {
        out.line(`${summary}: ${out.colors.green('OK')}`);
        return;
      }
      const count = result.problems.length;
      out.line(`${summary}: ${out.colors.red(`${count} problem${count === 1 ? '' : 's'}`)}`);
      out.table(
        result.problems.map((p) => [p.table, String(p.row), p.message]),
        ['table', 'row', 'problem'],
      );
    });
};
