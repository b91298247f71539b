import type { Command } from 'commander';
import { InvalidArgumentError, Option } from 'commander';
import {
  CHANGE_REQUEST_STATUSES,
  type ChangeRequestStatus,
  type ChangeRequestView,
  type CheckStatus,
} from '@promptops/core';
import { labelArg, promptNameArg, refArg, type CommandContext } from '../context.js';
import { UsageError } from '../errors.js';
import { formatTime, formatValue, versionRef, type Output } from '../output.js';
import { rolloutApi } from '../rollout-api.js';
import { planText } from '../rollout-print.js';
import { integerOption } from './options.js';
import { durationOption, guardrailOption, stepsOption } from './rollout.js';

/** `promptops review …`: change requests, the way a protected label moves. */

const idArg = (text: string): number => {
  if (!/^#?[0-9]{1,9}$/.test(text)) throw new InvalidArgumentError('a change request id is a number, e.g. 12');
  return Number(text.replace('#', ''));
};

const statusOption = (text: string): ChangeRequestStatus => {
  if (!(CHANGE_REQUEST_STATUSES as readonly string[]).includes(text)) {
    throw new InvalidArgumentError(`status must be one of ${CHANGE_REQUEST_STATUSES.join(', ')}`);
  }
  return text as ChangeRequestStatus;
};

const mark = (status: CheckStatus, out: Output): string => {
  const c = out.colors;
  if (status === 'passed') return c.green('✓');
  if (status === 'failed') return c.red('✗');
  if (status === 'pending') return c.yellow('…');
  return c.dim('-');
};

/** The human view of one change request: header, diff, checks, timeline. */
export const printReview = (cr: ChangeRequestView, out: Output): void => {
  const c = out.colors;
  out.line(
    `${c.bold(`#${cr.id}`)} ${cr.name}: ${c.green(cr.label)} ${versionRef(cr.baseVersion, cr.baseSha, c)} -> ${versionRef(cr.version, cr.sha, c)}  [${cr.status}]`,
  );
  out.line(`opened by ${cr.author} ${formatTime(cr.createdAt)}${cr.message === '' ? '' : `: ${cr.message}`}`);
  out.line(cr.protected ? `${cr.label} is protected` : `${cr.label} is not protected`);
  if (cr.rollout !== null) {
    const plan = cr.rollout.plan;
    out.line(
      cr.rollout.rolloutId === null
        ? `merging starts a ${plan.mode} rollout of v${cr.version} on ${cr.label} (the label moves when it completes)`
        : `merged: started rollout ${cr.rollout.rolloutId} (promptops rollout show ${cr.rollout.rolloutId})`,
    );
    out.line(`  ${planText({ steps: plan.steps, config: plan })}`);
  }
  out.line();
  const body = cr.diff.unified.trimEnd();
  if (body.includes('\n@@')) {
    const lines = body.split('\n');
    for (const line of lines.slice(lines.findIndex((l) => l.startsWith('@@')))) {
      out.line(
        line.startsWith('+')
          ? c.green(line)
          : line.startsWith('-')
            ? c.red(line)
            : line.startsWith('@@')
              ? c.cyan(line)
              : line,
      );
    }
  }
  for (const field of cr.diff.fields)
    out.line(`  ${field.path}: ${formatValue(field.from)} -> ${formatValue(field.to)}`);
  out.line();
  out.line(c.bold('checks'));
  const { approvals, evals, base, drift } = cr.checks;
  out.line(`  ${mark(approvals.status, out)} approvals: ${approvals.message} (may approve: ${approvals.eligible})`);
  for (const a of approvals.approvedBy) {
    out.line(
      `      approved by ${a.actor} ${formatTime(a.at)}${a.counted ? '' : ' (not counted)'}${a.comment === '' ? '' : `: ${a.comment}`}`,
    );
  }
  for (const r of approvals.rejectedBy)
    out.line(`      rejected by ${r.actor} ${formatTime(r.at)}${r.comment === '' ? '' : `: ${r.comment}`}`);
  out.line(`  ${mark(evals.status, out)} eval suites: ${evals.message}`);
  out.line(`  ${mark(base.status, out)} label: ${base.message}`);
  // A check that does not exist yet is no news: shown once it does.
  if (drift.status !== 'not_available') out.line(`  ${mark(drift.status, out)} drift: ${drift.message}`);
  out.line();
  out.line(c.bold('timeline'));
  for (const event of cr.timeline) {
    const what = event.kind === 'forced' ? c.red('FORCED (break glass)') : event.kind;
    out.line(`  ${formatTime(event.at)}  ${what} by ${event.actor}${event.comment === '' ? '' : `: ${event.comment}`}`);
  }
  out.line();
  out.line(cr.mergeable ? c.green('every check passes: promptops review merge ' + cr.id) : 'not mergeable yet');
};

export const registerReview = (program: Command, ctx: CommandContext): void => {
  const review = program
    .command('review')
    .description('change requests: propose moving a protected label, approve, merge');

  review
    .command('request')
    .description('open a change request to move LABEL of NAME to REF')
    .argument('<name>', 'prompt name')
    .argument('<ref>', 'the version to propose: v18, a sha prefix or a label')
    .requiredOption('-l, --label <label>', 'the label to move, e.g. production')
    .option('-m, --message <text>', 'why (shown to reviewers)')
    .addOption(
      new Option('--rollout <mode>', 'propose a rollout instead: merging starts it (split, or shadow)').choices([
        'split',
        'shadow',
      ]),
    )
    .option('--steps <percentages>', 'with --rollout: ramp steps, e.g. 1,5,25,50,100', stepsOption)
    .option(
      '--min-samples <n>',
      'with --rollout: calls per arm each step needs',
      integerOption('--min-samples', 0, 1e9),
    )
    .option('--step-duration <duration>', 'with --rollout: how long each step lasts at least (10m)', durationOption)
    .option('--guardrail <metric:change...>', 'with --rollout: e.g. error_rate:+0.02 latency:+150', guardrailOption)
    .action(
      async (
        nameText: string,
        refText: string,
        options: {
          label: string;
          message?: string;
          rollout?: 'split' | 'shadow';
          steps?: number[];
          minSamples?: number;
          stepDuration?: string;
          guardrail?: string[];
        },
        command: Command,
      ) => {
        const name = promptNameArg(nameText);
        const ref = refArg(refText);
        const label = labelArg(options.label);
        const planned = [options.steps, options.minSamples, options.stepDuration, options.guardrail];
        if (options.rollout === undefined && planned.some((value) => value !== undefined)) {
          throw new UsageError(
            'invalid_rollout',
            '--steps, --min-samples, --step-duration and --guardrail plan a rollout',
            {
              fix: 'add --rollout split (or shadow) to propose one',
            },
          );
        }
        const out = ctx.output(command);
        const client = await ctx.client(command);
        const cr =
          options.rollout === undefined
            ? await client.openReview({ name, ref, label, message: options.message })
            : await rolloutApi(client).propose({
                name,
                ref,
                label,
                message: options.message,
                rollout: {
                  mode: options.rollout,
                  steps: options.steps,
                  minSamples: options.minSamples,
                  stepDuration: options.stepDuration,
                  guardrails: options.guardrail,
                },
              });
        if (out.json) {
          out.data(cr);
          return;
        }
        printReview(cr, out);
      },
    );

  review
    .command('list')
    .description('list change requests, newest first')
    .option('--status <status>', 'open, merged or closed (default: open)', statusOption, 'open')
    .option('--all', 'every status')
    .option('--name <name>', 'only this prompt')
    .option('-l, --label <label>', 'only this label')
    .option('-n, --limit <n>', 'at most n', integerOption('limit', 1, 500), 50)
    .action(
      async (
        options: { status: ChangeRequestStatus; all?: boolean; name?: string; label?: string; limit: number },
        command: Command,
      ) => {
        const out = ctx.output(command);
        const client = await ctx.client(command);
        const { changeRequests } = await client.listReviews({
          status: options.all === true ? undefined : options.status,
          name: options.name === undefined ? undefined : promptNameArg(options.name),
          label: options.label === undefined ? undefined : labelArg(options.label),
          limit: options.limit,
        });
        if (out.json) {
          out.data({ changeRequests });
          return;
        }
        if (changeRequests.length === 0) {
          out.line('no change requests');
          return;
        }
        const c = out.colors;
        out.table(
          changeRequests.map((cr) => [
            `#${cr.id}`,
            cr.name,
            c.green(cr.label),
            `${versionRef(cr.baseVersion, cr.baseSha, c)} -> ${versionRef(cr.version, cr.sha, c)}`,
            cr.status,
            cr.author,
            formatTime(cr.createdAt),
            cr.message.split('\n')[0] ?? '',
          ]),
          ['id', 'prompt', 'label', 'change', 'status', 'author', 'opened', 'message'],
        );
      },
    );

  review
    .command('show')
    .description('a change request: diff, checks (approvals, eval suites, label) and timeline')
    .argument('<id>', 'change request id', idArg)
    .action(async (id: number, _options: unknown, command: Command) => {
      const out = ctx.output(command);
      const cr = await (await ctx.client(command)).getReview(id);
      if (out.json) {
        out.data(cr);
        return;
      }
      printReview(cr, out);
    });

  const action = (name: 'approve' | 'reject' | 'merge' | 'close', description: string): void => {
    review
      .command(name)
      .description(description)
      .argument('<id>', 'change request id', idArg)
      .option('-m, --comment <text>', 'a comment for the timeline')
      .action(async (id: number, options: { comment?: string }, command: Command) => {
        const out = ctx.output(command);
        const cr = await (await ctx.client(command)).reviewAction(id, name, { comment: options.comment });
        if (out.json) {
          out.data(cr);
          return;
        }
        const c = out.colors;
        const done = { approve: 'approved', reject: 'rejected', merge: 'merged', close: 'closed' }[name];
        out.line(
          `#${cr.id} ${done}: ${cr.name} ${c.green(cr.label)} -> ${versionRef(cr.version, cr.sha, c)}  [${cr.status}]`,
        );
        if (name !== 'merge' && name !== 'close') {
          out.line(`approvals: ${cr.checks.approvals.message}; ${cr.mergeable ? 'mergeable' : 'not mergeable yet'}`);
        }
      });
  };
  action('approve', 'approve a change request (reviewers; never your own unless the policy allows)');
  action('reject', 'reject a change request (blocks its merge until you approve it)');
  action('merge', 'move the label, when every check passes (exit 1 when refused)');
  action('close', 'abandon a change request');

  review
    .command('update')
    .description(
      "propose another version, or re-base on the label's current version; earlier approvals no longer count",
    )
    .argument('<id>', 'change request id', idArg)
    .argument('[ref]', 'the new version to propose (default: the same one, re-based)')
    .option('-m, --comment <text>', 'a comment for the timeline')
    .action(async (id: number, refText: string | undefined, options: { comment?: string }, command: Command) => {
      const ref = refText === undefined ? undefined : refArg(refText);
      const out = ctx.output(command);
      const cr = await (await ctx.client(command)).reviewAction(id, 'update', { ref, comment: options.comment });
      if (out.json) {
        out.data(cr);
        return;
      }
      const base =
        cr.baseSha === null
          ? `${cr.label} serves nothing yet`
          : `replacing ${versionRef(cr.baseVersion, cr.baseSha, out.colors)} on ${cr.label}`;
      out.line(
        `#${cr.id} now proposes ${versionRef(cr.version, cr.sha, out.colors)}, ${base}: ${cr.checks.approvals.message}`,
      );
    });
};
