import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { isPromptopsError, labelRules, type LabelRuleInput } from '@promptops/core';
import { labelArg, promptNameArg, type CommandContext } from '../context.js';
import { UsageError } from '../errors.js';
import { ruleText } from '../rollout-print.js';

/**
 * `promptops label-rules NAME -l LABEL [--set FILE | --clear]`: a label's own targeting rules (no rollout
 * needed): a matching context is served a version or another label instead. Checked by core before sending.
 */

interface LabelRulesView {
  readonly name: string;
  readonly label: string;
  readonly rules: readonly (LabelRuleInput & { readonly serve: { readonly sha?: string } })[];
  readonly updatedBy: string | null;
  readonly updatedAt: string | null;
}

/** Rules from a JSON file (a list, or { "rules": [...] }); a bad field is a usage error naming it. */
const rulesFile = (path: string, cwd: string): LabelRuleInput[] => {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(resolve(cwd, path), 'utf8'));
  } catch (error) {
    throw new UsageError('usage.unreadable_rules', `--set ${path}: ${(error as Error).message}`, {
      fix: 'give a JSON file holding a list of rules { when: [...], serve: { "version": N } or { "label": L } }',
    });
  }
  const list =
    typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) && 'rules' in parsed
      ? (parsed as { rules: unknown }).rules
      : parsed;
  try {
    return labelRules(list);
  } catch (error) {
    if (isPromptopsError(error)) throw UsageError.from(error);
    throw error;
  }
};

export const registerLabelRules = (program: Command, ctx: CommandContext): void => {
  program
    .command('label-rules')
    .description("show a label's own targeting rules, or set (--set FILE) or clear (--clear) them")
    .argument('<name>', 'prompt name')
    .option('-l, --label <label>', 'the label', 'production')
    .option('--set <file>', 'a JSON file of rules, tried in order before what the label serves')
    .option('--clear', 'remove every rule')
    .action(async (nameText: string, options: { label: string; set?: string; clear?: boolean }, command: Command) => {
      if (options.set !== undefined && options.clear === true) {
        throw new UsageError('usage.conflicting_options', '--set and --clear cannot be used together', {
          fix: 'give one of them, or neither to see the rules',
        });
      }
      const name = promptNameArg(nameText);
      const label = labelArg(options.label);
      const rules = options.set === undefined ? undefined : rulesFile(options.set, ctx.io.cwd);
      const out = ctx.output(command);
      const client = await ctx.client(command);
      const path = `/prompts/${encodeURIComponent(name)}/labels/${encodeURIComponent(label)}/rules`;
      const view =
        rules !== undefined
          ? await client.request<LabelRulesView>('PUT', path, { rules })
          : options.clear === true
            ? await client.request<LabelRulesView>('DELETE', path)
            : await client.request<LabelRulesView>('GET', path);
      if (out.json) {
        out.data(view);
        return;
      }
      const did = rules !== undefined ? 'set the rules of ' : options.clear === true ? 'cleared the rules of ' : '';
      out.line(`${did}${name}@${label}`);
      if (view.rules.length === 0) {
        out.line("  no rules: the label's version serves everyone");
        return;
      }
      view.rules.forEach((rule, i) => out.line(`  ${i + 1}. ${ruleText(rule)}`));
      out.line("  anyone else: the label's version (or its rollout)");
    });
};
