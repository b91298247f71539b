import { isPromptopsError } from '@promptops/core/errors';
import {
  checkRules,
  targetingRules,
  type ServeChecker,
  type TargetingCondition,
  type TargetingRule,
} from '@promptops/core/rollouts';
import type { ParsedRules } from '../../components/rules-editor';

/**
 * Targeting rules as text (a rollout's, and a label's own): one line per rule, and the editor's JSON
 * checked by core.
 */

/** A label's own rule as the API shows it: another label, or a version (with its sha once stored). */
export interface LabelRuleView {
  readonly name?: string;
  readonly when: readonly TargetingCondition[];
  readonly serve: { readonly label: string } | { readonly version: number; readonly sha?: string };
}

const conditionText = (c: TargetingCondition): string =>
  `${c.attribute} ${c.op} ${c.op === 'in' || c.op === 'not_in' ? `[${c.values.join(', ')}]` : JSON.stringify(c.values[0])}`;

/** `"acme first": tenant in [acme] → the candidate`, as the CLI prints it. */
export const ruleSummary = (rule: TargetingRule | LabelRuleView): string => {
  const when = rule.when.length === 0 ? 'everyone' : rule.when.map(conditionText).join(' and ');
  const serve =
    'label' in rule.serve
      ? `label ${rule.serve.label}`
      : 'version' in rule.serve
        ? `v${rule.serve.version}`
        : 'arm' in rule.serve
          ? `the ${rule.serve.arm}`
          : `${rule.serve.percentage} % to the candidate`;
  return `${rule.name === undefined ? '' : `"${rule.name}": `}${when} → ${serve}`;
};

/** The editor's text read by `check`: empty clears the rules; otherwise a JSON list, or every problem named. */
const parseRulesWith =
  <R>(check: (value: unknown) => R[]) =>
  (text: string): ParsedRules<R> => {
    if (text.trim() === '') return { ok: true, rules: null };
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (error) {
      return { ok: false, problems: [`not JSON: ${(error as Error).message}`] };
    }
    try {
      const rules = check(value);
      return { ok: true, rules: rules.length === 0 ? null : rules };
    } catch (error) {
      if (!isPromptopsError(error)) throw error;
      return { ok: false, problems: (error.issues ?? []).map((i) => `${i.path}: ${i.message}`) };
    }
  };

/** A rollout's rules, checked entirely by core. */
export const parseRulesText = parseRulesWith(targetingRules);

/**
 * A label rule's serve, left to the server (core's check of it needs the prompt schema, too big for the
 * dashboard): the server names a bad one in its error.
 */
const anyServe: ServeChecker<LabelRuleView['serve']> = (input, path, issues) => {
  if (typeof input === 'object' && input !== null && !Array.isArray(input)) return input as LabelRuleView['serve'];
  issues.push({ path, message: 'must be exactly one of { "label": "beta" } or { "version": 17 }' });
  return undefined;
};

/** A label's own rules: the conditions checked by core here, the serve by the server. */
export const parseLabelRulesText = parseRulesWith((value) => checkRules(value, anyServe));
