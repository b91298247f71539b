import { PromptopsError } from '@promptops/core/errors';
import {
  DEFAULT_LABEL,
  resolveFromSnapshot,
  type Resolution,
  type Snapshot,
  type SnapshotPrompt,
  type SnapshotVersion,
} from '@promptops/core/resolve';
import { notServedWhileOffline, type RegistryOutage } from './errors.js';
import { EMPTY_FALLBACK, fallbackMiss, resolveFallback, type Fallback } from './fallback.js';
import { ResolvedPrompt, type PromptSource } from './resolved-prompt.js';
import { EMPTY_SNAPSHOT, dict } from './snapshot-store.js';

export interface GetOptions {
  /** Default `production`. */
  readonly label?: string;
  /** Pins a version: a sha or a prefix of 7+ hex characters (or `v17`). Same as `get('name@<sha>')`. */
  readonly sha?: string;
  /** Reserved for tenant overrides; accepted and ignored for now. */
  readonly tenant?: string;
  /** Reserved for rollout assignment (the unit a rollout buckets, e.g. a user id); ignored for now. */
  readonly unitKey?: string;
  /** Reserved for targeting rules; ignored for now. */
  readonly context?: Readonly<Record<string, unknown>>;
}

/**
 * Synchronous resolution from memory. The registry's snapshot first (`resolveFromSnapshot`, core's one
 * resolution), then prefetched pins, then the fallback. Results are cached per (label, name) and per
 * ref string, so the hot path is one or two Map lookups and no allocation; a change to a prompt
 * evicts that prompt's entries, a snapshot replacement evicts everything.
 */
export class Resolver {
  private snapshot: Snapshot = EMPTY_SNAPSHOT;
  private pins: Snapshot = EMPTY_SNAPSHOT;
  private fallback: Fallback = EMPTY_FALLBACK;
  /** label -> name -> result, for plain names. */
  private readonly byLabel = new Map<string, Map<string, ResolvedPrompt>>();
  /** The default label's map, held directly: `get(name)` is then a single lookup. */
  private readonly byDefaultLabel = new Map<string, ResolvedPrompt>();
  /** `name@ref` strings and `{ sha }` pins. Cleared on any change (pins are rare). */
  private readonly byRef = new Map<string, ResolvedPrompt>();
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
    if (options === undefined) {
      const hit = this.byDefaultLabel.get(nameOrRef);
      if (hit !== undefined) return hit;
    } else if (options.sha === undefined) {
      const hit = (options.label === undefined ? this.byDefaultLabel : this.byLabel.get(options.label))?.get(nameOrRef);
      if (hit !== undefined) return hit;
    }
    return this.resolve(nameOrRef, options);
  }

  private resolve(nameOrRef: string, options: GetOptions | undefined): ResolvedPrompt {
    const at = nameOrRef.indexOf('@');
    const sha = options?.sha;
    const label = options?.label ?? DEFAULT_LABEL;
    if (at === -1 && sha === undefined) {
      const resolved = this.lookup(nameOrRef, label, undefined);
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
    const resolved = this.lookup(name, label, ref);
    this.byRef.set(key, resolved);
    return resolved;
  }

  private lookup(name: string, label: string, ref: string | undefined): ResolvedPrompt {
    const nameRef = ref === undefined ? name : `${name}@${ref}`;
    const options = { label };
    let source: PromptSource = 'snapshot';
    let found: Resolution | undefined =
      resolveFromSnapshot(this.snapshot, nameRef, options) ??
      (ref === undefined ? undefined : resolveFromSnapshot(this.pins, nameRef, options));
    if (found === undefined) {
      found = resolveFallback(this.fallback, name, label, ref);
      source = 'fallback';
    }
    if (found === undefined) throw this.notFound(name, label, ref);
    return new ResolvedPrompt(
      found.name,
      found.version,
      found.sha,
      found.label,
      'base',
      source,
      this.fallback.releaseSha,
      found.content,
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
