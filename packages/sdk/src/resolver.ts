import { PromptopsError } from '@promptops/core/errors';
import {
  DEFAULT_LABEL,
  resolveFromSnapshot,
  type Resolution,
  type Snapshot,
  type SnapshotPrompt,
  type SnapshotVersion,
} from '@promptops/core/resolve';
import { assignArm } from '@promptops/core/rollouts';
import { notServedWhileOffline, type RegistryOutage } from './errors.js';
import { EMPTY_FALLBACK, fallbackMiss, resolveFallback, type Fallback } from './fallback.js';
import { ResolvedPrompt, ShadowPrompt, type PromptSource } from './resolved-prompt.js';
import { EMPTY_SNAPSHOT, dict } from './snapshot-store.js';

export interface GetOptions {
  /** Default `production`. */
  readonly label?: string;
  /** Pins a version: a sha or a prefix of 7+ hex characters (or `v17`). Same as `get('name@<sha>')`. */
  readonly sha?: string;
  /** Reserved for tenant overrides; accepted and ignored for now. */
  readonly tenant?: string;
  /**
   * The unit a rollout assigns to an arm (a user, session or tenant id): sticky, the same arm in every
   * SDK, the server and the gateway. None: the baseline. Pins by version or sha ignore rollouts.
   */
  readonly unitKey?: string | null;
  /** Reserved for targeting rules; ignored for now. */
  readonly context?: Readonly<Record<string, unknown>>;
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

  pick(unitKey: UnitKey): ResolvedPrompt {
    const slot = this.slot(unitKey);
    return this.outcomes[slot] ?? (this.outcomes[slot] = this.resolve(unitKey));
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

type Entry = ResolvedPrompt | ArmedPrompt;

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
  /** The default label's map, held directly: `get(name)` is then a single lookup. */
  private readonly byDefaultLabel = new Map<string, Entry>();
  /** `name@ref` strings and `{ sha }` pins. Cleared on any change (pins are rare). */
  private readonly byRef = new Map<string, Entry>();
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
    let hit: Entry | undefined;
    if (options === undefined) hit = this.byDefaultLabel.get(nameOrRef);
    else if (options.sha === undefined) {
      hit = (options.label === undefined ? this.byDefaultLabel : this.byLabel.get(options.label))?.get(nameOrRef);
    }
    if (hit === undefined) hit = this.resolve(nameOrRef, options);
    return hit instanceof ResolvedPrompt ? hit : hit.pick(options?.unitKey);
  }

  private resolve(nameOrRef: string, options: GetOptions | undefined): Entry {
    const at = nameOrRef.indexOf('@');
    const sha = options?.sha;
    const label = options?.label ?? DEFAULT_LABEL;
    if (at === -1 && sha === undefined) {
      const resolved = this.entry(nameOrRef, label, undefined, options?.unitKey);
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
    const resolved = this.entry(name, label, ref, options?.unitKey);
    this.byRef.set(key, resolved);
    return resolved;
  }

  /** What the cache keeps for a (name, label or ref): the prompt, or an ArmedPrompt when a rollout serves it. */
  private entry(name: string, label: string, ref: string | undefined, unitKey: UnitKey): Entry {
    const first = this.lookup(name, label, ref, unitKey);
    if (first.rolloutId === null || first.source !== 'snapshot' || first.label === null) return first;
    const prompt = this.snapshot.prompts[name]!;
    const rollout = prompt.rollouts![first.label]!;
    const armed = new ArmedPrompt(rollout.salt, rollout.ramp, (key) => this.lookup(name, label, ref, key));
    armed.seed(unitKey, first);
    return armed;
  }

  private lookup(name: string, label: string, ref: string | undefined, unitKey: UnitKey): ResolvedPrompt {
    const nameRef = ref === undefined ? name : `${name}@${ref}`;
    const options = { label, unitKey: unitKey ?? null };
    let source: PromptSource = 'snapshot';
    let found: Resolution | undefined =
      resolveFromSnapshot(this.snapshot, nameRef, options) ??
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
    );
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
    this.byRef.clear();
  }

  private clear(): void {
    for (const cache of this.byLabel.values()) cache.clear();
    this.byRef.clear();
  }
}
