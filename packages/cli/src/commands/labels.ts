import type { Command } from 'commander';
import { shortSha, type DeploymentRecord, type LabelRecord } from '@promptops/core';
import { labelArg, nameRefArgs, promptNameArg, refArg, type CommandContext } from '../context.js';
import { formatTime, versionRef } from '../output.js';

/** Labels are movable pointers (`production` -> sha); every move is a deployment record. */

/** `{ version, sha }` of one side of a move, or null when the label pointed nowhere before. */
const side = (version: number | null, sha: string | null): { version: number; sha: string } | null =>
  version === null || sha === null ? null : { version, sha };

export const registerLabels = (program: Command, ctx: CommandContext): void => {
  program
    .command('labels')
    .description("list a prompt's labels, or with --history every move of them")
    .argument('<name>', 'prompt name')
    .option('--history', 'list deployment records (promotions, rollbacks, pushes) newest first')
    .option('-l, --label <label>', 'only this label')
    .action(async (nameText: string, options: { history?: boolean; label?: string }, command: Command) => {
      const name = promptNameArg(nameText);
      const label = options.label === undefined ? undefined : labelArg(options.label);
      const out = ctx.output(command);
      const client = await ctx.client(command);
      const c = out.colors;
      if (options.history === true) {
        const { deployments } = await client.deployments(name, label);
        if (out.json) {
          out.data({ name, deployments });
          return;
        }
        if (deployments.length === 0) {
          out.line(`${name}: no deployments${label === undefined ? '' : ` of ${label}`}`);
          return;
        }
        out.table(
          deployments.map((d: DeploymentRecord) => [
            formatTime(d.createdAt),
            d.label,
            d.kind === 'break-glass'
              ? c.red('break-glass')
              : d.changeRequest === undefined
                ? d.kind
                : `${d.kind} #${d.changeRequest}`,
            `${versionRef(d.fromVersion, d.fromSha, c)} -> ${versionRef(d.toVersion, d.toSha, c)}`,
            d.actor,
            d.reason,
          ]),
          ['when', 'label', 'kind', 'move', 'actor', 'reason'],
        );
        return;
      }
      const all = (await client.labels(name)).labels;
      const labels = label === undefined ? all : all.filter((l: LabelRecord) => l.label === label);
      if (out.json) {
        out.data({ name, labels });
        return;
      }
      if (labels.length === 0) {
        out.line(label === undefined ? `${name}: no labels` : `${name}: label ${label} is not set`);
        return;
      }
      out.table(
        labels.map((l: LabelRecord) => [
          c.green(l.label),
          `v${l.version}`,
          c.yellow(shortSha(l.sha)),
          l.updatedBy,
          formatTime(l.updatedAt),
        ]),
        ['label', 'version', 'sha', 'updated by', 'when'],
      );
    });

  program
    .command('promote')
    .description('point a label (e.g. production) at a version')
    .argument('<name>', 'prompt name, or NAME@REF')
    .argument('[ref]', 'version to promote: v17, a sha prefix or a label')
    .requiredOption('-l, --label <label>', 'label to move, e.g. production')
    .option('-r, --reason <text>', 'why (recorded in the deployment history)')
    .option('--force', 'break glass (admin): move a protected label without review; needs --reason, recorded as such')
    .action(
      async (
        first: string,
        second: string | undefined,
        options: { label: string; reason?: string; force?: boolean },
        command: Command,
      ) => {
        const { name, ref } = nameRefArgs(first, second);
        const label = labelArg(options.label);
        const out = ctx.output(command);
        const client = await ctx.client(command);
        const result = await client.setLabel(name, label, {
          ref,
          reason: options.reason,
          ...(options.force === true ? { force: true } : {}),
        });
        const to = { version: result.label.version, sha: result.label.sha };
        const from = result.deployment === null ? to : side(result.deployment.fromVersion, result.deployment.fromSha);
        if (out.json) {
          out.data({ name, label, changed: result.changed, from, to, deployment: result.deployment });
          return;
        }
        const c = out.colors;
        if (!result.changed) {
          out.line(`${c.green(label)}: already at ${versionRef(to.version, to.sha, c)}`);
          return;
        }
        out.line(
          `${c.green(label)}: ${versionRef(from?.version ?? null, from?.sha ?? null, c)} -> ${versionRef(to.version, to.sha, c)}${result.deployment?.kind === 'break-glass' ? c.red(' (break glass, recorded)') : ''}`,
        );
      },
    );

  program
    .command('rollback')
    .description('move a label back to the version it held before (or to --to REF); never blocked by review')
    .argument('<name>', 'prompt name')
    .option('-l, --label <label>', 'label to roll back', 'production')
    .option(
      '--to <ref>',
      'a version the label held before; on a protected label, one that reached it through review or the eval gate (default: the previous such version)',
    )
    .option('-r, --reason <text>', 'why (recorded in the deployment history)')
    .action(async (nameText: string, options: { label: string; to?: string; reason?: string }, command: Command) => {
      const name = promptNameArg(nameText);
      const label = labelArg(options.label);
      const to = options.to === undefined ? undefined : refArg(options.to);
      const out = ctx.output(command);
      const client = await ctx.client(command);
      const result = await client.rollback(name, label, { to, reason: options.reason });
      const d = result.deployment;
      const from = side(d.fromVersion, d.fromSha);
      const target = { version: d.toVersion, sha: d.toSha };
      if (out.json) {
        out.data({ name, label, from, to: target, elapsedMs: result.elapsedMs, deployment: d });
        return;
      }
      const c = out.colors;
      out.line(
        `rolled back ${c.green(label)}: ${versionRef(d.fromVersion, d.fromSha, c)} -> ${versionRef(d.toVersion, d.toSha, c)} in ${Math.round(result.elapsedMs)} ms`,
      );
    });
};
