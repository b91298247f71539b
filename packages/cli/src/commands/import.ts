import type { Command } from 'commander';
import type { CommandContext } from '../context.js';
import { registerImportPromptfoo } from './import-promptfoo.js';

/**
 * `promptops import <tool>`: bring prompts, suites and their history from another tool. Each tool is a
 * subcommand registered on the one `import` command (`importCommand` finds it or creates it).
 */
export const importCommand = (program: Command): Command =>
  program.commands.find((c) => c.name() === 'import') ??
  program.command('import').description('bring prompts and eval suites in from another tool (promptfoo, Langfuse)');

export const registerImport = (program: Command, ctx: CommandContext): void => {
  registerImportPromptfoo(importCommand(program), ctx);
};
