import { PromptopsError } from '@promptops/core/errors';
import {
  DEFAULT_LABEL,
  parseRef,
  resolveFromSnapshot,
  resolveTenant,
  type Resolution,
  type Snapshot,
  type SnapshotLabelRule,
  type SnapshotPrompt,
  type SnapshotRollout,
  type SnapshotVersion,
} from '@promptops/core/resolve';
import { assignArm, decideTargeting, matchRule, type EvaluationContext } from '@promptops/core/rollouts';
import { notServedWhileOffline, type RegistryOutage } from './errors.js';
import { EMPTY_FALLBACK, fallbackMiss, resolveFallback, type Fallback } from './fallback.js';
import { ResolvedPrompt, ShadowPrompt, type PromptSource } from './resolved-prompt.js';
import { EMPTY_SNAPSHOT, dict } from './snapshot-store.js';

export interface GetOptions {
  /** Default `production`. */
  readonly label?: string;
  /** Pins a version: a sha or a prefix of 7+ hex characters (or `v17`). Same as `get('name@<sha>')`. */
  readonly sha?: string;
  /**
   * The tenant whose override (if any) applies: the effective prompt, with `baseSha`, `overrideSha` and
   * `tenant` on the result. Only that tenant's own override is ever read; a pin by sha or version, and
   * in-code defaults, serve the shared prompt; the lockfile serves the tenant's locked override.
   */
  readonly tenant?: string;
  /**
   * The unit a rollout assigns to an arm (a user, session or tenant id): sticky, the same arm in every
   * SDK, the server and the gateway. None: the baseline. Pins by version or sha ignore rollouts.
   */
  readonly unitKey?: string | null;
  /**
   * The caller's attributes (`tenant`, `plan`, `appVersion`…) for a rollout's targeting rules; its
   * `targetingKey` is the unit key when `unitKey` is not given. Evaluated by core's decideTargeting.
   */
  readonly context?: EvaluationContext;
}

type UnitKey = string | null | undefined;

/**
 * A (name, label) under a rollout: one cache entry whatever the unit. The arm is computed per call
 * (core's assignArm, no allocation beyond its small result); each outcome (no key, in the ramp, out of
 * it) is built once, on first use, by core's resolution with a unit of that outcome. That is exact
 * because resolveFromSnapshot depends on the unit key only through whether there is one and its arm.
 */
class ArmedPrompt {
  /** By outcome: 0 no unit key, 1 in the ramp, 2 out of it. */
  private readonly outcomes: (ResolvedPrompt | undefined)[] = [undefined, undefined, undefined];

  constructor(
    private readonly salt: string,
    private readonly ramp: number,
    private readonly resolve: (unitKey: UnitKey) => ResolvedPrompt,
  ) {}

  pick(unitKey: UnitKey, context?: EvaluationContext): ResolvedPrompt {
    const key = unitKey ?? keyOf(context);
    const slot = this.slot(key);
    return this.outcomes[slot] ?? (this.outcomes[slot] = this.resolve(key));
  }

  /** Keeps an outcome already resolved for `unitKey`. */
  seed(unitKey: UnitKey, resolved: ResolvedPrompt): void {
    this.outcomes[this.slot(unitKey)] = resolved;
  }

  private slot(unitKey: UnitKey): number {
    if (unitKey === undefined || unitKey === null || unitKey === '') return 0;
    return assignArm(this.salt, unitKey, this.ramp).arm === 'candidate' ? 1 : 2;
  }
}

/** The context's `targetingKey`, the unit key when the call gives none (as core's resolution does). */
const keyOf = (context: EvaluationContext | undefined): string | undefined => {
  const key = context?.targetingKey;
  return typeof key === 'string' ? key : undefined;
};

/**
 * A (name, label) under a rollout with targeting rules or a kill switch: core's decideTargeting per
 * call, and one outcome per (rule, label or arm) built once by core's resolution, which depends on the
 * unit and the context only through that decision.
 */
class TargetedPrompt {
  private readonly outcomes = new Map<string, ResolvedPrompt>();

  constructor(
    private readonly rollout: SnapshotRollout,
    private readonly resolve: (unitKey: UnitKey, context: EvaluationContext | undefined) => ResolvedPrompt,
  ) {}

  pick(unitKey: UnitKey, context?: EvaluationContext): ResolvedPrompt {
    const key = unitKey ?? keyOf(context);
    const out = decideTargeting(this.rollout, key, context);
    const slot = `${out.rule ?? ''}:${out.label ?? out.arm ?? ''}`;
    let hit = this.outcomes.get(slot);
    if (hit === undefined) this.outcomes.set(slot, (hit = this.resolve(key, context)));
    return hit;
  }

  seed(unitKey: UnitKey, context: EvaluationContext | undefined, resolved: ResolvedPrompt): void {
    const out = decideTargeting(this.rollout, unitKey ?? keyOf(context), context);
    this.outcomes.set(`${out.rule ?? ''}:${out.label ?? out.arm ?? ''}`, resolved);
  }
}

/**
 * A (name, label) whose label has its own targeting rules: core's matchRule per call, one outcome per
 * matching rule built once; no match (or a rule serving a label the snapshot lacks) goes to `inner`, the
 * entry the label would have without rules (its version, or its rollout's entry), built on first use.
 */
class RuledPrompt {
  /** By rule index: its outcome, or null when that rule falls through to `inner`. */
  private readonly outcomes: (ResolvedPrompt | null | undefined)[] = [];
  private inner: Entry | undefined;

  constructor(
    private readonly rules: readonly SnapshotLabelRule[],
    private readonly resolve: (unitKey: UnitKey, context: EvaluationContext | undefined) => ResolvedPrompt,
    private readonly innerEntry: (unitKey: UnitKey, context: EvaluationContext | undefined) => Entry,
  ) {}

  pick(unitKey: UnitKey, context?: EvaluationContext): ResolvedPrompt {
    const index = matchRule(this.rules, context);
    if (index !== null) {
      let hit = this.outcomes[index];
      if (hit === undefined) {
        const resolved = this.resolve(unitKey, context);
        this.outcomes[index] = hit = resolved.labelRule === index ? resolved : null;
      }
      if (hit !== null) return hit;
    }
    const inner = (this.inner ??= this.innerEntry(unitKey, context));
    return inner instanceof ResolvedPrompt ? inner : inner.pick(unitKey, context);
  }
}

type Entry = ResolvedPrompt | ArmedPrompt | TargetedPrompt | RuledPrompt;

/** Tenant results held in all; past it the tenant cache starts over (many tenants never grow memory unbounded). */
export const TENANT_CACHE_MAX = 10_000;

/**
 * Synchronous resolution from memory. The registry's snapshot first (`resolveFromSnapshot`, core's one
 * resolution), then prefetched pins, then the fallback. Results are cached per (label, name) and per
 * ref string, so the hot path is one or two Map lookups and no allocation; a change to a prompt
 * evicts that prompt's entries, a snapshot replacement evicts everything. A label under a rollout has
 * one entry too (an ArmedPrompt), never one per unit key.
 */
export class Resolver {
  private snapshot: Snapshot = EMPTY_SNAPSHOT;
  private pins: Snapshot = EMPTY_SNAPSHOT;
  private fallback: Fallback = EMPTY_FALLBACK;
  /** label -> name -> result, for plain names. */
  private readonly byLabel = new Map<string, Map<string, Entry>>();
  /** The default label's map, held directly. */
  private readonly byDefaultLabel = new Map<string, Entry>();
  /**
   * `get(name)` with no options, whatever the entry: with no unit key, context or tenant every entry has
   * one fixed answer, so a plain get is a single lookup however the label is served.
   */
  private readonly plain = new Map<string, ResolvedPrompt>();
  /** `name@ref` strings and `{ sha }` pins. Cleared on any change (pins are rare). */
  private readonly byRef = new Map<string, Entry>();
  /**
   * Tenant results by the shared result they were built on, then by tenant: a label move, an override
   * event or a new snapshot replaces that shared result, and so drops its tenants' entries with it.
   */
  private byTenant = new WeakMap<ResolvedPrompt, Map<string, ResolvedPrompt>>();
  /**
   * `get(name, { tenant })` with nothing else: name -> tenant -> result, two lookups like `plain`'s one.
   * Dropped with `plain` (a change to the prompt) and with `byTenant` (past TENANT_CACHE_MAX).
   */
  private readonly plainTenants = new Map<string, Map<string, ResolvedPrompt>>();
  private tenantEntries = 0;
  /** Set once the client has tried the server: before that, errors say to await ready(). */
  loaded = false;
  /** The registry outage, while no snapshot has come from it: a miss is then blamed on it, not on labels. */
  outage: () => RegistryOutage | undefined = () => undefined;

  constructor() {
    this.byLabel.set(DEFAULT_LABEL, this.byDefaultLabel);
  }

  get current(): Snapshot {
    return this.snapshot;
  }

  get releaseSha(): string | null {
    return this.fallback.releaseSha;
  }

  /** Whether anything at all can be served. */
  get hasContent(): boolean {
    return (
      Object.keys(this.snapshot.prompts).length > 0 ||
      Object.keys(this.fallback.lock.prompts).length > 0 ||
      this.fallback.unlabelled.size > 0 ||
      this.fallback.defaults.size > 0
    );
  }

  setSnapshot(snapshot: Snapshot): void {
    this.snapshot = snapshot;
    this.clear();
  }

  /** A snapshot that differs from the current one in `names` only (an applied event). */
  updateSnapshot(snapshot: Snapshot, name: string | undefined): void {
    this.snapshot = snapshot;
    if (name !== undefined) this.evict(name);
  }

  setFallback(fallback: Fallback): void {
    this.fallback = fallback;
    this.clear();
  }

  addPin(name: string, version: SnapshotVersion): void {
    const before = Object.hasOwn(this.pins.prompts, name) ? this.pins.prompts[name] : undefined;
    const versions = dict(before?.versions);
    versions[version.sha] = version;
    const prompts = dict<SnapshotPrompt>(this.pins.prompts);
    prompts[name] = { labels: dict<string>(), versions };
    this.pins = { project: '', cursor: 0, prompts };
    this.byRef.clear();
  }

  get(nameOrRef: string, options?: GetOptions): ResolvedPrompt {
    if (options === undefined) return this.plain.get(nameOrRef) ?? this.getPlain(nameOrRef);
    const { tenant } = options;
    if (
      tenant !== undefined &&
      options.label === undefined &&
      options.sha === undefined &&
      options.unitKey === undefined &&
      options.context === undefined
    ) {
      return this.plainTenants.get(nameOrRef)?.get(tenant) ?? this.getPlainTenant(nameOrRef, tenant);
    }
    let hit: Entry | undefined;
    if (options.sha === undefined) {
      hit = (options.label === undefined ? this.byDefaultLabel : this.byLabel.get(options.label))?.get(nameOrRef);
    }
    if (hit === undefined) hit = this.resolve(nameOrRef, options);
    const shared = hit instanceof ResolvedPrompt ? hit : hit.pick(options.unitKey, options.context);
    return options.tenant === undefined ? shared : this.forTenant(shared, options.tenant);
  }

  /** A plain get's first answer (from its entry), kept in `plain` until the prompt changes. */
  private getPlain(nameOrRef: string): ResolvedPrompt {
    const hit = this.byDefaultLabel.get(nameOrRef) ?? this.resolve(nameOrRef, undefined);
    const shared = hit instanceof ResolvedPrompt ? hit : hit.pick(undefined, undefined);
    // `name@ref` answers live in byRef, cleared on any change; only plain names are kept here.
    if (!nameOrRef.includes('@')) this.plain.set(nameOrRef, shared);
    return shared;
  }

  /** A plain tenant get's first answer, built on the plain answer and kept in `plainTenants`. */
  private getPlainTenant(nameOrRef: string, tenant: string): ResolvedPrompt {
    const resolved = this.forTenant(this.plain.get(nameOrRef) ?? this.getPlain(nameOrRef), tenant);
    if (!nameOrRef.includes('@')) {
      let tenants = this.plainTenants.get(nameOrRef);
      if (tenants === undefined) this.plainTenants.set(nameOrRef, (tenants = new Map()));
      tenants.set(tenant, resolved);
    }
    return resolved;
  }

  private forTenant(shared: ResolvedPrompt, tenant: string): ResolvedPrompt {
    let tenants = this.byTenant.get(shared);
    const hit = tenants?.get(tenant);
    if (hit !== undefined) return hit;
    if (++this.tenantEntries > TENANT_CACHE_MAX) {
      this.byTenant = new WeakMap();
      this.plainTenants.clear();
      this.tenantEntries = 1;
      tenants = undefined;
    }
    if (tenants === undefined) this.byTenant.set(shared, (tenants = new Map()));
    const resolved = this.tenantPrompt(shared, tenant);
    tenants.set(tenant, resolved);
    return resolved;
  }

  /**
   * The shared result with `tenant`'s override applied (core's resolveTenant), from the snapshot, or from
   * the lockfile when the lockfile served the shared result; in-code defaults serve none.
   */
  private tenantPrompt(shared: ResolvedPrompt, tenant: string): ResolvedPrompt {
    const { name, label } = shared;
    const source = shared.source === 'snapshot' ? this.snapshot : this.lockServing(name, shared.sha);
    const served =
      source === undefined
        ? undefined
        : resolveTenant(source, { name, label, sha: shared.sha, content: shared.content }, tenant);
    let version = shared.version;
    if (source !== undefined && served !== undefined && served.baseSha !== shared.sha) {
      // A pinned base: its own version number.
      const prompt = source.prompts[name];
      const pinned =
        prompt?.overrides !== undefined && Object.hasOwn(prompt.overrides, tenant)
          ? prompt.overrides[tenant]?.base
          : undefined;
      if (pinned?.sha === served.baseSha) version = pinned.version;
    }
    return new ResolvedPrompt(
      name,
      version,
      served?.sha ?? shared.sha,
      label,
      shared.variant,
      shared.source,
      shared.releaseSha,
      served?.content ?? shared.content,
      shared.rolloutId,
      shared.shadow,
      tenant,
      served?.baseSha ?? shared.sha,
      served?.overrideSha ?? null,
      shared.labelRule,
    );
  }

  /** The lockfile's snapshot when its entry for `name` is the version `sha` (not an in-code default). */
  private lockServing(name: string, sha: string): Snapshot | undefined {
    const lock = this.fallback.lock;
    const entry = Object.hasOwn(lock.prompts, name) ? lock.prompts[name] : undefined;
    return entry !== undefined && Object.hasOwn(entry.versions, sha) ? lock : undefined;
  }

  private resolve(nameOrRef: string, options: GetOptions | undefined): Entry {
    const at = nameOrRef.indexOf('@');
    const sha = options?.sha;
    const label = options?.label ?? DEFAULT_LABEL;
    if (at === -1 && sha === undefined) {
      const resolved = this.entry(nameOrRef, label, undefined, options?.unitKey, options?.context);
      let cache = this.byLabel.get(label);
      if (cache === undefined) this.byLabel.set(label, (cache = new Map()));
      cache.set(nameOrRef, resolved);
      return resolved;
    }
    const key = at === -1 ? `${nameOrRef}@${sha}` : nameOrRef;
    const hit = this.byRef.get(key);
    if (hit !== undefined) return hit;
    const name = at === -1 ? nameOrRef : nameOrRef.slice(0, at);
    const ref = at === -1 ? sha : nameOrRef.slice(at + 1);
    const resolved = this.entry(name, label, ref, options?.unitKey, options?.context);
    this.byRef.set(key, resolved);
    return resolved;
  }

  /** What the cache keeps for a (name, label or ref): the prompt, or an ArmedPrompt when a rollout serves it. */
  private entry(
    name: string,
    label: string,
    ref: string | undefined,
    unitKey: UnitKey,
    context: EvaluationContext | undefined,
    /** Leave the label's own rules aside: the entry a RuledPrompt falls through to. */
    bare = false,
  ): Entry {
    const rules = bare ? undefined : this.labelRulesOf(name, ref === undefined ? label : ref);
    if (rules !== undefined) {
      return new RuledPrompt(
        rules,
        (key, ctx) => this.lookup(name, label, ref, key, ctx),
        (key, ctx) => this.entry(name, label, ref, key, ctx, true),
      );
    }
    const first = this.lookup(name, label, ref, unitKey, context, bare);
    if (first.rolloutId === null || first.source !== 'snapshot' || first.label === null) return first;
    const prompt = this.snapshot.prompts[name]!;
    // The rollout's own label: a rule may have served another label's version.
    const rollout = prompt.rollouts![ref === undefined ? label : ref] ?? prompt.rollouts![first.label]!;
    if (rollout.rules !== undefined || rollout.killed === true) {
      const targeted = new TargetedPrompt(rollout, (key, ctx) => this.lookup(name, label, ref, key, ctx, bare));
      targeted.seed(unitKey, context, first);
      return targeted;
    }
    const armed = new ArmedPrompt(rollout.salt, rollout.ramp, (key) =>
      this.lookup(name, label, ref, key, undefined, bare),
    );
    armed.seed(unitKey ?? keyOf(context), first);
    return armed;
  }

  private lookup(
    name: string,
    label: string,
    ref: string | undefined,
    unitKey: UnitKey,
    context: EvaluationContext | undefined,
    bare = false,
  ): ResolvedPrompt {
    const nameRef = ref === undefined ? name : `${name}@${ref}`;
    const options = { label, unitKey: unitKey ?? null, ...(context === undefined ? {} : { context }) };
    let source: PromptSource = 'snapshot';
    let found: Resolution | undefined =
      resolveFromSnapshot(bare ? this.withoutLabelRules(name) : this.snapshot, nameRef, options) ??
      (ref === undefined ? undefined : resolveFromSnapshot(this.pins, nameRef, options));
    if (found === undefined) {
      found = resolveFallback(this.fallback, name, label, ref);
      source = 'fallback';
    }
    if (found === undefined) throw this.notFound(name, label, ref);
    const { shadow } = found;
    return new ResolvedPrompt(
      found.name,
      found.version,
      found.sha,
      found.label,
      found.variant,
      source,
      this.fallback.releaseSha,
      found.content,
      found.rolloutId,
      shadow === null
        ? null
        : new ShadowPrompt(shadow.rolloutId, found.name, shadow.version, shadow.sha, found.label, shadow.content),
      null,
      found.sha,
      null,
      found.labelRule ?? null,
    );
  }

  /** The rules of `labelOrRef` when it names a label that has some, else undefined. */
  private labelRulesOf(name: string, labelOrRef: string): readonly SnapshotLabelRule[] | undefined {
    const prompt = Object.hasOwn(this.snapshot.prompts, name) ? this.snapshot.prompts[name] : undefined;
    const all = prompt?.labelRules;
    if (all === undefined || !Object.hasOwn(all, labelOrRef)) return undefined;
    return parseRef(labelOrRef).kind === 'label' ? all[labelOrRef] : undefined;
  }

  /** The snapshot with `name`'s label rules left out (a cache miss only, never the hot path). */
  private withoutLabelRules(name: string): Snapshot {
    const prompt = Object.hasOwn(this.snapshot.prompts, name) ? this.snapshot.prompts[name] : undefined;
    if (prompt?.labelRules === undefined) return this.snapshot;
    const { labelRules, ...rest } = prompt;
    void labelRules;
    const prompts = dict(this.snapshot.prompts);
    prompts[name] = rest;
    return { ...this.snapshot, prompts };
  }

  private notFound(name: string, label: string, ref: string | undefined): PromptopsError {
    const what = ref === undefined ? `'${name}' with label '${label}'` : `'${name}@${ref}'`;
    const prompt = Object.hasOwn(this.snapshot.prompts, name) ? this.snapshot.prompts[name] : undefined;
    const lock = Object.hasOwn(this.fallback.lock.prompts, name) ? this.fallback.lock.prompts[name] : undefined;
    const labels = [...new Set([...Object.keys(prompt?.labels ?? {}), ...Object.keys(lock?.labels ?? {})])];
    const known = [
      ...new Set([
        ...Object.keys(this.snapshot.prompts),
        ...Object.keys(this.fallback.lock.prompts),
        ...this.fallback.unlabelled.keys(),
        ...this.fallback.defaults.keys(),
      ]),
    ].sort();
    let available: string;
    if (labels.length > 0 || prompt !== undefined || lock !== undefined) {
      available = `'${name}' has labels: ${labels.sort().join(', ') || 'none'}`;
    } else if (known.length > 0) {
      available = `known prompts: ${known.slice(0, 20).join(', ')}${known.length > 20 ? `, … (${known.length})` : ''}`;
    } else {
      available = 'no prompts are loaded';
    }
    const details = {
      name,
      label: ref === undefined ? label : null,
      ref: ref ?? null,
      available: labels.length > 0 ? labels : known,
    };
    const pinHint =
      ref === undefined ? '' : `; a pin the snapshot lacks needs await client.prefetch('${name}@${ref}') first`;
    const outage = this.loaded ? this.outage() : undefined;
    if (outage !== undefined) {
      const miss = `${fallbackMiss(this.fallback, name, label, ref)}; ${available}${pinHint}`;
      return notServedWhileOffline(outage, { what, name, label, ref }, miss, details);
    }
    const notReady = this.loaded ? '' : ' (ready() has not completed yet)';
    return new PromptopsError(
      'not_found',
      'prompt_not_found',
      `prompt ${what} not found${notReady}; ${available}${pinHint}`,
      {
        details,
        fix:
          ref === undefined
            ? `promote a version to '${label}' (promptops promote ${name} vN -l ${label}), or ask for a label it has`
            : `prefetch it first (await client.prefetch('${name}@${ref}')), or use a ref the snapshot holds`,
      },
    );
  }

  private evict(name: string): void {
    for (const cache of this.byLabel.values()) cache.delete(name);
    this.plain.delete(name);
    this.plainTenants.delete(name);
    this.byRef.clear();
  }

  private clear(): void {
    for (const cache of this.byLabel.values()) cache.clear();
    this.plain.clear();
    this.plainTenants.clear();
    this.byRef.clear();
  }
}
