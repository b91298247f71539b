import type { Command } from 'commander';
import { shortSha, type EvalGateVerdict } from '@promptops/core';
import { labelArg, nameRefArgs, type CommandContext } from '../context.js';
import type { Output } from '../output.js';
import { percent } from './runs.js';

/** `promptops gate NAME REF --label production --suite greeter-basics`: the eval gate's verdict; exit 1 when it fails. */

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

export const printVerdict = (out: Output, verdict: EvalGateVerdict): void => {
  const c = out.colors;
  const against =
    verdict.against === null
      ? ''
      : ` -> ${verdict.against.label}${verdict.against.sha === null ? ' (new label)' : ` (now ${c.yellow(shortSha(verdict.against.sha))})`}`;
  out.line(
    `${c.bold('eval gate')} ${verdict.prompt} ${c.yellow(shortSha(verdict.sha))}${against}: ${verdict.passed ? c.green('passed') : c.red('refused')}`,
  );
  if (verdict.suites.length === 0) out.line(`  no required suite tests ${verdict.prompt}`);
  else
    out.table(
      verdict.suites.map((s) => [
        s.suite,
        s.status === 'passed' ? c.green(s.status) : c.red(s.status),
        s.passRate === null ? '-' : percent(s.passRate),
        percent(s.required),
        s.runId ?? '-',
        s.suiteSha === null ? '-' : shortSha(s.suiteSha),
      ]),
      ['suite', 'status', 'rate', 'required', 'run', 'suite sha'],
    );
  for (const s of verdict.suites) if (s.status !== 'passed') out.line(`  ${c.red('x')} ${s.message}`);
  // Suites of those names test other prompts only: they do not apply here.
  for (const s of verdict.skipped) out.line(`  ${c.dim('-')} ${s.message}`);
};

export const registerGate = (program: Command, ctx: CommandContext): void => {
  program
    .command('gate')
    .description(
      "the eval gate: do the required suites' recorded runs on REF pass, with no case regressed from what LABEL serves now? exit 1 when not",
    )
    .argument('<name>', 'prompt name, or NAME@REF')
    .argument('[ref]', 'candidate version: v17, a sha prefix or a label')
    .requiredOption('-l, --label <label>', 'label the candidate would move to, e.g. production')
    .requiredOption('-s, --suite <name>', 'a required suite (repeat for several)', collect)
    .action(
      async (
        first: string,
        second: string | undefined,
        options: { label: string; suite: string[] },
        command: Command,
      ) => {
        const { name, ref } = nameRefArgs(first, second);
        const label = labelArg(options.label);
        const out = ctx.output(command);
        const client = await ctx.client(command);
        const verdict = await client.gate(name, { ref, label, suites: options.suite });
        if (out.json) out.data(verdict);
        else printVerdict(out, verdict);
        if (!verdict.passed) ctx.fail();
      },
    );
};
