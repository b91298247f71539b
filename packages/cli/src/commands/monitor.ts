import type { Command } from 'commander';
import { InvalidArgumentError, Option } from 'commander';
import { isPromptopsError, monitorConfig, parseGuardrail, type Guardrail, type MonitorConfig } from '@promptops/core';
import { labelArg, promptNameArg, type CommandContext } from '../context.js';
import { incidentApi, type Monitor } from '../incident-api.js';
import { formatTime } from '../output.js';
import { integerOption } from './options.js';

/** `promptops monitor list|add|rm`: what watches a label's live traces, and what it does when it fires. */

const EXIT_CODES = 'Exit codes: 0 done, 1 an error (unknown prompt or monitor, not allowed, server), 2 usage.';
const UNITS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

const durationOption =
  (flag: string) =>
  (text: string): number => {
    const match = /^(\d{1,6})(s|m|h|d)$/.exec(text.trim());
    if (match === null) throw new InvalidArgumentError(`${flag} takes a duration like 90s, 30m, 1h or 1d`);
    return Number(match[1]) * UNITS[match[2]!]!;
  };

const conditionOption = (text: string, previous: Guardrail[] | undefined): Guardrail[] => {
  try {
    return [...(previous ?? []), parseGuardrail(text)];
  } catch (error) {
    if (!isPromptopsError(error)) throw error;
    throw new InvalidArgumentError(
      `--condition ${text}: ${error.message.replace(/^guardrail "[^"]*": /, '')}; e.g. score:-0.1, error_rate:+0.05`,
    );
  }
};

const shaOption = (text: string): string => {
  if (!/^[0-9a-f]{7,64}$/.test(text)) throw new InvalidArgumentError('--baseline takes a version sha (hex)');
  return text;
};

const conditionText = (config: MonitorConfig): string =>
  config.conditions.map((c) => `${c.metric} ${c.threshold >= 0 ? '+' : ''}${c.threshold}`).join(', ');

const parsed = (monitor: Monitor): MonitorConfig => monitorConfig(JSON.parse(monitor.config));

/** The monitor with its settings as an object, for --json. */
const view = (monitor: Monitor) => ({ ...monitor, config: parsed(monitor) });

export const registerMonitor = (program: Command, ctx: CommandContext): void => {
  const monitor = program
    .command('monitor')
    .description("monitors: watch a label's live traces against a baseline; notify or roll back when worse")
    .addHelpText(
      'after',
      `
Examples:
  promptops monitor list customer_support_greeter
  promptops monitor add customer_support_greeter --label production --condition score:-0.1 --action rollback
  promptops monitor rm customer_support_greeter 2

${EXIT_CODES}`,
    );

  monitor
    .command('list')
    .description("a prompt's monitors: label, conditions, action and their last look")
    .argument('<name>', 'prompt name')
    .action(async (nameText: string, _options: object, command: Command) => {
      const name = promptNameArg(nameText);
      const out = ctx.output(command);
      const monitors = await incidentApi(await ctx.client(command)).monitors(name);
      if (out.json) {
        out.data({ monitors: monitors.map(view) });
        return;
      }
      if (monitors.length === 0) {
        out.line(`no monitors on ${name}`);
        return;
      }
      out.table(
        monitors.map((m) => {
          const config = parsed(m);
          return [
            String(m.id),
            out.colors.green(m.label),
            conditionText(config),
            config.action,
            m.lastFiredAt === null ? 'never' : formatTime(m.lastFiredAt),
            m.lastReason ?? '(not looked yet)',
          ];
        }),
        ['id', 'label', 'conditions', 'action', 'last fired', 'last look'],
      );
    });

  monitor
    .command('add')
    .description('add a monitor on a label (defaults: error_rate:+0.05, score:-0.1, thumbs_down_rate:+0.1, 1h, notify)')
    .argument('<name>', 'prompt name')
    .requiredOption('-l, --label <label>', 'the label to watch')
    .option(
      '--condition <metric:change...>',
      'fire when current − baseline is surely worse: error_rate:+0.05, latency:+150, score:-0.1, thumbs_down_rate:+0.1, assertion_pass_rate:-0.05',
      conditionOption,
    )
    .addOption(
      new Option('--action <action>', 'notify (open an incident) or rollback (and move the label back)').choices([
        'notify',
        'rollback',
      ]),
    )
    .option('--window <duration>', 'how far back traces are read (default 1h)', durationOption('--window'))
    .option(
      '--min-samples <n>',
      'calls of the current version before it may fire (default 50)',
      integerOption('--min-samples', 30, 1e9),
    )
    .option('--cooldown <duration>', 'quiet this long after firing (default 30m)', durationOption('--cooldown'))
    .option(
      '--baseline <sha>',
      'compare with this version (default: the one the label served before its last move)',
      shaOption,
    )
    .action(
      async (
        nameText: string,
        options: {
          label: string;
          condition?: Guardrail[];
          action?: 'notify' | 'rollback';
          window?: number;
          minSamples?: number;
          cooldown?: number;
          baseline?: string;
        },
        command: Command,
      ) => {
        const name = promptNameArg(nameText);
        const label = labelArg(options.label);
        const config: Partial<MonitorConfig> = {
          ...(options.condition === undefined ? {} : { conditions: options.condition }),
          ...(options.action === undefined ? {} : { action: options.action }),
          ...(options.window === undefined ? {} : { windowMs: options.window }),
          ...(options.minSamples === undefined ? {} : { minSamples: options.minSamples }),
          ...(options.cooldown === undefined ? {} : { cooldownMs: options.cooldown }),
          ...(options.baseline === undefined ? {} : { baseline: { kind: 'fixed', sha: options.baseline } }),
        };
        const out = ctx.output(command);
        const added = await incidentApi(await ctx.client(command)).addMonitor(name, { label, config });
        if (out.json) {
          out.data(view(added));
          return;
        }
        const settings = parsed(added);
        out.line(`added monitor ${added.id} on ${name}:${label}: ${conditionText(settings)}; ${settings.action}`);
      },
    );

  monitor
    .command('rm')
    .description('remove a monitor')
    .argument('<name>', 'prompt name')
    .argument('<id>', 'monitor id', integerOption('the monitor id', 1, 1e12))
    .action(async (nameText: string, id: number, _options: object, command: Command) => {
      const name = promptNameArg(nameText);
      const out = ctx.output(command);
      await incidentApi(await ctx.client(command)).removeMonitor(name, id);
      if (out.json) out.data({ removed: id, name });
      else out.line(`removed monitor ${id} from ${name}`);
    });
};
