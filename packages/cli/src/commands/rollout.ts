import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { InvalidArgumentError, Option } from 'commander';
import {
  PromptopsError,
  ROLLOUT_STATES,
  isPromptopsError,
  parseGuardrail,
  rolloutConfig,
  targetingRules,
  type RolloutState,
  type TargetingRule,
  type RolloutView,
} from '@promptops/core';
import type { ApiClient } from '../api-client.js';
import { UsageError } from '../errors.js';
import { labelArg, promptNameArg, refArg, type CommandContext } from '../context.js';
import { formatTime, versionRef } from '../output.js';
import { rolloutApi, type RolloutAction } from '../rollout-api.js';
import { planText, printRolloutDetail, printRolloutLine, rolloutHeadline, ruleText } from '../rollout-print.js';
import { integerOption } from './options.js';

/** `promptops rollout …`: shadow and split rollouts of a candidate version on a label. */

const ROLLOUT_ID = /^ro_[a-z2-7]{12}$/;
const ACTIVE: readonly RolloutState[] = ['running', 'paused', 'draft'];

/** A plan field checked by core's rolloutConfig now, so a bad flag is a usage error (exit 2), not a 400. */
const checkPlan = (flag: string, field: string, value: unknown): void => {
  try {
    rolloutConfig({ [field]: value });
  } catch (error) {
    if (!isPromptopsError(error)) throw error;
    const issues = error.issues?.map((issue) => issue.message).join('; ') ?? error.message;
    throw new InvalidArgumentError(`${flag}: ${issues}`);
  }
};

export const stepsOption = (text: string): number[] => {
  const steps = text.split(',').map((part) => part.trim());
  if (steps.some((step) => !/^\d+(\.\d+)?$/.test(step))) {
    throw new InvalidArgumentError('--steps takes percentages separated by commas, e.g. 1,5,25,50,100');
  }
  const values = steps.map(Number);
  checkPlan('--steps', 'steps', values);
  return values;
};

export const durationOption = (text: string): string => {
  if (!/^\s*\d+(\.\d+)?\s*(ms|s|m|h|d)?\s*$/.test(text)) {
    throw new InvalidArgumentError('--step-duration takes a duration like 90s, 10m or 1h (or milliseconds)');
  }
  return text.trim();
};

export const guardrailOption = (text: string, previous: string[] | undefined): string[] => {
  try {
    parseGuardrail(text);
  } catch (error) {
    if (!isPromptopsError(error)) throw error;
    throw new InvalidArgumentError(`${error.message}; ${error.fix ?? ''}`.trim());
  }
  return [...(previous ?? []), text];
};

const stateOption = (text: string): RolloutState => {
  if (!(ROLLOUT_STATES as readonly string[]).includes(text)) {
    throw new InvalidArgumentError(`state must be one of ${ROLLOUT_STATES.join(', ')}`);
  }
  return text as RolloutState;
};

/**
 * A rollout named by its id, or by its prompt (and --label): the label's active rollout, else for
 * `show`/`status` its newest one.
 */
const findRollout = async (client: ApiClient, target: string, label: string, activeOnly: boolean): Promise<string> => {
  if (ROLLOUT_ID.test(target)) return target;
  const name = promptNameArg(target);
  const rollouts = await rolloutApi(client).list({ prompt: name, label, limit: 50 });
  const found = rollouts.find((r) => ACTIVE.includes(r.state)) ?? (activeOnly ? undefined : rollouts[0]);
  if (found === undefined) {
    throw new PromptopsError(
      'not_found',
      'rollout_not_found',
      `'${label}' of '${name}' has ${rollouts.length === 0 ? 'no rollout' : 'no active rollout'}`,
      {
        fix: `start one: promptops rollout start ${name} REF --label ${label} (or name a rollout by its id: promptops rollout list --prompt ${name})`,
        details: { name, label },
      },
    );
  }
  return found.id;
};

/** Rules from a JSON file (a list, or { "rules": [...] }), checked by core now: a bad field is a usage error. */
const rulesFile = (path: string, cwd: string): TargetingRule[] => {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(resolve(cwd, path), 'utf8'));
  } catch (error) {
    throw new UsageError('usage.unreadable_rules', `--set ${path}: ${(error as Error).message}`, {
      fix: 'give a JSON file holding a list of rules { when: [...], serve: {...} } (docs/decisions/targeting.md)',
    });
  }
  const list =
    typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) && 'rules' in parsed
      ? (parsed as { rules: unknown }).rules
      : parsed;
  try {
    return targetingRules(list);
  } catch (error) {
    if (isPromptopsError(error)) throw UsageError.from(error);
    throw error;
  }
};

const printRules = (rules: readonly TargetingRule[] | null | undefined, out: { line(text?: string): void }): void => {
  if (rules === null || rules === undefined || rules.length === 0) {
    out.line('  no targeting rules: the ramp decides for everyone');
    return;
  }
  rules.forEach((rule, i) => out.line(`  ${i + 1}. ${ruleText(rule)}`));
  out.line('  anyone else: the ramp');
};

const targetArgument = (command: Command): Command =>
  command
    .argument('<rollout>', "a rollout id (ro_…), or a prompt name for its label's rollout")
    .option('-l, --label <label>', 'with a prompt name: the label (default production)', 'production');

export const registerRollout = (program: Command, ctx: CommandContext): void => {
  const rollout = program
    .command('rollout')
    .description('shadow and split rollouts: try a candidate on a label’s traffic, ramp it, abort it');

  rollout
    .command('start')
    .description('start a rollout of REF on a label: shadow (copies, never answers) or split (a ramp of units)')
    .argument('<name>', 'prompt name')
    .argument('<ref>', 'the candidate: v18, a sha prefix or a label')
    .requiredOption('-l, --label <label>', 'the label whose traffic it is tried on (its version is the baseline)')
    .addOption(
      new Option(
        '--mode <mode>',
        'shadow: the baseline answers, the candidate runs on copies; split: units get the candidate',
      )
        .choices(['shadow', 'split'])
        .default('split'),
    )
    .option('--steps <percentages>', 'ramp steps, comma-separated (default 1,5,25,50,100)', stepsOption)
    .option('--min-samples <n>', 'calls per arm each step needs (default 100)', integerOption('--min-samples', 0, 1e9))
    .option(
      '--step-duration <duration>',
      'how long each step lasts at least: 90s, 10m, 1h (default 10m)',
      durationOption,
    )
    .option(
      '--guardrail <metric:change...>',
      'abort when candidate − baseline is surely worse: error_rate:+0.02, latency:+150, score:-0.05, thumbs_down_rate:+0.01, assertion_pass_rate:-0.02 (default error_rate:+0.02)',
      guardrailOption,
    )
    .option('--salt <salt>', 'assignment salt (default: the rollout id); a new salt reshuffles units')
    .option('-m, --reason <text>', 'why (recorded with the start)')
    .action(
      async (
        nameText: string,
        refText: string,
        options: {
          label: string;
          mode: 'shadow' | 'split';
          steps?: number[];
          minSamples?: number;
          stepDuration?: string;
          guardrail?: string[];
          salt?: string;
          reason?: string;
        },
        command: Command,
      ) => {
        const name = promptNameArg(nameText);
        const candidate = refArg(refText);
        const label = labelArg(options.label);
        const out = ctx.output(command);
        const client = await ctx.client(command);
        const started = await rolloutApi(client).start(name, {
          label,
          candidate,
          mode: options.mode,
          steps: options.steps,
          minSamples: options.minSamples,
          stepDuration: options.stepDuration,
          guardrails: options.guardrail,
          salt: options.salt,
          reason: options.reason,
        });
        if (out.json) {
          out.data(started);
          return;
        }
        const c = out.colors;
        out.line(
          `started ${rolloutHeadline(started, c)}: ${versionRef(started.candidate.version, started.candidate.sha, c)} on ${label}`,
        );
        out.line(`  ${planText(started)}`);
        out.line(
          started.mode === 'shadow'
            ? `  ${label} keeps answering; the candidate runs on a copy of ${started.ramp} % of its calls`
            : `  ${started.ramp} % of units (by unit key) now get the candidate`,
        );
        out.line(`follow it: promptops rollout show ${started.id}`);
      },
    );

  rollout
    .command('list')
    .description('list rollouts, newest first')
    .option('--prompt <name>', 'only this prompt')
    .option('-l, --label <label>', 'only this label')
    .option('--state <state>', `only this state (${ROLLOUT_STATES.join(', ')})`, stateOption)
    .option('-n, --limit <n>', 'at most n', integerOption('limit', 1, 500), 50)
    .action(
      async (options: { prompt?: string; label?: string; state?: RolloutState; limit: number }, command: Command) => {
        const prompt = options.prompt === undefined ? undefined : promptNameArg(options.prompt);
        const label = options.label === undefined ? undefined : labelArg(options.label);
        const out = ctx.output(command);
        const rollouts = await rolloutApi(await ctx.client(command)).list({
          prompt,
          label,
          state: options.state,
          limit: options.limit,
        });
        if (out.json) {
          out.data({ rollouts });
          return;
        }
        if (rollouts.length === 0) {
          out.line('no rollouts');
          return;
        }
        const c = out.colors;
        out.table(
          rollouts.map((r: RolloutView) => [
            r.id,
            r.name,
            c.green(r.label),
            r.mode,
            r.state,
            r.state === 'running' || r.state === 'paused' ? `${r.ramp} %` : '–',
            versionRef(r.candidate.version, r.candidate.sha, c),
            r.createdBy,
            formatTime(r.createdAt),
          ]),
          ['id', 'prompt', 'label', 'mode', 'state', 'ramp', 'candidate', 'by', 'started'],
        );
      },
    );

  targetArgument(
    rollout.command('status').description("a rollout's state, ramp and latest decision in a few lines"),
  ).action(async (target: string, options: { label: string }, command: Command) => {
    const out = ctx.output(command);
    const client = await ctx.client(command);
    const id = await findRollout(client, target, labelArg(options.label), false);
    const detail = await rolloutApi(client).show(id);
    const latest = detail.decisions.at(-1) ?? null;
    if (out.json) {
      out.data({ rollout: detail.rollout, latest });
      return;
    }
    printRolloutLine(detail.rollout, out);
    if (latest !== null)
      out.line(`  latest: ${formatTime(latest.at)} ${latest.action} by ${latest.actor}: ${latest.reason}`);
  });

  targetArgument(
    rollout
      .command('show')
      .description('a rollout: its ramp over time, per-arm figures, guardrail verdicts, shadow pairs and decision log'),
  ).action(async (target: string, options: { label: string }, command: Command) => {
    const out = ctx.output(command);
    const client = await ctx.client(command);
    const detail = await rolloutApi(client).show(await findRollout(client, target, labelArg(options.label), false));
    if (out.json) {
      out.data(detail);
      return;
    }
    printRolloutDetail(detail, out);
  });

  targetArgument(
    rollout
      .command('rules')
      .description("show a rollout's targeting rules, or set (--set FILE) or clear (--clear) them"),
  )
    .option('--set <file>', 'a JSON file of rules, tried in order before the ramp')
    .option('--clear', 'remove every rule')
    .option('-m, --reason <text>', 'why (recorded in the decision log)')
    .action(
      async (
        target: string,
        options: { label: string; set?: string; clear?: boolean; reason?: string },
        command: Command,
      ) => {
        if (options.set !== undefined && options.clear === true) {
          throw new UsageError('usage.conflicting_options', '--set and --clear cannot be used together', {
            fix: 'give one of them, or neither to see the rules',
          });
        }
        const rules = options.set === undefined ? undefined : rulesFile(options.set, ctx.io.cwd);
        const out = ctx.output(command);
        const client = await ctx.client(command);
        const change = rules !== undefined || options.clear === true;
        const id = await findRollout(client, target, labelArg(options.label), change);
        const updated = change
          ? await rolloutApi(client).setRules(id, rules ?? null, options.reason)
          : (await rolloutApi(client).show(id)).rollout;
        if (out.json) {
          out.data(
            change ? updated : { id: updated.id, rules: updated.rules ?? null, killed: updated.killed ?? false },
          );
          return;
        }
        out.line(
          `${change ? (rules === undefined ? 'cleared the rules of ' : 'set the rules of ') : ''}${rolloutHeadline(updated, out.colors)}`,
        );
        printRules(updated.rules, out);
        if (updated.killed === true) out.line('  killed: everyone gets the baseline until resumed');
      },
    );

  targetArgument(
    rollout
      .command('kill')
      .description('the kill switch: everyone gets the baseline at once, rules and ramp aside (resume turns it off)'),
  )
    .option('-m, --reason <text>', 'why (recorded in the decision log)')
    .action(async (target: string, options: { label: string; reason?: string }, command: Command) => {
      const out = ctx.output(command);
      const client = await ctx.client(command);
      const id = await findRollout(client, target, labelArg(options.label), true);
      const updated = await rolloutApi(client).act(id, 'kill', options.reason);
      if (out.json) {
        out.data(updated);
        return;
      }
      out.line(`killed ${rolloutHeadline(updated, out.colors)}`);
      out.line(
        `  ${updated.label} serves its own version to everyone; resume with: promptops rollout resume ${updated.id}`,
      );
    });

  const actions: Record<RolloutAction, { description: string; done: string }> = {
    pause: { description: 'pause a running rollout: it holds its ramp, units keep their arm', done: 'paused' },
    resume: { description: 'resume a paused rollout (its step starts over)', done: 'resumed' },
    advance: {
      description: 'move a running rollout to its next step now, or complete it from the last',
      done: 'advanced',
    },
    abort: {
      description: 'abort a rollout: the candidate stops being served (never waits for review)',
      done: 'aborted',
    },
  };
  for (const [action, { description, done }] of Object.entries(actions) as [
    RolloutAction,
    { description: string; done: string },
  ][]) {
    targetArgument(rollout.command(action).description(description))
      .option('-m, --reason <text>', 'why (recorded in the decision log)')
      .action(async (target: string, options: { label: string; reason?: string }, command: Command) => {
        const out = ctx.output(command);
        const client = await ctx.client(command);
        const id = await findRollout(client, target, labelArg(options.label), true);
        const updated = await rolloutApi(client).act(id, action, options.reason);
        if (out.json) {
          out.data(updated);
          return;
        }
        out.line(`${done} ${rolloutHeadline(updated, out.colors)}`);
        if (updated.state === 'completed') out.line(`  ${updated.label} now serves v${updated.candidate.version}`);
        if (updated.state === 'aborted') out.line(`  ${updated.label} serves only its own version again`);
      });
  }
};
