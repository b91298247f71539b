import { SHA_PATTERN, canonicalJson, shortSha } from '@promptops/core/canonical';
import { PromptopsError } from '@promptops/core/errors';
import { type PromptContent } from '@promptops/core/render';
import {
  TENANT_PATTERN,
  type LabelRuleInput,
  type Snapshot,
  type SnapshotLabelRule,
  type SnapshotOverride,
  type SnapshotPrompt,
  type SnapshotRollout,
  type SnapshotVersion,
  applyLabelRulesEvent,
  applyOverrideEvent,
  applyRolloutEvent,
  labelRules as checkLabelRules,
  overrideSha,
  parseOverride,
} from '@promptops/core/resolve';
import { rampThreshold, targetingRules } from '@promptops/core/rollouts';
import { sha256 } from './digest.js';

/**
 * Pure operations on snapshots: validating one that arrives from the server or a cache file, and
 * applying change events to it. Snapshots are never mutated: each change makes a new top-level object
 * and a new entry for the one prompt it touches (copy-on-write), so a snapshot handed to the cache
 * writer or to listeners stays consistent. Records have no prototype, so a name like `constructor`
 * can never resolve to something inherited.
 */

type Dict<T> = Record<string, T>;

export const dict = <T>(from?: Readonly<Record<string, T>>): Dict<T> =>
  from === undefined ? (Object.create(null) as Dict<T>) : Object.assign(Object.create(null) as Dict<T>, from);

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

export const EMPTY_SNAPSHOT: Snapshot = Object.freeze({ project: '', cursor: 0, prompts: dict<SnapshotPrompt>() });

const deepFreeze = <T>(value: T): T => {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const inner of Object.values(value)) deepFreeze(inner);
  }
  return value;
};

/** Enough shape for rendering; the sha check below proves the rest is what the server stored. */
const looksLikeContent = (value: unknown): value is PromptContent => {
  if (!isObject(value) || typeof value.name !== 'string') return false;
  if (!isObject(value.config) || !isObject(value.variables) || !isObject(value.slots)) return false;
  if (value.type === 'text') return typeof value.template === 'string';
  return (
    value.type === 'chat' &&
    Array.isArray(value.messages) &&
    value.messages.every((m: unknown) => isObject(m) && typeof m.role === 'string' && typeof m.content === 'string')
  );
};

/**
 * Whether `content` is the content whose sha is `sha`. The server sends content in canonical key order
 * (it stores canonical JSON and sends it as is), and JSON.parse keeps that order, so one native stringify
 * gives the canonical text: if its sha256 is `sha`, it is the text the sha was made from, and `content`
 * is that text's value. Only content in another order (integer-like keys, which JavaScript orders first,
 * or an older server) takes RFC 8785 canonicalization; tampered content fails both.
 */
const hashesTo = (content: PromptContent, sha: string): boolean =>
  sha256(JSON.stringify(content)) === sha || sha256(canonicalJson(content)) === sha;

/**
 * A version received from outside, checked: its content must hash to its sha (content addressing makes
 * tampering or truncation detectable) and name the prompt it is filed under. A version already held
 * under the same sha is reused without hashing again. Contents are frozen: results hand them out.
 */
export const ingestVersion = (
  name: string,
  sha: unknown,
  version: unknown,
  content: unknown,
  what: string,
  known?: SnapshotVersion,
): SnapshotVersion => {
  if (typeof sha !== 'string' || !SHA_PATTERN.test(sha)) {
    throw new PromptopsError(
      'invalid',
      'invalid_snapshot',
      `${what}: '${name}' has a version whose sha is not 64 hex characters`,
    );
  }
  if (typeof version !== 'number' || !Number.isSafeInteger(version) || version < 0) {
    throw new PromptopsError(
      'invalid',
      'invalid_snapshot',
      `${what}: '${name}' ${shortSha(sha)} has no valid version number`,
    );
  }
  if (known !== undefined && known.sha === sha) return known.version === version ? known : { ...known, version };
  if (!looksLikeContent(content)) {
    throw new PromptopsError(
      'invalid',
      'invalid_snapshot',
      `${what}: '${name}' ${shortSha(sha)} has no valid prompt content`,
    );
  }
  if (content.name !== name) {
    throw new PromptopsError(
      'invalid',
      'sha_mismatch',
      `${what}: content filed under '${name}' is named '${content.name}'`,
      {
        fix: 'the data was altered or mixed up; delete it (a cache file is rewritten from the server)',
      },
    );
  }
  if (!hashesTo(content, sha)) {
    throw new PromptopsError(
      'invalid',
      'sha_mismatch',
      `${what}: the content of '${name}' does not hash to its sha ${shortSha(sha)}`,
      {
        fix: 'the data was altered or truncated; delete it (a cache file is rewritten from the server)',
      },
    );
  }
  return Object.freeze({ version, sha, content: deepFreeze(content) });
};

/**
 * Checks a snapshot (from the server or a cache file) and returns it in the SDK's own records.
 * `previous` lends already-verified versions, so a periodic re-check hashes only what is new.
 */
export const validateSnapshot = (data: unknown, what: string, previous?: Snapshot): Snapshot => {
  if (!isObject(data) || typeof data.project !== 'string' || !isObject(data.prompts)) {
    throw new PromptopsError('invalid', 'invalid_snapshot', `${what}: not a snapshot ({ project, cursor, prompts })`);
  }
  const cursor = data.cursor;
  if (typeof cursor !== 'number' || !Number.isSafeInteger(cursor) || cursor < 0) {
    throw new PromptopsError('invalid', 'invalid_snapshot', `${what}: cursor must be a non-negative integer`);
  }
  const prompts = dict<SnapshotPrompt>();
  for (const [name, raw] of Object.entries(data.prompts)) {
    if (!isObject(raw) || !isObject(raw.labels) || !isObject(raw.versions)) {
      throw new PromptopsError('invalid', 'invalid_snapshot', `${what}: prompt '${name}' needs labels and versions`);
    }
    const before =
      previous === undefined ? undefined : Object.hasOwn(previous.prompts, name) ? previous.prompts[name] : undefined;
    const versions = dict<SnapshotVersion>();
    for (const [sha, v] of Object.entries(raw.versions)) {
      if (!isObject(v) || v.sha !== sha) {
        throw new PromptopsError(
          'invalid',
          'sha_mismatch',
          `${what}: '${name}' files a version under ${shortSha(sha)} that is not its sha`,
        );
      }
      const known = before !== undefined && Object.hasOwn(before.versions, sha) ? before.versions[sha] : undefined;
      versions[sha] = ingestVersion(name, sha, v.version, v.content, what, known);
    }
    const labels = dict<string>();
    for (const [label, sha] of Object.entries(raw.labels)) {
      if (typeof sha !== 'string' || !Object.hasOwn(versions, sha)) {
        throw new PromptopsError(
          'invalid',
          'invalid_snapshot',
          `${what}: label '${name}@${label}' points at a version the snapshot lacks`,
        );
      }
      labels[label] = sha;
    }
    const rollouts = raw.rollouts === undefined ? undefined : ingestRollouts(name, raw.rollouts, what, before);
    const overrides = raw.overrides === undefined ? undefined : ingestOverrides(name, raw.overrides, what, before);
    const labelRules =
      raw.labelRules === undefined ? undefined : ingestAllLabelRules(name, raw.labelRules, what, before);
    prompts[name] = {
      labels,
      versions,
      ...(rollouts === undefined ? {} : { rollouts }),
      ...(overrides === undefined ? {} : { overrides }),
      ...(labelRules === undefined ? {} : { labelRules }),
    };
  }
  return { project: data.project, cursor, prompts };
};

const ROLLOUT_ID = /^[\x21-\x7e]{1,200}$/;

const badRollout = (what: string, name: string, label: string, problem: string): PromptopsError =>
  new PromptopsError('invalid', 'invalid_snapshot', `${what}: the rollout on '${name}@${label}' ${problem}`);

/**
 * A label's rollout received from outside, checked like a version: its candidate must hash to its sha.
 * A candidate already held (same sha, in `before`'s versions or rollouts) is not hashed again. A mode or
 * state this SDK does not know (a newer server's) is not served: undefined, as if no rollout were active.
 */
export const ingestRollout = (
  name: string,
  label: string,
  raw: unknown,
  what: string,
  before?: SnapshotPrompt,
): SnapshotRollout | undefined => {
  if (!isObject(raw)) throw badRollout(what, name, label, 'is not an object');
  const { id, salt, mode, state, ramp, candidate, rules, killed } = raw;
  if (typeof id !== 'string' || !ROLLOUT_ID.test(id)) throw badRollout(what, name, label, 'has no valid id');
  if (typeof salt !== 'string' || salt === '') throw badRollout(what, name, label, 'has no salt');
  if (typeof ramp !== 'number') throw badRollout(what, name, label, 'has no ramp');
  try {
    rampThreshold(ramp);
  } catch (error) {
    throw badRollout(what, name, label, `has an invalid ramp: ${(error as Error).message}`);
  }
  if (!isObject(candidate)) throw badRollout(what, name, label, 'has no candidate');
  if (killed !== undefined && typeof killed !== 'boolean')
    throw badRollout(what, name, label, 'has a killed that is not true or false');
  let checked: ReturnType<typeof targetingRules> | undefined;
  try {
    checked = rules === undefined ? undefined : targetingRules(rules);
  } catch (error) {
    throw badRollout(what, name, label, `has invalid targeting rules: ${(error as Error).message}`);
  }
  if ((mode !== 'split' && mode !== 'shadow') || (state !== 'running' && state !== 'paused')) return undefined;
  const sha = candidate.sha;
  const known =
    before === undefined || typeof sha !== 'string'
      ? undefined
      : Object.hasOwn(before.versions, sha)
        ? before.versions[sha]
        : Object.values(before.rollouts ?? {}).find((r) => r.candidate.sha === sha)?.candidate;
  const version = ingestVersion(name, sha, candidate.version, candidate.content, what, known);
  return Object.freeze({
    id,
    salt,
    mode,
    state,
    ramp,
    candidate: version,
    ...(checked === undefined ? {} : { rules: checked }),
    ...(killed === true ? { killed } : {}),
  });
};

const ingestRollouts = (
  name: string,
  raw: unknown,
  what: string,
  before: SnapshotPrompt | undefined,
): Record<string, SnapshotRollout> | undefined => {
  if (!isObject(raw)) {
    throw new PromptopsError(
      'invalid',
      'invalid_snapshot',
      `${what}: prompt '${name}' has rollouts that are no object`,
    );
  }
  const rollouts = dict<SnapshotRollout>();
  for (const [label, r] of Object.entries(raw)) {
    const rollout = ingestRollout(name, label, r, what, before);
    if (rollout !== undefined) rollouts[label] = rollout;
  }
  return Object.keys(rollouts).length > 0 ? rollouts : undefined;
};

const badOverride = (what: string, name: string, tenant: string, problem: string): PromptopsError =>
  new PromptopsError('invalid', 'invalid_snapshot', `${what}: tenant '${tenant}''s override of '${name}' ${problem}`);

/**
 * A tenant's override received from outside, checked like a version: its text must hash to its sha, and
 * a pinned base's content to the base's sha. One held already (same sha and base, in `before`) is reused.
 */
export const ingestOverride = (
  name: string,
  tenant: string,
  raw: unknown,
  what: string,
  before?: SnapshotPrompt,
): SnapshotOverride => {
  if (!TENANT_PATTERN.test(tenant))
    throw badOverride(what, name, tenant.slice(0, 130), 'is filed under no valid tenant');
  if (!isObject(raw)) throw badOverride(what, name, tenant, 'is not an object');
  const { version, sha, label, override, base } = raw;
  if (typeof version !== 'number' || !Number.isSafeInteger(version) || version < 1) {
    throw badOverride(what, name, tenant, 'has no valid version');
  }
  if (typeof sha !== 'string' || !SHA_PATTERN.test(sha)) throw badOverride(what, name, tenant, 'has no valid sha');
  if (typeof label !== 'string' || label === '') throw badOverride(what, name, tenant, 'names no label');
  const held =
    before?.overrides !== undefined && Object.hasOwn(before.overrides, tenant) ? before.overrides[tenant] : undefined;
  const baseSha = isObject(base) ? base['sha'] : null;
  if (
    held !== undefined &&
    held.sha === sha &&
    held.version === version &&
    held.label === label &&
    (held.base?.sha ?? null) === baseSha
  ) {
    return held;
  }
  let parsed;
  try {
    parsed = parseOverride(override, `${what}: tenant '${tenant}''s override of '${name}'`);
  } catch (error) {
    throw badOverride(what, name, tenant, `is not an override: ${(error as Error).message}`);
  }
  if (overrideSha(parsed) !== sha) {
    throw new PromptopsError(
      'invalid',
      'sha_mismatch',
      `${what}: tenant '${tenant}''s override of '${name}' does not hash to its sha ${shortSha(sha)}`,
      { fix: 'the data was altered or truncated; delete it (a cache file is rewritten from the server)' },
    );
  }
  let pinned: SnapshotVersion | null = null;
  if (base !== null && base !== undefined) {
    if (!isObject(base)) throw badOverride(what, name, tenant, 'has a base that is no version');
    const known =
      before !== undefined && typeof base.sha === 'string' && Object.hasOwn(before.versions, base.sha)
        ? before.versions[base.sha]
        : undefined;
    pinned = ingestVersion(name, base.sha, base.version, base.content, what, known);
  }
  return Object.freeze({ version, sha, label, override: deepFreeze(parsed), base: pinned });
};

const ingestOverrides = (
  name: string,
  raw: unknown,
  what: string,
  before: SnapshotPrompt | undefined,
): Record<string, SnapshotOverride> | undefined => {
  if (!isObject(raw)) {
    throw new PromptopsError(
      'invalid',
      'invalid_snapshot',
      `${what}: prompt '${name}' has overrides that are no object`,
    );
  }
  const overrides = dict<SnapshotOverride>();
  for (const [tenant, o] of Object.entries(raw)) overrides[tenant] = ingestOverride(name, tenant, o, what, before);
  return Object.keys(overrides).length > 0 ? overrides : undefined;
};

/** A change-feed event as the SDK uses it. Events of types it does not know only advance the cursor. */
export type FeedEvent =
  | {
      readonly type: 'label';
      readonly seq: number;
      readonly name: string;
      readonly label: string;
      /** null when the label was removed. */
      readonly sha: string | null;
      readonly version: number | null;
      readonly kind: string;
      readonly content: unknown;
    }
  | {
      readonly type: 'rollout';
      readonly seq: number;
      readonly name: string;
      readonly label: string;
      /** As received (null: no rollout active any more); checked by `ingestRollout` before use. */
      readonly rollout: unknown;
    }
  | {
      readonly type: 'override';
      readonly seq: number;
      readonly name: string;
      readonly tenant: string;
      /** As received (null: the tenant has none any more); checked by `ingestOverride` before use. */
      readonly override: unknown;
    }
  | {
      readonly type: 'label_rules';
      readonly seq: number;
      readonly name: string;
      readonly label: string;
      /** As received (null: the label has none any more); checked by `ingestLabelRules` before use. */
      readonly rules: unknown;
    }
  | { readonly type: 'other'; readonly seq: number };

export const parseFeedEvent = (data: unknown): FeedEvent => {
  if (!isObject(data) || typeof data.seq !== 'number' || !Number.isSafeInteger(data.seq) || data.seq < 1) {
    throw new PromptopsError(
      'invalid',
      'invalid_event',
      `change event without a valid seq: ${JSON.stringify(data)?.slice(0, 200)}`,
    );
  }
  if (data.type === 'rollout') {
    if (typeof data.name !== 'string' || typeof data.label !== 'string' || data.rollout === undefined) {
      throw new PromptopsError('invalid', 'invalid_event', `rollout event ${data.seq} is malformed`);
    }
    return { type: 'rollout', seq: data.seq, name: data.name, label: data.label, rollout: data.rollout };
  }
  if (data.type === 'override') {
    if (typeof data.name !== 'string' || typeof data.tenant !== 'string' || data.override === undefined) {
      throw new PromptopsError('invalid', 'invalid_event', `override event ${data.seq} is malformed`);
    }
    return { type: 'override', seq: data.seq, name: data.name, tenant: data.tenant, override: data.override };
  }
  if (data.type === 'label_rules') {
    if (typeof data.name !== 'string' || typeof data.label !== 'string' || data.rules === undefined) {
      throw new PromptopsError('invalid', 'invalid_event', `label_rules event ${data.seq} is malformed`);
    }
    return { type: 'label_rules', seq: data.seq, name: data.name, label: data.label, rules: data.rules };
  }
  if (data.type !== 'label') return { type: 'other', seq: data.seq };
  const { name, label, sha, version, kind } = data;
  if (
    typeof name !== 'string' ||
    typeof label !== 'string' ||
    !(sha === null || (typeof sha === 'string' && SHA_PATTERN.test(sha))) ||
    !(version === null || version === undefined || (typeof version === 'number' && Number.isSafeInteger(version)))
  ) {
    throw new PromptopsError('invalid', 'invalid_event', `label event ${data.seq} is malformed`);
  }
  return {
    type: 'label',
    seq: data.seq,
    name,
    label,
    sha,
    version: version ?? null,
    kind: typeof kind === 'string' ? kind : 'unknown',
    content: data.content,
  };
};

export interface LabelChange {
  readonly name: string;
  readonly label: string;
  readonly sha: string | null;
  readonly previousSha: string | null;
  readonly version: number | null;
}

/** The version an event needs, when the snapshot already holds it (then the event may omit content). */
export const knownVersion = (snapshot: Snapshot, name: string, sha: string): SnapshotVersion | undefined => {
  const prompt = Object.hasOwn(snapshot.prompts, name) ? snapshot.prompts[name] : undefined;
  return prompt !== undefined && Object.hasOwn(prompt.versions, sha) ? prompt.versions[sha] : undefined;
};

/**
 * Applies one label event. Idempotent: an event at or below the cursor (a replay after a reconnect)
 * returns the snapshot unchanged. `version` is the event's version, ingested by the caller.
 * Versions no label references any more are dropped, the others kept as they are.
 */
export const applyLabelEvent = (
  snapshot: Snapshot,
  event: Extract<FeedEvent, { type: 'label' }>,
  version: SnapshotVersion | undefined,
): { snapshot: Snapshot; change: LabelChange | undefined } => {
  if (event.seq <= snapshot.cursor) return { snapshot, change: undefined };
  const before = Object.hasOwn(snapshot.prompts, event.name) ? snapshot.prompts[event.name] : undefined;
  const previousSha =
    before !== undefined && Object.hasOwn(before.labels, event.label) ? before.labels[event.label]! : null;
  if (event.sha !== null && version?.sha !== event.sha) {
    throw new PromptopsError(
      'internal',
      'missing_version',
      `label event ${event.seq}: no content for '${event.name}' ${shortSha(event.sha)}`,
    );
  }
  const labels = dict(before?.labels);
  if (event.sha === null) delete labels[event.label];
  else labels[event.label] = event.sha;
  const versions = dict<SnapshotVersion>();
  for (const sha of Object.values(labels)) {
    if (Object.hasOwn(versions, sha)) continue;
    const kept = before !== undefined && Object.hasOwn(before.versions, sha) ? before.versions[sha] : undefined;
    const next = kept ?? (sha === event.sha ? version : undefined);
    if (next !== undefined) versions[sha] = next;
  }
  const prompts = dict(snapshot.prompts);
  // A label event leaves the label's rollout and the tenants' overrides as they are.
  prompts[event.name] = {
    labels,
    versions,
    ...(before?.rollouts === undefined ? {} : { rollouts: before.rollouts }),
    ...(before?.overrides === undefined ? {} : { overrides: before.overrides }),
    ...(before?.labelRules === undefined ? {} : { labelRules: before.labelRules }),
  };
  const change =
    previousSha === event.sha
      ? undefined
      : { name: event.name, label: event.label, sha: event.sha, previousSha, version: version?.version ?? null };
  return { snapshot: { project: snapshot.project, cursor: event.seq, prompts }, change };
};

export interface RolloutChange {
  readonly name: string;
  readonly label: string;
  /** The rollout the label is under now (running or paused), or null: none any more (completed or aborted). */
  readonly rollout: {
    readonly id: string;
    readonly mode: SnapshotRollout['mode'];
    readonly state: SnapshotRollout['state'];
    readonly ramp: number;
    readonly version: number;
    readonly sha: string;
  } | null;
  /** The rollout it was under before, or null. */
  readonly previousId: string | null;
}

const rolloutOf = (snapshot: Snapshot, name: string, label: string): SnapshotRollout | undefined => {
  const prompt = Object.hasOwn(snapshot.prompts, name) ? snapshot.prompts[name] : undefined;
  const rollouts = prompt?.rollouts;
  return rollouts !== undefined && Object.hasOwn(rollouts, label) ? rollouts[label] : undefined;
};

const sameRollout = (a: SnapshotRollout | undefined, b: SnapshotRollout | undefined): boolean =>
  a === b ||
  (a !== undefined &&
    b !== undefined &&
    a.id === b.id &&
    a.salt === b.salt &&
    a.mode === b.mode &&
    a.state === b.state &&
    a.ramp === b.ramp &&
    a.candidate.sha === b.candidate.sha &&
    a.killed === b.killed &&
    JSON.stringify(a.rules) === JSON.stringify(b.rules));

const rolloutChange = (
  name: string,
  label: string,
  before: SnapshotRollout | undefined,
  after: SnapshotRollout | undefined,
): RolloutChange => ({
  name,
  label,
  rollout:
    after === undefined
      ? null
      : {
          id: after.id,
          mode: after.mode,
          state: after.state,
          ramp: after.ramp,
          version: after.candidate.version,
          sha: after.candidate.sha,
        },
  previousId: before?.id ?? null,
});

/**
 * Applies one rollout event (core's applyRolloutEvent) whose rollout was checked by `ingestRollout`
 * (undefined: none active, or one this SDK cannot serve). Idempotent like a label event.
 */
export const applyRolloutChange = (
  snapshot: Snapshot,
  event: Extract<FeedEvent, { type: 'rollout' }>,
  rollout: SnapshotRollout | undefined,
): { snapshot: Snapshot; change: RolloutChange | undefined } => {
  if (event.seq <= snapshot.cursor) return { snapshot, change: undefined };
  const before = rolloutOf(snapshot, event.name, event.label);
  const next = applyRolloutEvent(snapshot, {
    type: 'rollout',
    seq: event.seq,
    name: event.name,
    label: event.label,
    rollout: rollout ?? null,
  });
  const change = sameRollout(before, rollout) ? undefined : rolloutChange(event.name, event.label, before, rollout);
  return { snapshot: next, change };
};

/** Every label whose rollout started, changed (state, ramp, candidate) or ended between two snapshots. */
export const diffRollouts = (from: Snapshot, to: Snapshot): RolloutChange[] => {
  const changes: RolloutChange[] = [];
  for (const name of new Set([...Object.keys(from.prompts), ...Object.keys(to.prompts)])) {
    const a = Object.hasOwn(from.prompts, name) ? from.prompts[name]!.rollouts : undefined;
    const b = Object.hasOwn(to.prompts, name) ? to.prompts[name]!.rollouts : undefined;
    if (a === b) continue;
    for (const label of new Set([...Object.keys(a ?? {}), ...Object.keys(b ?? {})])) {
      const before = rolloutOf(from, name, label);
      const after = rolloutOf(to, name, label);
      if (!sameRollout(before, after)) changes.push(rolloutChange(name, label, before, after));
    }
  }
  return changes;
};

/** An override event's override, checked (its pinned base hashed unless `snapshot` already holds it). */
export const eventOverride = (
  event: Extract<FeedEvent, { type: 'override' }>,
  what: string,
  snapshot?: Snapshot,
): SnapshotOverride | null => {
  if (event.override === null) return null;
  const before =
    snapshot !== undefined && Object.hasOwn(snapshot.prompts, event.name) ? snapshot.prompts[event.name] : undefined;
  return ingestOverride(event.name, event.tenant, event.override, what, before);
};

/** Applies one override event (core's applyOverrideEvent) whose override was checked by `eventOverride`. */
export const applyOverrideChange = (
  snapshot: Snapshot,
  event: Extract<FeedEvent, { type: 'override' }>,
  override: SnapshotOverride | null,
): Snapshot => {
  if (event.seq <= snapshot.cursor) return snapshot;
  const next = applyOverrideEvent(snapshot, {
    type: 'override',
    seq: event.seq,
    name: event.name,
    tenant: event.tenant,
    override,
  });
  // Back to prototype-free records, so a tenant or prompt named like `constructor` stays a plain key.
  const prompt = next.prompts[event.name]!;
  const prompts = dict(next.prompts);
  prompts[event.name] = prompt.overrides === undefined ? prompt : { ...prompt, overrides: dict(prompt.overrides) };
  return { project: next.project, cursor: next.cursor, prompts };
};

const badLabelRules = (what: string, name: string, label: string, problem: string): PromptopsError =>
  new PromptopsError('invalid', 'invalid_snapshot', `${what}: the rules on '${name}@${label}' ${problem}`);

/**
 * A label's rules received from outside: the conditions checked as the server checks them (core's
 * labelRules), a served version hashed against its sha unless `before` already holds it.
 */
export const ingestLabelRules = (
  name: string,
  label: string,
  raw: unknown,
  what: string,
  before?: SnapshotPrompt,
): readonly SnapshotLabelRule[] => {
  if (!Array.isArray(raw)) throw badLabelRules(what, name, label, 'are not a list');
  const served = raw.map((rule: unknown) => {
    const serve = isObject(rule) && isObject(rule.serve) ? rule.serve : undefined;
    return serve !== undefined && isObject(serve.version) ? serve.version : undefined;
  });
  let checked: LabelRuleInput[];
  try {
    // The served version's number stands for it in the check.
    checked = checkLabelRules(
      raw.map((rule: Record<string, unknown>, i) =>
        served[i] === undefined ? rule : { ...rule, serve: { version: served[i].version } },
      ),
    );
  } catch (error) {
    throw badLabelRules(what, name, label, `are invalid: ${(error as Error).message}`);
  }
  return Object.freeze(
    checked.map((rule, i) => {
      const v = served[i];
      if (v === undefined) return Object.freeze(rule) as SnapshotLabelRule;
      const known =
        before !== undefined && typeof v.sha === 'string' && Object.hasOwn(before.versions, v.sha)
          ? before.versions[v.sha]
          : undefined;
      const version = ingestVersion(name, v.sha, v.version, v.content, what, known);
      return Object.freeze({ ...rule, serve: { version } });
    }),
  );
};

const ingestAllLabelRules = (
  name: string,
  raw: unknown,
  what: string,
  before: SnapshotPrompt | undefined,
): Record<string, readonly SnapshotLabelRule[]> | undefined => {
  if (!isObject(raw)) {
    throw new PromptopsError(
      'invalid',
      'invalid_snapshot',
      `${what}: prompt '${name}' has labelRules that are no object`,
    );
  }
  const all = dict<readonly SnapshotLabelRule[]>();
  for (const [label, rules] of Object.entries(raw)) all[label] = ingestLabelRules(name, label, rules, what, before);
  return Object.keys(all).length > 0 ? all : undefined;
};

/** Applies one label-rules event (core's applyLabelRulesEvent), its rules checked by `ingestLabelRules`. */
export const applyLabelRulesChange = (
  snapshot: Snapshot,
  event: Extract<FeedEvent, { type: 'label_rules' }>,
): Snapshot => {
  if (event.seq <= snapshot.cursor) return snapshot;
  const before = Object.hasOwn(snapshot.prompts, event.name) ? snapshot.prompts[event.name] : undefined;
  const rules =
    event.rules === null
      ? null
      : ingestLabelRules(event.name, event.label, event.rules, `change event ${event.seq}`, before);
  const next = applyLabelRulesEvent(snapshot, {
    type: 'label_rules',
    seq: event.seq,
    name: event.name,
    label: event.label,
    rules,
  });
  const prompt = next.prompts[event.name]!;
  const prompts = dict(next.prompts);
  prompts[event.name] = prompt.labelRules === undefined ? prompt : { ...prompt, labelRules: dict(prompt.labelRules) };
  return { project: next.project, cursor: next.cursor, prompts };
};

/** Moves the cursor forward without other change (events the SDK does not use, a poll's cursor). */
export const advanceCursor = (snapshot: Snapshot, cursor: number): Snapshot =>
  cursor <= snapshot.cursor ? snapshot : { ...snapshot, cursor };

/** Every label that points elsewhere (or exists on one side only) between two snapshots. */
export const diffLabels = (from: Snapshot, to: Snapshot): LabelChange[] => {
  const changes: LabelChange[] = [];
  const names = new Set([...Object.keys(from.prompts), ...Object.keys(to.prompts)]);
  for (const name of names) {
    const a = Object.hasOwn(from.prompts, name) ? from.prompts[name]!.labels : {};
    const b = Object.hasOwn(to.prompts, name) ? to.prompts[name] : undefined;
    const bLabels = b?.labels ?? {};
    for (const label of new Set([...Object.keys(a), ...Object.keys(bLabels)])) {
      const previousSha = Object.hasOwn(a, label) ? a[label]! : null;
      const sha = Object.hasOwn(bLabels, label) ? bLabels[label]! : null;
      if (previousSha !== sha) {
        const version = sha === null ? null : (b?.versions[sha]?.version ?? null);
        changes.push({ name, label, sha, previousSha, version });
      }
    }
  }
  return changes;
};

export interface DecodedEvent {
  readonly event: FeedEvent;
  /** The event's version, verified, when it carried content. */
  readonly version: SnapshotVersion | undefined;
  /** A rollout event's rollout, verified; undefined when none is active (or this SDK cannot serve it). */
  readonly rollout?: SnapshotRollout | undefined;
  /** An override event's override, verified; null when the tenant has none any more. */
  readonly override?: SnapshotOverride | null;
}

/** A rollout event's rollout, checked (its candidate hashed unless `snapshot` already holds it). */
export const eventRollout = (
  event: Extract<FeedEvent, { type: 'rollout' }>,
  what: string,
  snapshot?: Snapshot,
): SnapshotRollout | undefined => {
  if (event.rollout === null) return undefined;
  const before =
    snapshot !== undefined && Object.hasOwn(snapshot.prompts, event.name) ? snapshot.prompts[event.name] : undefined;
  return ingestRollout(event.name, event.label, event.rollout, what, before);
};

/**
 * Decoded stream events by their exact text. Parsing and verifying an event (JSON, RFC 8785, sha256)
 * costs ~100-250 µs; every client in a process receives the same text for the same event, so the
 * work is done once per process instead of once per client. A pure memo: the value is a function of
 * the key alone, and the versions it holds are frozen.
 */
const decoded = new Map<string, DecodedEvent>();
const DECODED_MAX = 64;

export const decodeEventText = (text: string, what: string): DecodedEvent => {
  const hit = decoded.get(text);
  if (hit !== undefined) return hit;
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    throw new PromptopsError(
      'invalid',
      'invalid_event',
      `${what} sent an event that is not JSON: ${text.slice(0, 200)}`,
    );
  }
  const event = parseFeedEvent(data);
  const version =
    event.type === 'label' && event.sha !== null && event.content !== undefined
      ? ingestVersion(event.name, event.sha, event.version, event.content, `change event ${event.seq}`)
      : undefined;
  const result: DecodedEvent =
    event.type === 'rollout'
      ? { event, version, rollout: eventRollout(event, `change event ${event.seq}`) }
      : event.type === 'override'
        ? { event, version, override: eventOverride(event, `change event ${event.seq}`) }
        : { event, version };
  if (decoded.size >= DECODED_MAX) decoded.delete(decoded.keys().next().value!);
  decoded.set(text, result);
  return result;
};
