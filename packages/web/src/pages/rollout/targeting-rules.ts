import { isPromptopsError } from '@promptops/core/errors';
import { targetingRules, type TargetingCondition, type TargetingRule } from '@promptops/core/rollouts';

/** The rollout page's targeting rules as text: one line per rule, and the editor's JSON checked by core. */

const conditionText = (c: TargetingCondition): string =>
  `${c.attribute} ${c.op} ${c.op === 'in' || c.op === 'not_in' ? `[${c.values.join(', ')}]` : JSON.stringify(c.values[0])}`;

/** `"acme first": tenant in [acme] → the candidate`, as the CLI prints it. */
export const ruleSummary = (rule: TargetingRule): string => {
  const when = rule.when.length === 0 ? 'everyone' : rule.when.map(conditionText).join(' and ');
  const serve =
    'label' in rule.serve
      ? `label ${rule.serve.label}`
      : 'arm' in rule.serve
        ? `the ${rule.serve.arm}`
        : `${rule.serve.percentage} % to the candidate`;
  return `${rule.name === undefined ? '' : `"${rule.name}": `}${when} → ${serve}`;
};

export type ParsedRules =
  | { readonly ok: true; readonly rules: TargetingRule[] | null }
  | { readonly ok: false; readonly problems: readonly string[] };

/** The editor's text: empty clears the rules; otherwise a JSON list core accepts, or every problem named. */
export const parseRulesText = (text: string): ParsedRules => {
  if (text.trim() === '') return { ok: true, rules: null };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return { ok: false, problems: [`not JSON: ${(error as Error).message}`] };
  }
  try {
    const rules = targetingRules(value);
    return { ok: true, rules: rules.length === 0 ? null : rules };
  } catch (error) {
    if (!isPromptopsError(error)) throw error;
    return { ok: false, problems: (error.issues ?? []).map((i) => `${i.path}: ${i.message}`) };
  }
};
