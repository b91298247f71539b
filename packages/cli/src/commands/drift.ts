import type { Command } from 'commander';
import { PromptopsError, driftReportText, type DriftRequest, type StoredDriftReport } from '@promptops/core';
import { promptNameArg, refArg, type CommandContext } from '../context.js';
import { driftApi } from '../drift-api.js';
import { recordRuns } from '../eval-registry.js';
import { UsageError } from '../errors.js';
import { discoverSuites, runLoadedSuites } from './eval.js';
import { integerOption } from './options.js';

/**
 * `promptops drift NAME A B --suite S | --window 24h`, `promptops drift NAME --rollout ID`: did B change
 * what the outputs do, compared with A? Offline, the suite's recorded runs of both versions are paired by
 * case; a version without one is run here first (the local suite file, on the registry's version) and
 * recorded. Shadow, a shadow rollout's recorded pairs (A and B are its baseline and candidate). Live, each
 * version's traces in the window. Prints core's report (the verdict first) and exits 1 when B drifted.
 */

interface DriftOptions {
  readonly suite?: string;
  readonly window?: string;
  readonly rollout?: string;
  readonly alpha?: string;
  readonly run: boolean;
  readonly concurrency: number;
}

const WINDOW = /^(\d{1,6})(s|m|h|d|w)$/;

/** The missing versions of a drift_run_missing answer. */
const missingVersions = (error: unknown): number[] | undefined => {
  if (!(error instanceof PromptopsError) || error.code !== 'drift_run_missing') return undefined;
  const missing = (error.details as { missing?: { version: number }[] } | undefined)?.missing;
  return missing?.map((m) => m.version);
};

export const registerDrift = (program: Command, ctx: CommandContext): void => {
  program
    .command('drift')
    .description(
      "compare B's outputs with A's, descriptor by descriptor (offline: a suite's runs of both, paired by case; shadow: a shadow rollout's pairs; live: traces in a window); exit 1 when B drifted",
    )
    .argument('<name>', 'prompt name')
    .argument('[a]', 'the baseline: v17, a sha prefix or a label (with --rollout: the rollout’s)')
    .argument('[b]', 'the candidate (with --rollout: the rollout’s)')
    .option('-s, --suite <name>', "offline: pair this eval suite's recorded runs of A and B (runs missing ones)")
    .option('-r, --rollout <id>', "shadow: pair the shadow rollout's recorded calls (its baseline and candidate)")
    .option(
      '-w, --window <duration>',
      'live: compare the traces of A and B from this long ago (24h, 7d); with --rollout: only pairs this recent',
    )
    .option('--alpha <p>', 'the false-drift budget of the whole report (default 0.05)')
    .option('--no-run', 'offline: do not run a missing suite run here; fail with how to produce it')
    .option(
      '--concurrency <n>',
      'provider calls at once when running a missing suite run',
      integerOption('concurrency', 1, 256),
      4,
    )
    .addHelpText(
      'after',
      `
Examples:
  promptops drift customer_support_greeter v17 v18 --suite greeter-customers
  promptops drift customer_support_greeter v17 v18 --window 7d --json
  promptops drift customer_support_greeter --rollout ro_shadowgreetr

Exit codes: 0 no drift, 1 drift found (or an error), 2 usage.`,
    )
    .action(
      async (
        nameText: string,
        aText: string | undefined,
        bText: string | undefined,
        options: DriftOptions,
        command: Command,
      ) => {
        const name = promptNameArg(nameText);
        const a = aText === undefined ? undefined : refArg(aText);
        const b = bText === undefined ? undefined : refArg(bText);
        const shadow = options.rollout !== undefined;
        if (shadow ? options.suite !== undefined : (options.suite === undefined) === (options.window === undefined)) {
          throw new UsageError(
            'invalid_drift_options',
            'give one of --suite SUITE (offline), --rollout ID (shadow) or --window DURATION (live)',
            {
              fix: `e.g. promptops drift ${name} ${a ?? 'v1'} ${b ?? 'v2'} --suite greeter-basics, --window 24h, or promptops drift ${name} --rollout ro_…`,
            },
          );
        }
        if (!shadow && (a === undefined || b === undefined)) {
          throw new UsageError('invalid_drift_options', 'name both versions to compare: A (the baseline) and B', {
            fix: `e.g. promptops drift ${name} v17 v18 ${options.suite === undefined ? '--window 24h' : `--suite ${options.suite}`}`,
          });
        }
        if (options.window !== undefined && !WINDOW.test(options.window)) {
          throw new UsageError('invalid_drift_options', `--window "${options.window}" is not a duration`, {
            fix: 'a number followed by s, m, h, d or w: 90m, 24h, 7d',
          });
        }
        const alpha = options.alpha === undefined ? undefined : Number(options.alpha);
        if (alpha !== undefined && !(alpha > 0 && alpha <= 0.2)) {
          throw new UsageError('invalid_drift_options', `--alpha ${options.alpha} is not a level`, {
            fix: 'above 0, at most 0.2: 0.05',
          });
        }
        const out = ctx.output(command);
        const client = await ctx.client(command);
        const request: DriftRequest = {
          prompt: name,
          ...(a === undefined ? {} : { a }),
          ...(b === undefined ? {} : { b }),
          ...(shadow
            ? {
                source: 'shadow' as const,
                rollout: options.rollout!,
                ...(options.window === undefined ? {} : { window: options.window }),
              }
            : options.suite === undefined
              ? { source: 'live' as const, window: options.window! }
              : { source: 'offline' as const, suite: options.suite }),
          ...(alpha === undefined ? {} : { options: { alpha } }),
        };
        const what = shadow ? `rollout ${options.rollout!} of ${name}` : `${name} ${a!} and ${b!}`;
        let stored: StoredDriftReport;
        try {
          out.progress(`comparing ${what}…`);
          stored = await driftApi(client).create(request);
        } catch (error) {
          const versions = missingVersions(error);
          if (versions === undefined || !options.run) throw error;
          // Run the suite on each missing version (the local suite file, the registry's version), record it, retry.
          const suite = (await discoverSuites(ctx, command, [], { allowNone: true })).find(
            (s) => s.content.name === options.suite && s.content.prompt === name,
          );
          if (suite === undefined) {
            throw new PromptopsError('conflict', 'drift_run_missing', (error as PromptopsError).message, {
              fix: `no local suite file defines '${options.suite}' for ${name} (evals/ or inline): run from the repository that holds it, or record the runs with promptops eval --ref vN --upload`,
            });
          }
          for (const version of versions) {
            out.note(`running ${options.suite} on ${name} v${version} (no recorded run yet)`);
            const runs = await runLoadedSuites(ctx, command, [suite], {
              ref: `v${version}`,
              concurrency: options.concurrency,
              cache: true,
            });
            await recordRuns(client, runs, undefined);
          }
          out.progress(`comparing ${what}…`);
          stored = await driftApi(client).create(request);
        }
        out.done();
        if (out.json) out.data(stored);
        else {
          for (const line of driftReportText(stored.report).trimEnd().split('\n')) out.line(line);
          out.line(out.colors.dim(`stored as drift report #${stored.id} (GET /api/v1/drift/${stored.id})`));
        }
        if (stored.drifted) ctx.fail();
      },
    );
};
