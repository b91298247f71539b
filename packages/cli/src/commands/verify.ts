import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { PromptopsError, formatAuditHead, parseAuditHead, type AuditHead, type VerifyReport } from '@promptops/core';
import type { CommandContext } from '../context.js';
import { UsageError, parseArg } from '../errors.js';
import { writeFileAtomic } from '../files.js';

const HEAD_FIX = 'use a file written by `promptops verify --export-head FILE`';

/** A head file named on the command line; a missing or malformed one is a usage error. */
const readHead = async (cwd: string, file: string): Promise<AuditHead> => {
  let text: string;
  try {
    text = await readFile(resolve(cwd, file), 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new UsageError(
      'head_not_found',
      `cannot read ${file}: ${code === 'ENOENT' ? 'no such file' : (error as Error).message}`,
      { fix: HEAD_FIX },
    );
  }
  return parseArg(() => parseAuditHead(text, file));
};

/** Writes the head of a log that verified clean; returns what to tell the user. */
const exportHead = async (cwd: string, file: string, result: VerifyReport): Promise<string> => {
  if (result.head === undefined) {
    throw new PromptopsError('unprocessable', 'head_unavailable', 'this server does not report the audit head', {
      fix: 'upgrade the server to a version whose verify reports `head`',
    });
  }
  if (result.head === null) {
    throw new PromptopsError('unprocessable', 'audit_log_empty', `not writing ${file}: the audit log is empty`, {
      fix: 'export the head once the project has history',
    });
  }
  await writeFileAtomic(resolve(cwd, file), formatAuditHead(result.head, new Date().toISOString()));
  const signed = result.head.signature === undefined ? 'unsigned: the server holds no audit key' : 'signed';
  return `audit head #${result.head.seq} written to ${file} (${signed})`;
};

/**
 * `promptops verify`: re-hashes every version and the audit chain on the server, like `git fsck`, and
 * compares every row with its audit entry. `--export-head` notes the chain's head outside the database;
 * `--against-head` fails unless the chain still extends a head noted earlier (a cut or re-chained log).
 */
export const registerVerify = (program: Command, ctx: CommandContext): void => {
  program
    .command('verify')
    .description('check that no version, deployment or audit entry was altered (exit 1 on problems)')
    .option(
      '--export-head <file>',
      "write the audit chain's head (seq and hash, signed when the server holds an audit key) to FILE, if verify passes",
    )
    .option(
      '--against-head <file>',
      'also fail unless the audit chain still extends the head in FILE (catches a cut or re-chained log)',
    )
    .action(async (options: { exportHead?: string; againstHead?: string }, command: Command) => {
      const out = ctx.output(command);
      const against = options.againstHead === undefined ? undefined : await readHead(ctx.io.cwd, options.againstHead);
      const client = await ctx.client(command);
      const result = await client.verify(against);
      const failed = !result.ok || result.problems.length > 0;
      if (failed) ctx.fail();
      let exported: string | undefined;
      if (options.exportHead !== undefined) {
        if (failed) out.note(`not writing ${options.exportHead}: a head is exported only from a log that verifies`);
        else exported = await exportHead(ctx.io.cwd, options.exportHead, result);
      }
      if (out.json) {
        out.data(exported === undefined ? result : { ...result, headFile: options.exportHead });
        return;
      }
      const { versions, auditEntries } = result.checked;
      const summary = `verified ${versions} version${versions === 1 ? '' : 's'}, ${auditEntries} audit entr${auditEntries === 1 ? 'y' : 'ies'}`;
      if (!failed) {
        out.line(`${summary}: ${out.colors.green('OK')}`);
        if (against !== undefined)
          out.line(`the audit chain extends the head #${against.seq} in ${options.againstHead}`);
        if (exported !== undefined) out.line(exported);
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
