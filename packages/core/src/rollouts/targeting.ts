import { PromptopsError, formatIssues, type FieldIssue } from '../errors.js';
import { assignArm, rampThreshold, type Arm } from './assignment.js';
import { RegexSyntaxError, compileSafeRegex, type SafeRegex } from './safe-regex.js';

/**
 * Targeting rules on a rollout: conditions on the caller's evaluation context, tried in order, the first
 * match deciding what the unit is served (a label, an arm, or a percentage of the segment bucketed like
 * the ramp); no match leaves the unit to the ramp. A killed rollout serves everyone the baseline.
 * Pure data, checked once by `targetingRules`; no code runs. Decision: docs/decisions/targeting.md;
 * vectors: conformance/targeting.json.
 */

export const TARGETING_OPS = ['equals', 'not_equals', 'in', 'not_in', 'regex', 'semver_gte', 'semver_lt'] as const;
export type TargetingOp = (typeof TARGETING_OPS)[number];

export interface TargetingCondition {
  /** A context attribute: `targetingKey`, `tenant`, `plan`, `appVersion`… */
  readonly attribute: string;
  readonly op: TargetingOp;
  /** One value for equals, not_equals, regex and the semver ops; a list for in / not_in. */
  readonly values: readonly string[];
}

export type TargetingServe =
  | { readonly label: string }
  | { readonly arm: Arm }
  /** The candidate for this share of the segment's units (bucketed on the rollout's salt, as the ramp). */
  | { readonly percentage: number };

export interface TargetingRule {
  readonly name?: string;
  /** Every condition must hold; none matches everyone. */
  readonly when: readonly TargetingCondition[];
  readonly serve: TargetingServe;
}

/** The caller's attributes (OpenFeature's evaluation context): strings, booleans and whole numbers compare. */
export type EvaluationContext = Readonly<Record<string, unknown>>;

export const TARGETING_LIMITS = { rules: 50, conditions: 20, values: 1000, valueLength: 256, nameLength: 100 };

/** What a rollout decides for one call. */
export interface TargetingOutcome {
  /** `killed`: the kill switch; `rule`: rule `rule` matched; `ramp`: no rule matched (or none exist). */
  readonly cause: 'killed' | 'rule' | 'ramp';
  /** The index of the matching rule, or null. */
  readonly rule: number | null;
  /** A rule serving a label; null otherwise. */
  readonly label: string | null;
  /** The arm, or null when a rule serves a label. */
  readonly arm: Arm | null;
  /** The unit's bucket when one was computed (a percentage rule or the ramp), else null. */
  readonly bucket: number | null;
}

// ---- matching -------------------------------------------------------------------------------------

/** The attribute as compared: strings as they are, booleans as true/false, safe integers in decimal. */
export const contextValue = (context: EvaluationContext | undefined, attribute: string): string | undefined => {
  if (context === undefined || !Object.prototype.hasOwnProperty.call(context, attribute)) return undefined;
  const value = context[attribute];
  if (typeof value === 'string') return value;
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value === 'number' && Number.isSafeInteger(value)) return String(value);
  return undefined;
};

interface Semver {
  readonly core: readonly string[];
  readonly pre: readonly string[];
}

const SEMVER =
  /^v?(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\+[0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*)?$/;

/** Semantic Versioning 2.0.0 (an optional leading `v`; build metadata ignored), else undefined. */
export const parseSemver = (text: string): Semver | undefined => {
  const m = SEMVER.exec(text);
  if (m === null) return undefined;
  return { core: [m[1]!, m[2]!, m[3]!], pre: m[4] === undefined ? [] : m[4].split('.') };
};

const NUMERIC = /^\d+$/;
/** Numeric identifiers without leading zeros: the longer is larger, else compare as text. */
const compareNumeric = (a: string, b: string): number =>
  a.length !== b.length ? a.length - b.length : a < b ? -1 : a > b ? 1 : 0;

const compareIdentifier = (a: string, b: string): number => {
  const na = NUMERIC.test(a);
  const nb = NUMERIC.test(b);
  if (na && nb) return compareNumeric(a, b);
  if (na !== nb) return na ? -1 : 1;
  return a < b ? -1 : a > b ? 1 : 0;
};

/** Precedence by SemVer 2.0.0 §11: a pre-release is below its release. */
export const compareSemver = (a: Semver, b: Semver): number => {
  for (let i = 0; i < 3; i++) {
    const c = compareNumeric(a.core[i]!, b.core[i]!);
    if (c !== 0) return c;
  }
  if (a.pre.length === 0 || b.pre.length === 0) return b.pre.length - a.pre.length;
  for (let i = 0; i < Math.min(a.pre.length, b.pre.length); i++) {
    const c = compareIdentifier(a.pre[i]!, b.pre[i]!);
    if (c !== 0) return c;
  }
  return a.pre.length - b.pre.length;
};

const regexes = new Map<string, SafeRegex>();
const regexFor = (source: string): SafeRegex => {
  let regex = regexes.get(source);
  if (regex === undefined) {
    if (regexes.size >= 1000) regexes.clear();
    regex = compileSafeRegex(source);
    regexes.set(source, regex);
  }
  return regex;
};

/** Whether one condition holds; an attribute the context lacks (or cannot compare) never matches. */
export const conditionMatches = (condition: TargetingCondition, context: EvaluationContext | undefined): boolean => {
  const value = contextValue(context, condition.attribute);
  if (value === undefined) return false;
  const first = condition.values[0] ?? '';
  switch (condition.op) {
    case 'equals':
      return value === first;
    case 'not_equals':
      return value !== first;
    case 'in':
      return condition.values.includes(value);
    case 'not_in':
      return !condition.values.includes(value);
    case 'regex':
      return regexFor(first).test(value);
    case 'semver_gte':
    case 'semver_lt': {
      const have = parseSemver(value);
      const bound = parseSemver(first);
      if (have === undefined || bound === undefined) return false;
      const c = compareSemver(have, bound);
      return condition.op === 'semver_gte' ? c >= 0 : c < 0;
    }
  }
};

/** The index of the first rule whose conditions all hold, or null. */
export const matchRule = (
  rules: readonly { readonly when: readonly TargetingCondition[] }[],
  context: EvaluationContext | undefined,
): number | null => {
  for (let i = 0; i < rules.length; i++) {
    if (rules[i]!.when.every((condition) => conditionMatches(condition, context))) return i;
  }
  return null;
};

/** The parts of a rollout its decision reads (SnapshotRollout has them). */
export interface TargetedRollout {
  readonly salt: string;
  readonly ramp: number;
  readonly rules?: readonly TargetingRule[];
  readonly killed?: boolean;
}

/**
 * What `rollout` decides for a unit (null or "" when there is none) with `context`: the kill switch
 * first, then the first matching rule, then the ramp (assignArm). Every SDK and the gateway call this.
 */
export const decideTargeting = (
  rollout: TargetedRollout,
  unitKey: string | null | undefined,
  context: EvaluationContext | undefined,
): TargetingOutcome => {
  if (rollout.killed === true) return { cause: 'killed', rule: null, label: null, arm: 'baseline', bucket: null };
  const rules = rollout.rules;
  const index = rules === undefined || rules.length === 0 ? null : matchRule(rules, context);
  if (index === null) {
    const { arm, bucket } = assignArm(rollout.salt, unitKey, rollout.ramp);
    return { cause: 'ramp', rule: null, label: null, arm, bucket };
  }
  const serve = rules![index]!.serve;
  if ('label' in serve) return { cause: 'rule', rule: index, label: serve.label, arm: null, bucket: null };
  if ('arm' in serve) return { cause: 'rule', rule: index, label: null, arm: serve.arm, bucket: null };
  const { arm, bucket } = assignArm(rollout.salt, unitKey, serve.percentage);
  return { cause: 'rule', rule: index, label: null, arm, bucket };
};

// ---- checking user input --------------------------------------------------------------------------

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const checkCondition = (input: unknown, path: string, issues: FieldIssue[]): TargetingCondition | undefined => {
  if (!isObject(input)) {
    issues.push({ path, message: 'must be an object { attribute, op, values }' });
    return undefined;
  }
  const { attribute, op, values } = input;
  const before = issues.length;
  if (typeof attribute !== 'string' || attribute === '' || attribute.length > TARGETING_LIMITS.nameLength) {
    issues.push({ path: `${path}.attribute`, message: 'must be a context attribute name, e.g. "tenant"' });
  }
  if (!TARGETING_OPS.includes(op as TargetingOp)) {
    issues.push({
      path: `${path}.op`,
      message: `must be one of ${TARGETING_OPS.join(', ')}, got ${JSON.stringify(op)}`,
    });
  }
  const list = op === 'in' || op === 'not_in';
  if (
    !Array.isArray(values) ||
    values.length === 0 ||
    values.length > TARGETING_LIMITS.values ||
    !values.every((v) => typeof v === 'string' && v.length <= TARGETING_LIMITS.valueLength)
  ) {
    issues.push({
      path: `${path}.values`,
      message: `must be a list of 1 to ${TARGETING_LIMITS.values} strings of at most ${TARGETING_LIMITS.valueLength} characters`,
    });
  } else if (!list && values.length !== 1) {
    issues.push({ path: `${path}.values`, message: `${String(op)} takes exactly one value, got ${values.length}` });
  } else if (op === 'regex') {
    try {
      compileSafeRegex(values[0] as string);
    } catch (error) {
      if (!(error instanceof RegexSyntaxError)) throw error;
      issues.push({ path: `${path}.values[0]`, message: `not a supported pattern: ${error.message}` });
    }
  } else if ((op === 'semver_gte' || op === 'semver_lt') && parseSemver(values[0] as string) === undefined) {
    issues.push({
      path: `${path}.values[0]`,
      message: `must be a semantic version such as 2.4.0, got ${JSON.stringify(values[0])}`,
    });
  }
  if (issues.length > before) return undefined;
  return { attribute: attribute as string, op: op as TargetingOp, values: [...(values as string[])] };
};

const checkServe = (input: unknown, path: string, issues: FieldIssue[]): TargetingServe | undefined => {
  const keys = isObject(input) ? Object.keys(input) : [];
  if (!isObject(input) || keys.length !== 1) {
    issues.push({
      path,
      message: 'must be exactly one of { "label": L }, { "arm": "baseline" | "candidate" }, { "percentage": n }',
    });
    return undefined;
  }
  if ('label' in input) {
    if (typeof input.label === 'string' && /^[a-z][a-z0-9_-]{0,62}$/.test(input.label) /* refs.ts LABEL_PATTERN */)
      return { label: input.label };
    issues.push({ path: `${path}.label`, message: 'must be a label name such as "candidate" or "beta"' });
  } else if ('arm' in input) {
    if (input.arm === 'baseline' || input.arm === 'candidate') return { arm: input.arm };
    issues.push({ path: `${path}.arm`, message: `must be baseline or candidate, got ${JSON.stringify(input.arm)}` });
  } else if ('percentage' in input) {
    try {
      rampThreshold(input.percentage as number, `${path}.percentage`);
      return { percentage: input.percentage as number };
    } catch {
      issues.push({
        path: `${path}.percentage`,
        message: 'must be a percentage from 0 to 100 with at most two decimals',
      });
    }
  } else issues.push({ path, message: `unknown serve ${JSON.stringify(keys[0])}: use label, arm or percentage` });
  return undefined;
};

/** Rules from user input (a list); every bad field is named in one invalid_targeting_rules error. */
export const targetingRules = (input: unknown): TargetingRule[] => checkRules(input, checkServe);

/** A rule's `serve`, checked: the value, or undefined with an issue pushed. */
export type ServeChecker<S> = (input: unknown, path: string, issues: FieldIssue[]) => S | undefined;

/**
 * Rules `{ name?, when, serve }` from user input, `serve` checked by `serveOf`: a rollout's rules and a
 * label's (label-rules.ts) share the conditions, limits and error.
 */
export const checkRules = <S>(
  input: unknown,
  serveOf: ServeChecker<S>,
): { name?: string; when: TargetingCondition[]; serve: S }[] => {
  const issues: FieldIssue[] = [];
  const rules: { name?: string; when: TargetingCondition[]; serve: S }[] = [];
  if (!Array.isArray(input) || input.length > TARGETING_LIMITS.rules) {
    issues.push({
      path: '',
      message: `rules must be a list of at most ${TARGETING_LIMITS.rules} rules { when, serve }`,
    });
  } else {
    input.forEach((rule: unknown, i) => {
      const path = `rules[${i}]`;
      if (!isObject(rule)) {
        issues.push({ path, message: 'must be an object { name?, when: [...], serve: {...} }' });
        return;
      }
      const unknown = Object.keys(rule).filter((k) => k !== 'name' && k !== 'when' && k !== 'serve');
      if (unknown.length > 0)
        issues.push({ path, message: `unknown field ${unknown.join(', ')}: a rule has name, when, serve` });
      const { name, when } = rule;
      if (name !== undefined && (typeof name !== 'string' || name.length > TARGETING_LIMITS.nameLength)) {
        issues.push({
          path: `${path}.name`,
          message: `must be text of at most ${TARGETING_LIMITS.nameLength} characters`,
        });
      }
      const conditions: TargetingCondition[] = [];
      if (!Array.isArray(when) || when.length > TARGETING_LIMITS.conditions) {
        issues.push({
          path: `${path}.when`,
          message: `must be a list of at most ${TARGETING_LIMITS.conditions} conditions ([] matches everyone)`,
        });
      } else {
        when.forEach((c: unknown, j) => {
          const condition = checkCondition(c, `${path}.when[${j}]`, issues);
          if (condition !== undefined) conditions.push(condition);
        });
      }
      const serve = serveOf(rule.serve, `${path}.serve`, issues);
      if (serve !== undefined) rules.push({ ...(typeof name === 'string' ? { name } : {}), when: conditions, serve });
    });
  }
  if (issues.length > 0) {
    throw new PromptopsError(
      'invalid',
      'invalid_targeting_rules',
      `the targeting rules are not valid:\n${formatIssues(issues)}`,
      {
        issues,
        fix: 'correct the fields named above (docs/decisions/targeting.md lists the operators and what serve takes)',
      },
    );
  }
  return rules;
};
