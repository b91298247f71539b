import type { FieldIssue } from './errors.js';
import { LABEL_PATTERN } from './refs.js';
import { checkRules, type TargetingCondition } from './rollouts/targeting.js';

/**
 * Targeting rules on a bare label (no rollout needed): a context matching a rule is served a named
 * version, or another label's, instead of what the label points at. The conditions are a rollout's
 * (rollouts/targeting.ts: same operators, limits and matching); tried before the label's rollout, if
 * any. Decision: docs/decisions/targeting.md.
 */

/** A label rule as set through the API: serve another label, or a version by number. */
export interface LabelRuleInput {
  readonly name?: string;
  readonly when: readonly TargetingCondition[];
  readonly serve: { readonly label: string } | { readonly version: number };
}

const checkLabelServe = (input: unknown, path: string, issues: FieldIssue[]): LabelRuleInput['serve'] | undefined => {
  const record = typeof input === 'object' && input !== null && !Array.isArray(input) ? input : undefined;
  const keys = record === undefined ? [] : Object.keys(record);
  if (record === undefined || keys.length !== 1) {
    issues.push({ path, message: 'must be exactly one of { "label": "beta" } or { "version": 17 }' });
    return undefined;
  }
  if ('label' in record) {
    const { label } = record as { label: unknown };
    if (typeof label === 'string' && LABEL_PATTERN.test(label)) return { label };
    issues.push({ path: `${path}.label`, message: 'must be a label name such as "candidate" or "beta"' });
  } else if ('version' in record) {
    const { version } = record as { version: unknown };
    if (typeof version === 'number' && Number.isSafeInteger(version) && version > 0) return { version };
    issues.push({
      path: `${path}.version`,
      message: `must be a version number such as 17, got ${JSON.stringify(version)}`,
    });
  } else issues.push({ path, message: `unknown serve ${JSON.stringify(keys[0])}: use label or version` });
  return undefined;
};

/** A label's rules from user input; every bad field named in one invalid_targeting_rules error. */
export const labelRules = (input: unknown): LabelRuleInput[] => checkRules(input, checkLabelServe);
