import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import {
  clipWords,
  flatten,
  shortSha,
  type EvalCaseResult,
  type EvalRunListItem,
  type EvalRunRecord,
} from '@promptops/core';
import { promptNameArg, type CommandContext } from '../context.js';
import { formatTime, type Output } from '../output.js';
import { integerOption } from './options.js';

/** Recorded eval runs: `promptops runs list`, `runs show ID`, `runs compare BASE CANDIDATE`. */

const PAGE_SIZE = 500;

const runIdArg = (text: string): string => {
  if (!/^[0-9]{1,15}$/.test(text)) throw new InvalidArgumentError('a run id is a number, e.g. 12');
  return text;
};

const shaOption = (text: string): string => {
  if (!/^[0-9a-fA-F]{7,64}$/.test(text)) throw new InvalidArgumentError('sha must be 7 to 64 hex characters');
  return text.toLowerCase();
};

export const percent = (rate: number): string => `${Math.round(rate * 1000) / 10}%`;

/** `greeter@v17`, and a tenant's run `greeter@v17 (tenant acme)`: it tested that tenant's effective prompt. */
const promptOf = (run: EvalRunListItem): string =>
  `${run.prompt.name}${run.prompt.version === null ? '' : `@v${run.prompt.version}`}${run.tenant == null ? '' : ` (tenant ${run.tenant.id})`}`;

const verdict = (out: Output, passed: boolean): string => (passed ? out.colors.green('pass') : out.colors.red('fail'));

/** The first failing assertion's reason, or the provider error. */
const whyFailed = (c: EvalCaseResult): string =>
  c.error ?? c.assertions.find((a) => !a.pass)?.reason ?? `score ${c.score.toFixed(2)} below the threshold`;

const printRun = (out: Output, run: EvalRunRecord): void => {
  const c = out.colors;
  const s = run.summary;
  out.line(
    `${c.bold(`run ${run.id}`)}  ${run.suite.name} (${c.yellow(shortSha(run.suite.sha))}) on ${promptOf(run)} (${c.yellow(shortSha(run.prompt.sha))})  ${verdict(out, run.passed)}`,
  );
  out.line(
    `  ${s.passed}/${s.total} cases passed (${percent(s.passRate)}), mean score ${s.score.toFixed(2)}${s.errors > 0 ? `, ${s.errors} provider error${s.errors === 1 ? '' : 's'}` : ''}`,
  );
  out.line(
    `  ${run.provider.id}/${run.provider.model}, ${s.inputTokens} tokens in / ${s.outputTokens} out, cost ${s.cost}, ${Math.round(run.durationMs)} ms`,
  );
  out.line(`  recorded by ${run.recordedBy} at ${formatTime(run.recordedAt)}`);
  out.line();
  out.table(
    run.cases.map((k) => [
      k.id,
      verdict(out, k.pass),
      k.score.toFixed(2),
      k.latencyMs === null ? '-' : `${Math.round(k.latencyMs)} ms`,
      // A summary line per case, cut between words; `promptops eval` shows the reasons whole.
      k.pass ? '' : clipWords(flatten(whyFailed(k)), 100),
    ]),
    ['case', 'result', 'score', 'latency', 'why'],
  );
};

export const registerRuns = (program: Command, ctx: CommandContext): void => {
  const runs = program.command('runs').description('recorded eval runs: list, show, compare');

  runs
    .command('list')
    .description('recorded eval runs, newest first')
    .option('-p, --prompt <name>', 'only runs of this prompt')
    .option('-s, --suite <name>', 'only runs of this suite')
    .option('--sha <sha>', 'only runs on this prompt sha (or a prefix of 7+)', shaOption)
    .option('-n, --limit <n>', 'show at most n runs', integerOption('limit', 1, 100_000), 50)
    .action(async (options: { prompt?: string; suite?: string; sha?: string; limit: number }, command: Command) => {
      const prompt = options.prompt === undefined ? undefined : promptNameArg(options.prompt);
      const out = ctx.output(command);
      const client = await ctx.client(command);
      const found: EvalRunListItem[] = [];
      let before: string | undefined;
      while (found.length < options.limit) {
        const page = await client.listRuns({
          prompt,
          suite: options.suite,
          sha: options.sha,
          limit: Math.min(PAGE_SIZE, options.limit - found.length),
          before,
        });
        found.push(...page.runs);
        if (page.nextBefore === null || page.runs.length === 0) break;
        before = page.nextBefore;
      }
      if (out.json) {
        out.data({ runs: found });
        return;
      }
      if (found.length === 0) {
        out.line('no eval runs recorded');
        return;
      }
      const c = out.colors;
      out.table(
        found.map((run) => [
          run.id,
          formatTime(run.recordedAt),
          run.suite.name,
          promptOf(run),
          c.yellow(shortSha(run.prompt.sha)),
          verdict(out, run.passed),
          `${run.summary.passed}/${run.summary.total}`,
          percent(run.summary.passRate),
          run.recordedBy,
        ]),
        ['id', 'recorded', 'suite', 'prompt', 'sha', 'result', 'cases', 'rate', 'by'],
      );
    });

  runs
    .command('show')
    .description('one run: summary and every case, with why each failing case failed')
    .argument('<id>', 'run id', runIdArg)
    .action(async (id: string, _options: unknown, command: Command) => {
      const out = ctx.output(command);
      const client = await ctx.client(command);
      const run = await client.getRun(id);
      if (out.json) out.data(run);
      else printRun(out, run);
    });

  runs
    .command('compare')
    .description('cases that regressed (pass -> fail) and were fixed (fail -> pass) from BASE to CANDIDATE')
    .argument('<base>', 'base run id (e.g. the run on what production serves)', runIdArg)
    .argument('<candidate>', 'candidate run id', runIdArg)
    .action(async (base: string, candidate: string, _options: unknown, command: Command) => {
      const out = ctx.output(command);
      const client = await ctx.client(command);
      const comparison = await client.compareRuns(base, candidate);
      if (out.json) {
        out.data(comparison);
        return;
      }
      const c = out.colors;
      const side = (run: EvalRunListItem): string =>
        `run ${run.id} ${promptOf(run)} (${c.yellow(shortSha(run.prompt.sha))}) ${percent(run.summary.passRate)}`;
      out.line(`${c.bold('base')}       ${side(comparison.base)}`);
      out.line(`${c.bold('candidate')}  ${side(comparison.candidate)}`);
      out.line();
      const rows: string[][] = [
        ...comparison.regressions.map((id) => [id, c.red('regressed'), 'pass -> fail']),
        ...comparison.fixes.map((id) => [id, c.green('fixed'), 'fail -> pass']),
        ...comparison.stillFailing.map((id) => [id, c.yellow('still failing'), 'fail -> fail']),
        ...comparison.added.map((id) => [id, 'added', 'only in the candidate']),
        ...comparison.removed.map((id) => [id, 'removed', 'only in the base']),
      ];
      if (rows.length === 0) out.line('no case changed: every case passes in both runs');
      else out.table(rows, ['case', 'change', '']);
      out.line();
      out.line(`${comparison.regressions.length} regressed, ${comparison.fixes.length} fixed`);
    });
};
