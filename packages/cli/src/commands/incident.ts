import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { formatDuration, type IncidentFigures, type TimelineEntry } from '@promptops/core';
import { labelArg, promptNameArg, type CommandContext } from '../context.js';
import { incidentApi, type Incident, type IncidentDetail, type IncidentState } from '../incident-api.js';
import type { Output } from '../output.js';
import { formatTime } from '../output.js';

/** `promptops incident …`: open one by hand, list, show its timeline and figures, ack, resolve, postmortem. */

const STATES: readonly IncidentState[] = ['open', 'acknowledged', 'resolved'];
const EXIT_CODES = 'Exit codes: 0 done, 1 an error (unknown incident, already resolved, server), 2 usage.';

const idArg = (text: string): number => {
  if (!/^[1-9][0-9]{0,9}$/.test(text)) throw new InvalidArgumentError('the incident id is a number, e.g. 1');
  return Number(text);
};

const stateOption = (text: string): IncidentState => {
  if (!(STATES as readonly string[]).includes(text)) {
    throw new InvalidArgumentError(`state must be one of ${STATES.join(', ')}`);
  }
  return text as IncidentState;
};

const headline = (incident: Incident): string =>
  `incident ${incident.id} [${incident.state}] ${incident.promptName}:${incident.label}: ${incident.title}`;

const score = (value: number | null): string => (value === null ? '—' : value.toFixed(2));

/** `+35s` after the timeline's start: how the story reads at a glance. */
const offset = (entry: TimelineEntry, start: number): string => {
  const ms = Date.parse(entry.at) - start;
  return ms <= 0 ? '' : `+${formatDuration(ms)}`;
};

const printFigures = (figures: IncidentFigures, out: Output): void => {
  const share = figures.shareAffected === null ? '' : ` (${(figures.shareAffected * 100).toFixed(1)} % of the label's)`;
  out.table([
    ['time to detect', formatDuration(figures.timeToDetectMs)],
    ['time to mitigate', formatDuration(figures.timeToMitigateMs)],
    ['time to recover', formatDuration(figures.timeToRecoverMs)],
    ['traces affected', `${figures.tracesAffected}${share}`],
    [
      'mean score',
      `before ${score(figures.scores.before)}, during ${score(figures.scores.during)}, after ${score(figures.scores.after)}`,
    ],
  ]);
};

export const printIncident = (detail: IncidentDetail, out: Output): void => {
  const c = out.colors;
  out.line(c.bold(headline(detail.incident)));
  out.line(`opened ${formatTime(detail.incident.openedAt)} by ${detail.incident.openedBy}`);
  if (detail.conditions.length > 0) out.line(`monitor conditions: ${detail.conditions.join(', ')}`);
  out.line();
  out.line('Timeline');
  const start = Date.parse(detail.timeline[0]?.at ?? detail.incident.openedAt);
  out.table(
    detail.timeline.map((entry) => [
      formatTime(entry.at),
      c.dim(offset(entry, start)),
      entry.kind,
      entry.actor ?? '',
      entry.text,
    ]),
  );
  out.line();
  out.line('Figures');
  printFigures(detail.figures, out);
};

export const registerIncident = (program: Command, ctx: CommandContext): void => {
  const incident = program
    .command('incident')
    .description('incidents: a bad version on a label, from detection to recovery (timeline, figures, postmortem)')
    .addHelpText(
      'after',
      `
Examples:
  promptops incident open customer_support_greeter --label production -m "answers are rude"
  promptops incident list --state open
  promptops incident show 1
  promptops incident postmortem 1 > postmortem.md

${EXIT_CODES}`,
    );

  incident
    .command('open')
    .description('open an incident by hand on a prompt label (a monitor opens its own)')
    .argument('<name>', 'prompt name')
    .requiredOption('-l, --label <label>', 'the label serving the bad version')
    .requiredOption('-m, --message <text>', 'what is wrong (the title)')
    .action(async (nameText: string, options: { label: string; message: string }, command: Command) => {
      const name = promptNameArg(nameText);
      const label = labelArg(options.label);
      const out = ctx.output(command);
      const opened = await incidentApi(await ctx.client(command)).open({ name, label, message: options.message });
      if (out.json) {
        out.data(opened);
        return;
      }
      out.line(`opened ${headline(opened)}`);
      out.line(`follow it: promptops incident show ${opened.id}`);
    });

  incident
    .command('list')
    .description("the project's incidents, newest first")
    .option('--state <state>', `only this state (${STATES.join(', ')})`, stateOption)
    .action(async (options: { state?: IncidentState }, command: Command) => {
      const out = ctx.output(command);
      const incidents = await incidentApi(await ctx.client(command)).list(options.state);
      if (out.json) {
        out.data({ incidents });
        return;
      }
      if (incidents.length === 0) {
        out.line('no incidents');
        return;
      }
      out.table(
        incidents.map((i) => [
          String(i.id),
          i.state,
          i.promptName,
          out.colors.green(i.label),
          i.title,
          i.openedBy,
          formatTime(i.openedAt),
        ]),
        ['id', 'state', 'prompt', 'label', 'title', 'opened by', 'opened'],
      );
    });

  incident
    .command('show')
    .description('an incident: its timeline (with times) and figures (time to detect, mitigate, recover; impact)')
    .argument('<id>', 'incident id', idArg)
    .action(async (id: number, _options: object, command: Command) => {
      const out = ctx.output(command);
      const detail = await incidentApi(await ctx.client(command)).show(id);
      if (out.json) out.data(detail);
      else printIncident(detail, out);
    });

  incident
    .command('ack')
    .description('acknowledge an incident (someone is on it)')
    .argument('<id>', 'incident id', idArg)
    .action(async (id: number, _options: object, command: Command) => {
      const out = ctx.output(command);
      const acked = await incidentApi(await ctx.client(command)).ack(id);
      if (out.json) out.data(acked);
      else out.line(`acknowledged ${headline(acked)}`);
    });

  incident
    .command('resolve')
    .description('resolve an incident')
    .argument('<id>', 'incident id', idArg)
    .option('-m, --message <text>', 'how it was resolved (on the timeline)')
    .action(async (id: number, options: { message?: string }, command: Command) => {
      const out = ctx.output(command);
      const resolved = await incidentApi(await ctx.client(command)).resolve(id, options.message);
      if (out.json) out.data(resolved);
      else out.line(`resolved ${headline(resolved)}`);
    });

  incident
    .command('postmortem')
    .description('print a Markdown postmortem draft: summary, timeline, impact, the cause, what would have caught it')
    .argument('<id>', 'incident id', idArg)
    .action(async (id: number, _options: object, command: Command) => {
      const out = ctx.output(command);
      const markdown = await incidentApi(await ctx.client(command)).postmortem(id);
      if (out.json) out.data({ id, markdown });
      else for (const line of markdown.trimEnd().split('\n')) out.line(line);
    });
};
