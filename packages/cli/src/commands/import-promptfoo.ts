import { readFileSync } from 'node:fs';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import type { Command } from 'commander';
import { PromptopsError, importPromptfooConfig } from '@promptops/core';
import { parseDocument } from 'yaml';
import type { CommandContext } from '../context.js';
import { displayPath } from '../files.js';
import { globFiles } from '../glob.js';

/**
 * `promptops import promptfoo CONFIG` (also `promptops eval import CONFIG`): converts a promptfoo config into
 * prompt files, suites and datasets (core's `importPromptfooConfig`), writes them, and prints a conversion
 * report: what each file came from, and every warning and skipped part. `--json` prints the same as data.
 */

interface ImportOptions {
  readonly out: string;
  readonly promptsOut: string;
  readonly force?: boolean;
}

const readConfig = async (absolute: string, shown: string): Promise<unknown> => {
  const text = await readFile(absolute, 'utf8').catch((error: Error) => {
    throw new PromptopsError('invalid', 'file_not_found', `${shown}: ${error.message}`, {
      fix: 'name an existing promptfoo config file',
    });
  });
  const doc = parseDocument(text, { prettyErrors: true });
  if (doc.errors.length > 0) {
    throw new PromptopsError(
      'invalid',
      'invalid_promptfoo_config',
      `${shown}: not valid YAML: ${doc.errors[0]?.message.split('\n')[0] ?? ''}`,
      { fix: 'fix the YAML syntax at the line shown' },
    );
  }
  return doc.toJS() as unknown;
};

export const importPromptfoo = async (
  ctx: CommandContext,
  command: Command,
  configPath: string,
  options: ImportOptions,
): Promise<void> => {
  const out = ctx.output(command);
  const absolute = resolve(ctx.io.cwd, configPath);
  const base = dirname(absolute);
  const imported = importPromptfooConfig(await readConfig(absolute, configPath), {
    file: configPath,
    readFile: (path) => readFileSync(resolve(base, path), 'utf8'),
    glob: (pattern) => globFiles(base, pattern),
  });
  const promptsDir = resolve(ctx.io.cwd, options.promptsOut);
  const suitesDir = resolve(ctx.io.cwd, options.out);
  const targets = [
    ...imported.prompts.map((f) => ({ path: join(promptsDir, f.path), text: f.text })),
    ...imported.suites.map((f) => ({ path: join(suitesDir, f.path), text: f.text })),
  ];
  const existing: string[] = [];
  for (const target of targets)
    if ((await stat(target.path).catch(() => undefined)) !== undefined) existing.push(target.path);
  if (existing.length > 0 && options.force !== true) {
    throw new PromptopsError(
      'conflict',
      'file_exists',
      `would overwrite ${existing.map((p) => displayPath(ctx.io.cwd, p)).join(', ')}`,
      { fix: 'pass --force to overwrite, or choose other folders with --out and --prompts-out' },
    );
  }
  for (const target of targets) {
    await mkdir(dirname(target.path), { recursive: true });
    await writeFile(target.path, target.text);
  }
  const shown = (dir: string, path: string): string => displayPath(ctx.io.cwd, join(dir, path));
  const prompts = imported.report.prompts.map((p) => ({ ...p, file: shown(promptsDir, p.path) }));
  const suites = imported.report.suites.map((s) => ({
    ...s,
    file: shown(suitesDir, s.path),
    dataset: s.dataset === null ? null : shown(suitesDir, s.dataset),
  }));
  if (out.json) {
    out.data({
      config: configPath,
      written: targets.map((t) => displayPath(ctx.io.cwd, t.path)),
      prompts,
      suites,
      skipped: imported.skipped,
      warnings: imported.warnings,
    });
    return;
  }
  const c = out.colors;
  out.line(
    `converted ${configPath}: ${prompts.length} prompt${prompts.length === 1 ? '' : 's'}, ${suites.length} suite${suites.length === 1 ? '' : 's'}, ${imported.skipped.length} skipped, ${imported.warnings.length} warning${imported.warnings.length === 1 ? '' : 's'}`,
  );
  out.table(
    prompts.map((p) => [
      p.file,
      `${p.type} prompt, ${p.variables.length === 0 ? 'no variables' : `variables ${p.variables.join(', ')}`}`,
      `from ${p.origin}`,
    ]),
  );
  out.table(
    suites.map((s) => [
      s.file,
      `${s.cases} case${s.cases === 1 ? '' : 's'} on ${s.prompt}, ${s.provider}`,
      s.dataset === null ? '' : `dataset ${s.dataset}`,
    ]),
  );
  for (const skip of imported.skipped) out.line(`${c.yellow('skipped')} ${skip.origin}: ${skip.reason}`);
  for (const warning of imported.warnings) out.line(`${c.yellow('warning')} ${warning}`);
  out.line(`next: promptops check --no-evals && promptops eval --provider simulated`);
};

/** The `promptfoo` subcommand of `promptops import`. */
export const registerImportPromptfoo = (parent: Command, ctx: CommandContext, name = 'promptfoo'): Command =>
  parent
    .command(name)
    .description('convert a promptfoo config (prompts, providers, tests) into prompt files, eval suites and datasets')
    .argument('<config>', 'the promptfoo config, e.g. promptfooconfig.yaml')
    .option('--out <dir>', 'where suites and datasets are written', 'evals')
    .option('--prompts-out <dir>', 'where prompt files are written', 'prompts')
    .option('--force', 'overwrite files that exist')
    .action((configPath: string, options: ImportOptions, command: Command) =>
      importPromptfoo(ctx, command, configPath, options),
    );
