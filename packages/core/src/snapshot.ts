import { PromptopsError } from './errors.js';
import { parseRef } from './refs.js';
import type { DeploymentKind } from './records.js';
import { assignArm } from './rollouts/assignment.js';
import type { RolloutMode } from './rollouts/config.js';
import {
  decideTargeting,
  matchRule,
  type EvaluationContext,
  type TargetingCondition,
  type TargetingOutcome,
  type TargetingRule,
} from './rollouts/targeting.js';
import { effectivePrompt, type PromptOverride } from './overrides.js';
import type { PromptContent } from './schema.js';

/**
 * A snapshot is what an SDK holds in memory: per prompt, where each label points and the content of
 * every version those labels (or pins) need. The server builds it, the SDK applies change events to it,
 * a lockfile can stand in for it, and `resolveFromSnapshot` is the one resolution both sides use.
 */

export interface SnapshotVersion {
  readonly version: number;
  readonly sha: string;
  readonly content: PromptContent;
}

/**
 * A rollout a label is under (running or paused): units with bucket < ramp x 100 are served the candidate
 * (split), or have their call copied to it (shadow). The baseline is what the label points at.
 */
export interface SnapshotRollout {
  readonly id: string;
  readonly salt: string;
  readonly mode: RolloutMode;
  readonly state: 'running' | 'paused';
  /** Percent, 0..100: the share of units in the candidate (split) or of calls copied (shadow). */
  readonly ramp: number;
  readonly candidate: SnapshotVersion;
  /** Tried in order before the ramp (rollouts/targeting.ts); absent when it has none. */
  readonly rules?: readonly TargetingRule[];
  /** The kill switch: everyone is served the baseline, rules and ramp aside. */
  readonly killed?: boolean;
}

/** A label's own targeting rule (label-rules.ts) as the snapshot carries it: a served version with its content. */
export interface SnapshotLabelRule {
  readonly name?: string;
  readonly when: readonly TargetingCondition[];
  readonly serve: { readonly label: string } | { readonly version: SnapshotVersion };
}

export interface SnapshotPrompt {
  /** label -> sha */
  readonly labels: Readonly<Record<string, string>>;
  /** sha -> version */
  readonly versions: Readonly<Record<string, SnapshotVersion>>;
  /** label -> its active rollout; absent or without the label when none is active. */
  readonly rollouts?: Readonly<Record<string, SnapshotRollout>>;
  /** tenant -> its current override; absent when no tenant has one. */
  readonly overrides?: Readonly<Record<string, SnapshotOverride>>;
  /** label -> its targeting rules (label-rules.ts), tried before its rollout; absent when none has any. */
  readonly labelRules?: Readonly<Record<string, readonly SnapshotLabelRule[]>>;
}

/**
 * A tenant's current override: it serves that tenant's resolutions of `label`, on the version the label
 * resolves to, or on `base` when pinned.
 */
export interface SnapshotOverride {
  readonly version: number;
  readonly sha: string;
  readonly label: string;
  readonly override: PromptOverride;
  readonly base: SnapshotVersion | null;
}

export interface Snapshot {
  readonly project: string;
  /** The change-feed position this snapshot includes (the project's audit seq); resume after it. */
  readonly cursor: number;
  readonly prompts: Readonly<Record<string, SnapshotPrompt>>;
}

export interface ResolveOptions {
  /** Defaults to `production`. */
  readonly label?: string;
  /** Pins an exact version: a full sha or a unique prefix of at least 7 characters. */
  readonly sha?: string;
  /** The unit (user, session, tenant) a rollout assigns to an arm; none: the baseline. */
  readonly unitKey?: string | null;
  /** The caller's attributes for a rollout's targeting rules; its `targetingKey` is the unit key when none is given. */
  readonly context?: EvaluationContext;
}

/** `base`: no rollout on the label; `baseline` / `candidate`: the arm of the label's active rollout. */
export type Variant = 'base' | 'baseline' | 'candidate';

/** The candidate a shadow rollout runs on a copy of this call (its output recorded, never returned). */
export interface ShadowTarget {
  readonly rolloutId: string;
  readonly version: number;
  readonly sha: string;
  readonly content: PromptContent;
}

export interface Resolution {
  readonly name: string;
  readonly version: number;
  readonly sha: string;
  /** The label that resolved it, or null when pinned by sha / version. */
  readonly label: string | null;
  readonly content: PromptContent;
  readonly variant: Variant;
  /** The label's active rollout, or null. */
  readonly rolloutId: string | null;
  readonly shadow: ShadowTarget | null;
  /** The index of the rollout's targeting rule that decided, when one did. */
  readonly rule?: number;
  /** The index of the label's own targeting rule that decided, when one did (no rollout then). */
  readonly labelRule?: number;
}

export const DEFAULT_LABEL = 'production';

const own = <V>(record: Readonly<Record<string, V>>, key: string): V | undefined =>
  Object.prototype.hasOwnProperty.call(record, key) ? record[key] : undefined;

/**
 * Resolves `name` (optionally `name@ref`) against a snapshot without I/O. Returns undefined when the
 * snapshot does not have it, so the caller can try its fallback; throws only on a malformed ref.
 */
export const resolveFromSnapshot = (
  snapshot: Snapshot,
  nameOrRef: string,
  options: ResolveOptions = {},
): Resolution | undefined => {
  const at = nameOrRef.indexOf('@');
  const name = at === -1 ? nameOrRef : nameOrRef.slice(0, at);
  // Own properties only: a prompt or label named like `constructor` must not reach the prototype.
  const prompt = own(snapshot.prompts, name);
  if (prompt === undefined) return undefined;
  if (at !== -1 || options.sha !== undefined) {
    const ref = parseRef(at !== -1 ? nameOrRef.slice(at + 1) : (options.sha ?? ''));
    if (ref.kind === 'label') return byLabel(name, prompt, ref.label, options);
    const versions = Object.values(prompt.versions);
    const matches =
      ref.kind === 'version'
        ? versions.filter((v) => v.version === ref.version)
        : versions.filter((v) => v.sha.startsWith(ref.prefix));
    if (matches.length > 1) {
      throw new PromptopsError('conflict', 'ambiguous_ref', `'${nameOrRef}' matches several versions`, {
        fix: 'use more characters of the sha',
      });
    }
    const found = matches[0];
    return found && { ...served(name, found, null, 'base', null), shadow: null };
  }
  return byLabel(name, prompt, options.label ?? DEFAULT_LABEL, options);
};

const served = (
  name: string,
  v: SnapshotVersion,
  label: string | null,
  variant: Variant,
  rolloutId: string | null,
): Omit<Resolution, 'shadow'> => ({
  name,
  version: v.version,
  sha: v.sha,
  label,
  content: v.content,
  variant,
  rolloutId,
});

/**
 * A label's version, through its rollout when one is active: a split serves the candidate to units in
 * it (assignArm); a shadow serves the baseline and names the candidate for units in its share (a call
 * without a unit key is copied only at 100 %, so the copied share never exceeds the ramp).
 */
const byLabel = (
  name: string,
  prompt: SnapshotPrompt,
  label: string,
  options: ResolveOptions,
): Resolution | undefined => {
  const sha = own(prompt.labels, label);
  const version = sha === undefined ? undefined : own(prompt.versions, sha);
  if (version === undefined) return undefined;
  const rules = prompt.labelRules === undefined ? undefined : own(prompt.labelRules, label);
  if (rules !== undefined) {
    const ruled = byLabelRule(name, prompt, label, rules, options.context);
    if (ruled !== undefined) return ruled;
  }
  const rollout = prompt.rollouts === undefined ? undefined : own(prompt.rollouts, label);
  if (rollout === undefined) return { ...served(name, version, label, 'base', null), shadow: null };
  const unitKey = unitKeyOf(options);
  if (rollout.rules !== undefined || rollout.killed === true) {
    return targeted(name, prompt, label, version, rollout, decideTargeting(rollout, unitKey, options.context));
  }
  const noKey = unitKey === undefined || unitKey === null || unitKey === '';
  const inRamp = noKey ? rollout.ramp >= 100 : assignArm(rollout.salt, unitKey, rollout.ramp).arm === 'candidate';
  if (rollout.mode === 'split' && inRamp && !noKey) {
    return { ...served(name, rollout.candidate, label, 'candidate', rollout.id), shadow: null };
  }
  const { candidate } = rollout;
  const shadow =
    rollout.mode === 'shadow' && inRamp
      ? { rolloutId: rollout.id, version: candidate.version, sha: candidate.sha, content: candidate.content }
      : null;
  return { ...served(name, version, label, 'baseline', rollout.id), shadow };
};

/**
 * What the label's first matching rule serves: a version (variant `base`, under the label asked for) or
 * another label's version (under that label); undefined when no rule matches, or the served label is
 * not in the snapshot (the label's own resolution then serves, as for a rollout's label rule).
 */
const byLabelRule = (
  name: string,
  prompt: SnapshotPrompt,
  label: string,
  rules: readonly SnapshotLabelRule[],
  context: EvaluationContext | undefined,
): Resolution | undefined => {
  const index = matchRule(rules, context);
  if (index === null) return undefined;
  const { serve } = rules[index]!;
  if ('version' in serve)
    return { ...served(name, serve.version, label, 'base', null), shadow: null, labelRule: index };
  const sha = own(prompt.labels, serve.label);
  const other = sha === undefined ? undefined : own(prompt.versions, sha);
  return other && { ...served(name, other, serve.label, 'base', null), shadow: null, labelRule: index };
};

const unitKeyOf = (options: ResolveOptions): string | null | undefined => {
  const key = options.unitKey ?? options.context?.targetingKey;
  return typeof key === 'string' ? key : null;
};

/**
 * A label's version under a rollout with rules or a kill switch, as `outcome` decides: a rule serving a
 * label serves that label's version (variant `base`; the baseline when the snapshot lacks the label),
 * the candidate arm of a split serves the candidate, of a shadow copies the call; the baseline otherwise.
 */
const targeted = (
  name: string,
  prompt: SnapshotPrompt,
  label: string,
  baseline: SnapshotVersion,
  rollout: SnapshotRollout,
  outcome: TargetingOutcome,
): Resolution => {
  const rule = outcome.rule === null ? {} : { rule: outcome.rule };
  if (outcome.label !== null) {
    const sha = own(prompt.labels, outcome.label);
    const other = sha === undefined ? undefined : own(prompt.versions, sha);
    if (other !== undefined)
      return { ...served(name, other, outcome.label, 'base', rollout.id), shadow: null, ...rule };
  }
  if (outcome.arm === 'candidate' && rollout.mode === 'split') {
    return { ...served(name, rollout.candidate, label, 'candidate', rollout.id), shadow: null, ...rule };
  }
  const { candidate } = rollout;
  const shadow =
    outcome.arm === 'candidate'
      ? { rolloutId: rollout.id, version: candidate.version, sha: candidate.sha, content: candidate.content }
      : null;
  return { ...served(name, baseline, label, 'baseline', rollout.id), shadow, ...rule };
};

/** Why a call resolves as it does: `promptops resolve` prints it, tests and support read it. */
export interface ResolutionExplanation {
  readonly resolution: Resolution | undefined;
  /** `pinned`: a sha or version; `no_rollout`: the label alone; else what the label's rollout decided. */
  readonly cause: 'not_found' | 'pinned' | 'no_rollout' | 'label_rule' | 'killed' | 'rule' | 'ramp';
  readonly rollout: (Omit<SnapshotRollout, 'candidate'> & { readonly candidateSha: string }) | null;
  /** The rule that matched (its index in the rollout's rules, or the label's for `label_rule`), or null. */
  readonly rule: { readonly index: number; readonly rule: TargetingRule | SnapshotLabelRule } | null;
  readonly unitKey: string | null;
  /** The unit's bucket (0..9999) when the ramp or a percentage rule computed one. */
  readonly bucket: number | null;
}

/** `resolveFromSnapshot` with the reasons: the same decision, through the same functions. */
export const explainResolution = (
  snapshot: Snapshot,
  nameOrRef: string,
  options: ResolveOptions = {},
): ResolutionExplanation => {
  const resolution = resolveFromSnapshot(snapshot, nameOrRef, options);
  const unitKey = unitKeyOf(options) ?? null;
  const none = { resolution, rollout: null, rule: null, unitKey, bucket: null };
  if (resolution === undefined) return { ...none, cause: 'not_found' };
  if (resolution.labelRule !== undefined) {
    const at = nameOrRef.indexOf('@');
    const label = at === -1 ? (options.label ?? DEFAULT_LABEL) : nameOrRef.slice(at + 1);
    const rule = snapshot.prompts[resolution.name]!.labelRules![label]![resolution.labelRule]!;
    return { ...none, cause: 'label_rule', rule: { index: resolution.labelRule, rule } };
  }
  if (resolution.rolloutId === null) return { ...none, cause: resolution.label === null ? 'pinned' : 'no_rollout' };
  const at = nameOrRef.indexOf('@');
  const label = at === -1 ? (options.label ?? DEFAULT_LABEL) : nameOrRef.slice(at + 1);
  const rollout = snapshot.prompts[resolution.name]!.rollouts![label]!;
  const outcome = decideTargeting(rollout, unitKey, options.context);
  const { candidate, ...rest } = rollout;
  return {
    resolution,
    cause: outcome.cause,
    rollout: { ...rest, candidateSha: candidate.sha },
    rule: outcome.rule === null ? null : { index: outcome.rule, rule: rollout.rules![outcome.rule]! },
    unitKey,
    bucket: outcome.bucket,
  };
};

/**
 * The snapshot after a rollout event (idempotent: at or below the cursor it changes nothing). The
 * candidate's content must have been verified against its sha by the caller, as for a label event.
 */
export const applyRolloutEvent = (snapshot: Snapshot, event: RolloutChangeEvent): Snapshot => {
  if (event.seq <= snapshot.cursor) return snapshot;
  const before = own(snapshot.prompts, event.name);
  if (before === undefined && event.rollout === null) return { ...snapshot, cursor: event.seq };
  const rollouts: Record<string, SnapshotRollout> = { ...before?.rollouts };
  if (event.rollout === null) delete rollouts[event.label];
  else rollouts[event.label] = event.rollout;
  const prompt: SnapshotPrompt = {
    labels: before?.labels ?? {},
    versions: before?.versions ?? {},
    ...(Object.keys(rollouts).length > 0 ? { rollouts } : {}),
    ...(before?.overrides === undefined ? {} : { overrides: before.overrides }),
    ...(before?.labelRules === undefined ? {} : { labelRules: before.labelRules }),
  };
  return { ...snapshot, cursor: event.seq, prompts: { ...snapshot.prompts, [event.name]: prompt } };
};

/**
 * One label move on the change feed (`event: label` on GET /api/v1/stream and GET /api/v1/changes): the
 * label now points at `sha`, and `content` is that version's, so a client needs no second request.
 */
export interface LabelChangeEvent {
  readonly type: 'label';
  /** The audit seq of the move: the event id, and the cursor to resume after. */
  readonly seq: number;
  readonly name: string;
  readonly label: string;
  readonly sha: string;
  readonly version: number;
  readonly kind: DeploymentKind;
  readonly content: PromptContent;
}

/**
 * A rollout's state or ramp changed (`event: rollout`): `rollout` is what the label is now under, or null
 * when none is active any more (completed or aborted; a completion also sends the label's move).
 */
export interface RolloutChangeEvent {
  readonly type: 'rollout';
  readonly seq: number;
  readonly name: string;
  readonly label: string;
  readonly rollout: SnapshotRollout | null;
}

/** What a tenant is served: the effective content and its sha, with the base and override shas. */
export interface TenantResolution {
  readonly tenant: string;
  readonly content: PromptContent;
  /** The effective sha (the base sha when no override applies). */
  readonly sha: string;
  readonly baseSha: string;
  /** Null when no override of this tenant applies. */
  readonly overrideSha: string | null;
}

/**
 * Applies `tenant`'s override to a label's resolution. Only that tenant's own entry is ever read; a pin by
 * sha or version (label null) gets no override. An override that no longer fits its base (the base lost
 * an overridden slot, by rollback or break glass) serves the shared base, with no override sha.
 */
export const resolveTenant = (
  snapshot: Snapshot,
  resolution: Pick<Resolution, 'name' | 'label' | 'sha' | 'content'>,
  tenant: string,
): TenantResolution => {
  const plain = {
    tenant,
    content: resolution.content,
    sha: resolution.sha,
    baseSha: resolution.sha,
    overrideSha: null,
  };
  const prompt = own(snapshot.prompts, resolution.name);
  const entry = prompt?.overrides === undefined ? undefined : own(prompt.overrides, tenant);
  if (entry === undefined || resolution.label === null || entry.label !== resolution.label) return plain;
  const base = entry.base ?? { sha: resolution.sha, content: resolution.content };
  try {
    const effective = effectivePrompt(base.content, entry.override);
    return { tenant, content: effective.content, sha: effective.sha, baseSha: base.sha, overrideSha: entry.sha };
  } catch (error) {
    if (error instanceof PromptopsError) return plain;
    throw error;
  }
};

/** A tenant's override changed (`event: override`): `override` is its current one, or null when removed. */
export interface OverrideChangeEvent {
  readonly type: 'override';
  readonly seq: number;
  readonly name: string;
  readonly tenant: string;
  readonly override: SnapshotOverride | null;
}

/** The snapshot after an override event (idempotent: at or below the cursor it changes nothing). */
export const applyOverrideEvent = (snapshot: Snapshot, event: OverrideChangeEvent): Snapshot => {
  if (event.seq <= snapshot.cursor) return snapshot;
  const before = own(snapshot.prompts, event.name);
  if (before === undefined && event.override === null) return { ...snapshot, cursor: event.seq };
  const overrides: Record<string, SnapshotOverride> = { ...before?.overrides };
  if (event.override === null) delete overrides[event.tenant];
  else overrides[event.tenant] = event.override;
  const prompt: SnapshotPrompt = {
    labels: before?.labels ?? {},
    versions: before?.versions ?? {},
    ...(before?.rollouts === undefined ? {} : { rollouts: before.rollouts }),
    ...(Object.keys(overrides).length > 0 ? { overrides } : {}),
    ...(before?.labelRules === undefined ? {} : { labelRules: before.labelRules }),
  };
  return { ...snapshot, cursor: event.seq, prompts: { ...snapshot.prompts, [event.name]: prompt } };
};

/** A label's targeting rules changed (`event: label_rules`): `rules` are its current ones, or null when cleared. */
export interface LabelRulesChangeEvent {
  readonly type: 'label_rules';
  readonly seq: number;
  readonly name: string;
  readonly label: string;
  readonly rules: readonly SnapshotLabelRule[] | null;
}

/** The snapshot after a label-rules event (idempotent: at or below the cursor it changes nothing). */
export const applyLabelRulesEvent = (snapshot: Snapshot, event: LabelRulesChangeEvent): Snapshot => {
  if (event.seq <= snapshot.cursor) return snapshot;
  const before = own(snapshot.prompts, event.name);
  if (before === undefined && event.rules === null) return { ...snapshot, cursor: event.seq };
  const labelRules: Record<string, readonly SnapshotLabelRule[]> = { ...before?.labelRules };
  if (event.rules === null) delete labelRules[event.label];
  else labelRules[event.label] = event.rules;
  const prompt: SnapshotPrompt = {
    labels: before?.labels ?? {},
    versions: before?.versions ?? {},
    ...(before?.rollouts === undefined ? {} : { rollouts: before.rollouts }),
    ...(before?.overrides === undefined ? {} : { overrides: before.overrides }),
    ...(Object.keys(labelRules).length > 0 ? { labelRules } : {}),
  };
  return { ...snapshot, cursor: event.seq, prompts: { ...snapshot.prompts, [event.name]: prompt } };
};
