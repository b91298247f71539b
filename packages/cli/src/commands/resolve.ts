import type { Command } from 'commander';
import {
  PromptopsError,
  explainResolution,
  shortSha,
  type EvaluationContext,
  type ResolutionExplanation,
  type Snapshot,
} from '@promptops/core';
import { labelArg, promptNameArg, type CommandContext } from '../context.js';
import { UsageError } from '../errors.js';
import type { Colors, Output } from '../output.js';
import { ruleText } from '../rollout-print.js';

/**
 * `promptops resolve NAME --context JSON`: what an SDK or the gateway would serve this caller, and why,
 * decided here with core's explainResolution over the server's snapshot (the same function and data the
 * SDKs use), so the answer is the one they give.
 */

const contextArg = (text: string): EvaluationContext => {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new UsageError(
      'usage.invalid_context',
      `--context takes a JSON object, got ${JSON.stringify(text.slice(0, 80))}`,
      {
        fix: `e.g. --context '{"targetingKey":"u1","tenant":"acme"}'`,
      },
    );
  }
  return parsed as EvaluationContext;
};

const CAUSES: Record<ResolutionExplanation['cause'], string> = {
  not_found: 'not in the snapshot',
  pinned: 'a pinned version: rollouts and rules do not apply',
  no_rollout: 'no rollout on the label: its version serves everyone',
  label_rule: "a rule on the label matched: it serves this instead of the label's version",
  killed: 'the rollout is killed: everyone gets the baseline',
  rule: 'a targeting rule matched',
  ramp: 'no rule matched: the ramp decided',
};

const printExplanation = (x: ResolutionExplanation, ref: string, out: Output): void => {
  const c: Colors = out.colors;
  const r = x.resolution!;
  out.line(`${ref} → v${r.version} ${c.dim(shortSha(r.sha))} (${r.label ?? 'pinned'}, ${c.bold(r.variant)})`);
  out.line(`  ${CAUSES[x.cause]}`);
  if (x.rollout !== null) {
    const { rollout } = x;
    out.line(
      `  rollout ${rollout.id}: ${rollout.mode}, ${rollout.state}${rollout.killed === true ? ', killed' : ''}, ramp ${rollout.ramp} %, candidate ${c.dim(shortSha(rollout.candidateSha))}`,
    );
  }
  if (x.rule !== null) {
    const whose = x.cause === 'label_rule' ? 'label rule' : 'rule';
    out.line(`  ${whose} ${x.rule.index + 1}: ${ruleText(x.rule.rule)}`);
  }
  if (x.unitKey !== null)
    out.line(`  unit ${JSON.stringify(x.unitKey)}${x.bucket === null ? '' : `, bucket ${x.bucket}`}`);
  if (r.shadow !== null) out.line(`  a copy of the call goes to v${r.shadow.version} ${c.dim(shortSha(r.shadow.sha))}`);
};

export const registerResolve = (program: Command, ctx: CommandContext): void => {
  program
    .command('resolve')
    .description(
      "what a caller is served and why: the rule that matched, the arm and the sha (from the server's snapshot)",
    )
    .argument('<name>', 'prompt name')
    .option('-l, --label <label>', 'the label asked for', 'production')
    .option('--context <json>', 'the evaluation context, e.g. \'{"targetingKey":"u1","tenant":"acme"}\'', contextArg)
    .option('--unit <key>', 'the unit key (default: the context targetingKey)')
    .action(
      async (
        nameText: string,
        options: { label: string; context?: EvaluationContext; unit?: string },
        command: Command,
      ) => {
        const name = promptNameArg(nameText);
        const label = labelArg(options.label);
        const out = ctx.output(command);
        const client = await ctx.client(command);
        const snapshot = await client.request<Snapshot>('GET', '/snapshot');
        const x = explainResolution(snapshot, name, {
          label,
          ...(options.unit === undefined ? {} : { unitKey: options.unit }),
          ...(options.context === undefined ? {} : { context: options.context }),
        });
        if (x.resolution === undefined) {
          throw new PromptopsError(
            'not_found',
            'prompt_not_found',
            `'${name}' has no label '${label}' in the snapshot`,
            {
              fix: `see its labels: promptops labels ${name}`,
              details: { name, label },
            },
          );
        }
        if (out.json) {
          const { content: _content, shadow, ...served } = x.resolution;
          out.data({
            ...x,
            resolution: { ...served, shadow: shadow === null ? null : { ...shadow, content: undefined } },
          });
          return;
        }
        printExplanation(x, `${name}@${label}`, out);
      },
    );
};
