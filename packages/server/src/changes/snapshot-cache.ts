import { createHash } from 'node:crypto';
import { promisify } from 'node:util';
import { brotliCompress, constants, gzip } from 'node:zlib';
import type { Actor } from '../context.js';
import { BoundedCache } from '../bounded-cache.js';
import type { Coding } from '../request/accept-encoding.js';
import type { LabeledVersionRow, RegistryReads } from '../registry/store.js';
import { toRolloutView } from '../rollouts/records.js';
import type { RolloutReads, SnapshotRolloutRow } from '../rollouts/store.js';
import type { OverrideRow, TenantReads } from '../tenants/store.js';
import type { LabelRuleReads } from '../labels/rules-store.js';

/**
 * `GET /api/v1/snapshot` serialized once per project, scope and change stamp, and compressed once per
 * coding. The snapshot's cursor is the project's newest audit seq (the stamp): every change to a label,
 * a version or a key appends to the audit log in its transaction, so an entry built at the stamp a
 * request was authenticated at (or later) is exactly what a fresh read would give, on every replica.
 * The ETag names the stamp, the hash of the audit entry at it (so a database restored from a backup
 * and moved on to the same seq does not match), the project and the scope.
 */

export interface SnapshotScope {
  /** Only these prompts. */
  readonly names?: readonly string[];
  /** Only prompts whose name starts with it; with `names`, the prompts either selects. */
  readonly prefix?: string;
  /** Only this tenant's overrides (a tenant-scoped key's); set from the key, never from the request. */
  readonly tenant?: string;
}

export interface SnapshotEntry {
  /** The cursor the snapshot includes: the project's stamp when it was read. */
  readonly stamp: number;
  /** The identity representation's entity tag, quoted; a coding's is it with `-br` / `-gzip` before the closing quote. */
  readonly etag: string;
  /** The JSON document, UTF-8. */
  readonly body: Buffer;
}

export interface SnapshotCacheOptions {
  /** Entries (project x scope) kept; default 256. */
  readonly maxEntries?: number;
  /** Bytes of JSON and compressed copies kept in all; default 256 MiB. */
  readonly maxBytes?: number;
}

/** Bodies smaller than this are sent as they are: compressing them saves less than the header costs. */
export const MIN_COMPRESSED_BYTES = 1024;

/** Bumped when the document's shape changes, so an old tag never validates a new shape. */
const FORMAT = 'snapshot-3';

const gzipAsync = promisify(gzip);
const brotliAsync = promisify(brotliCompress);

/**
 * Both run on libuv's thread pool, off the event loop. Brotli at quality 5 with a 4 MiB window: on an
 * 8.4 MB snapshot of 5,000 prompts 1.34 MB in ~0.25 s, where quality 11 gives 1.15 MB in ~13 s and gzip
 * level 6 1.70 MB (bench/README.md).
 */
const compress = (coding: Coding, body: Buffer): Promise<Buffer> =>
  coding === 'gzip'
    ? gzipAsync(body, { level: 6 })
    : brotliAsync(body, {
        params: {
          [constants.BROTLI_PARAM_MODE]: constants.BROTLI_MODE_TEXT,
          [constants.BROTLI_PARAM_QUALITY]: 5,
          [constants.BROTLI_PARAM_LGWIN]: 22,
          [constants.BROTLI_PARAM_SIZE_HINT]: body.length,
        },
      });

interface Slot extends SnapshotEntry {
  readonly key: string;
  readonly encoded: Map<Coding, Promise<Buffer>>;
  /** The body plus every finished compressed copy. */
  weight: number;
}

export const scopeKey = (scope: SnapshotScope): string =>
  `${scope.names === undefined ? '*' : [...scope.names].sort().join(',')}\u0000${scope.prefix ?? ''}` +
  (scope.tenant === undefined ? '' : `\u0000tenant:${scope.tenant}`);

const inScope = (scope: SnapshotScope): ((name: string) => boolean) => {
  const { prefix } = scope;
  const names = scope.names === undefined ? undefined : new Set(scope.names);
  if (prefix === undefined) return names === undefined ? () => true : (name) => names.has(name);
  return (name) => name.startsWith(prefix) || (names?.has(name) ?? false);
};

/**
 * The snapshot document from the label rows (ordered by name, label), built as text: each version's
 * content is stored as canonical JSON and goes in as it is, never parsed and re-serialized, so a client
 * can check it against its sha with one stringify (see the SDK's snapshot-store).
 */
/** `"rollouts":{…}` of one prompt: its running and paused rollouts, the candidate's content as stored. */
const rolloutsPart = (rollouts: readonly SnapshotRolloutRow[]): string => {
  const parts = rollouts.map((row) => {
    const { id, salt, mode, state, ramp, rules, killed } = toRolloutView(row);
    const targeting = { ...(rules === null ? {} : { rules }), ...(killed ? { killed } : {}) };
    const head = JSON.stringify({ id, salt, mode, state, ramp, ...targeting }).slice(0, -1);
    const candidate = `{"version":${row.candidateVersion},"sha":"${row.candidateSha}","content":${row.candidateContent}}`;
    return `${JSON.stringify(row.label)}:${head},"candidate":${candidate}}`;
  });
  return `,"rollouts":{${parts.join(',')}}`;
};

/** A tenant's current override with, when pinned, its base version (content as stored). */
export interface SnapshotOverrideRow extends OverrideRow {
  readonly base: { readonly version: number; readonly content: string } | null;
}

/** `"overrides":{…}` of one prompt: each tenant's current override, its text as stored (normalized JSON). */
const overridesPart = (overrides: readonly SnapshotOverrideRow[]): string => {
  const parts = overrides.map((row) => {
    const base =
      row.base === null
        ? 'null'
        : `{"version":${row.base.version},"sha":"${row.baseSha}","content":${row.base.content}}`;
    const head = `{"version":${row.version},"sha":"${row.sha}","label":${JSON.stringify(row.label)}`;
    return `${JSON.stringify(row.tenant)}:${head},"override":${row.content},"base":${base}}`;
  });
  return `,"overrides":{${parts.join(',')}}`;
};

/** A label's rules as stored, each served version's content (as stored) by sha. */
export interface SnapshotLabelRulesRow {
  readonly label: string;
  readonly rules: string;
  readonly contents: ReadonlyMap<string, string>;
}

/** `"labelRules":{…}` of one prompt: each label's rules, a served version with its content as stored. */
const labelRulesPart = (rows: readonly SnapshotLabelRulesRow[]): string => {
  const parts = rows.map((row) => {
    const rules = (JSON.parse(row.rules) as { serve: { version?: number; sha?: string } }[]).map((rule) => {
      const { serve, ...rest } = rule;
      const head = JSON.stringify(rest).slice(0, -1);
      const sep = head === '{' ? '' : ',';
      if (serve.sha === undefined) return `${head}${sep}"serve":${JSON.stringify(serve)}}`;
      const version = `{"version":${serve.version},"sha":"${serve.sha}","content":${row.contents.get(serve.sha)}}`;
      return `${head}${sep}"serve":{"version":${version}}}`;
    });
    return `${JSON.stringify(row.label)}:[${rules.join(',')}]`;
  });
  return `,"labelRules":{${parts.join(',')}}`;
};

const serialize = (
  project: string,
  cursor: number,
  rows: readonly LabeledVersionRow[],
  rollouts: ReadonlyMap<string, SnapshotRolloutRow[]> = new Map(),
  overrides: ReadonlyMap<string, SnapshotOverrideRow[]> = new Map(),
  labelRules: ReadonlyMap<string, SnapshotLabelRulesRow[]> = new Map(),
): string => {
  const parts: string[] = [`{"project":${JSON.stringify(project)},"cursor":${cursor},"prompts":{`];
  for (let i = 0; i < rows.length;) {
    const name = rows[i]!.name;
    let end = i;
    while (end < rows.length && rows[end]!.name === name) end += 1;
    const group = rows.slice(i, end);
    parts.push(i === 0 ? '' : ',', JSON.stringify(name), ':{"labels":{');
    group.forEach((row, n) => parts.push(n === 0 ? '' : ',', JSON.stringify(row.label), ':"', row.sha, '"'));
    parts.push('},"versions":{');
    const seen = new Set<string>();
    for (const row of group) {
      if (seen.has(row.sha)) continue;
      parts.push(seen.size === 0 ? '' : ',', `"${row.sha}":{"version":${row.version},"sha":"${row.sha}","content":`);
      parts.push(row.content, '}');
      seen.add(row.sha);
    }
    parts.push('}');
    const active = rollouts.get(name);
    if (active !== undefined) parts.push(rolloutsPart(active));
    const tenants = overrides.get(name);
    if (tenants !== undefined) parts.push(overridesPart(tenants));
    const ruled = labelRules.get(name);
    if (ruled !== undefined) parts.push(labelRulesPart(ruled));
    parts.push('}');
    i = end;
  }
  parts.push('}}');
  return parts.join('');
};

export class SnapshotCache {
  readonly #entries: BoundedCache<string, Slot>;
  /** Reads in flight, so simultaneous requests at one stamp read and serialize once. */
  readonly #building = new Map<string, Promise<Slot>>();

  constructor(
    private readonly registry: RegistryReads,
    options: SnapshotCacheOptions = {},
    /** Active rollouts, sent with their labels; none when not given. */
    private readonly rollouts?: Pick<RolloutReads, 'snapshotRollouts'>,
    /** Tenants' current overrides, sent with their prompts; none when not given. */
    private readonly overrides?: Pick<TenantReads, 'projectOverrides'>,
    /** Labels' own targeting rules, sent with their prompts; none when not given. */
    private readonly labelRules?: Pick<LabelRuleReads, 'projectLabelRules'>,
  ) {
    this.#entries = new BoundedCache(options.maxEntries ?? 256, options.maxBytes ?? 256 * 1024 * 1024);
  }

  /** For tests and metrics: entries and bytes held. */
  get stats(): { entries: number; bytes: number } {
    return { entries: this.#entries.size, bytes: this.#entries.weight };
  }

  /**
   * The snapshot at the actor's stamp or later: from memory when one is held (no promise), else read once.
   * A tenant-scoped key gets only its tenant's overrides: its own entry, cache key and ETag.
   */
  entry(actor: Actor, requested: SnapshotScope): SnapshotEntry | Promise<SnapshotEntry> {
    const scope: SnapshotScope = actor.tenant === undefined ? requested : { ...requested, tenant: actor.tenant };
    const key = `${actor.projectId}\u0000${scopeKey(scope)}`;
    const hit = this.#entries.get(key);
    if (hit !== undefined && hit.stamp >= actor.stamp) return hit;
    return this.#build(key, actor, scope);
  }

  /** The body in `coding`, compressed on first use and kept with the entry. */
  encoded(entry: SnapshotEntry, coding: Coding): Promise<Buffer> {
    const slot = entry as Slot;
    let pending = slot.encoded.get(coding);
    if (pending === undefined) {
      pending = compress(coding, slot.body);
      slot.encoded.set(coding, pending);
      pending.then(
        (bytes) => {
          slot.weight += bytes.length;
          // Re-weighed only while it is the entry held; a newer stamp's entry may have replaced it.
          if (this.#entries.get(slot.key) === slot) this.#entries.set(slot.key, slot, slot.weight);
        },
        () => slot.encoded.delete(coding), // the next request tries again
      );
    }
    return pending;
  }

  async #build(key: string, actor: Actor, scope: SnapshotScope): Promise<Slot> {
    const pending = this.#building.get(key);
    if (pending !== undefined) {
      // A read that started before this request's stamp may not include it: then read again.
      const slot = await pending;
      if (slot.stamp >= actor.stamp) return slot;
    }
    const read = this.#read(key, actor, scope);
    this.#building.set(key, read);
    try {
      const slot = await read;
      const held = this.#entries.get(key);
      if (held === undefined || held.stamp < slot.stamp) this.#entries.set(key, slot, slot.weight);
      return slot;
    } finally {
      if (this.#building.get(key) === read) this.#building.delete(key);
    }
  }

  /** Current overrides by prompt name, read after the labels like rollouts (override events replace too). */
  async #overrides(
    projectId: number,
    keep: (name: string) => boolean,
    tenant: string | undefined,
  ): Promise<Map<string, SnapshotOverrideRow[]>> {
    const byName = new Map<string, SnapshotOverrideRow[]>();
    for (const row of (await this.overrides?.projectOverrides(projectId)) ?? []) {
      if (!keep(row.name) || (tenant !== undefined && row.tenant !== tenant)) continue;
      let base: SnapshotOverrideRow['base'] = null;
      if (row.baseSha !== null) {
        const pinned = await this.registry.getVersionBySha(row.promptId, row.baseSha);
        // Versions are never deleted; were one missing, the tenant gets the shared prompt, never a guess.
        if (pinned === undefined) continue;
        base = { version: pinned.version, content: pinned.content };
      }
      const list = byName.get(row.name) ?? [];
      list.push({ ...row, base });
      byName.set(row.name, list);
    }
    return byName;
  }

  /** Labels' rules by prompt name, each served version's content read (versions never change). */
  async #labelRules(projectId: number, keep: (name: string) => boolean): Promise<Map<string, SnapshotLabelRulesRow[]>> {
    const byName = new Map<string, SnapshotLabelRulesRow[]>();
    for (const row of (await this.labelRules?.projectLabelRules(projectId)) ?? []) {
      if (!keep(row.name)) continue;
      const served = (JSON.parse(row.rules) as { serve: { sha?: string } }[]).flatMap((r) => r.serve.sha ?? []);
      const contents = new Map<string, string>();
      for (const sha of new Set(served)) {
        const version = await this.registry.getVersionBySha(row.promptId, sha);
        if (version !== undefined) contents.set(sha, version.content);
      }
      // Versions are never deleted; were one missing, the label is sent without rules, never a guess.
      if (contents.size !== new Set(served).size) continue;
      const list = byName.get(row.name) ?? [];
      list.push({ label: row.label, rules: row.rules, contents });
      byName.set(row.name, list);
    }
    return byName;
  }

  async #read(key: string, actor: Actor, scope: SnapshotScope): Promise<Slot> {
    const { projectId } = actor;
    // Names alone are selected by the database; a prefix is applied here, to the project's labels.
    const byDatabase = scope.prefix === undefined && scope.names !== undefined ? { names: scope.names } : {};
    const { cursor, labels } = await this.registry.readLabelSnapshot(projectId, byDatabase);
    // Read after the labels, so a rollout is never older than the cursor; an event after the cursor that
    // it already includes sets the same state again (rollout events replace, they do not add up).
    const active = new Map<string, SnapshotRolloutRow[]>();
    for (const row of (await this.rollouts?.snapshotRollouts(projectId)) ?? []) {
      const list = active.get(row.name) ?? [];
      list.push(row);
      active.set(row.name, list);
    }
    const keep = inScope(scope);
    const overrides = await this.#overrides(projectId, keep, scope.tenant);
    const labelRules = await this.#labelRules(projectId, keep);
    const body = Buffer.from(
      serialize(
        actor.projectName,
        cursor,
        labels.filter((row) => keep(row.name)),
        active,
        overrides,
        labelRules,
      ),
    );
    const [head] = cursor === 0 ? [] : await this.registry.listAudit(projectId, { afterSeq: cursor - 1, limit: 1 });
    const digest = createHash('sha256')
      .update(`${FORMAT}\u0000${projectId}\u0000${head?.hash ?? ''}\u0000${scopeKey(scope)}`)
      .digest('base64url')
      .slice(0, 22);
    return { key, stamp: cursor, etag: `"${cursor}-${digest}"`, body, encoded: new Map(), weight: body.length };
  }
}

/** The entity tag of `entry` sent in `coding`. */
export const etagOf = (entry: SnapshotEntry, coding: Coding | 'identity'): string =>
  coding === 'identity' ? entry.etag : `${entry.etag.slice(0, -1)}-${coding}"`;

/**
 * Whether an If-None-Match header names the entry in any coding (weak comparison, RFC 9110 13.1.2): a
 * client that decoded a gzip copy holds the same document as one that received it plain.
 */
export const noneMatch = (header: string | undefined, entry: SnapshotEntry): boolean => {
  if (header === undefined) return false;
  const base = entry.etag.slice(1, -1);
  for (const raw of header.split(',')) {
    const tag = raw.trim();
    if (tag === '*') return true;
    const opaque = tag.replace(/^W\//, '').replace(/^"|"$/g, '');
    if (opaque === base || opaque === `${base}-br` || opaque === `${base}-gzip`) return true;
  }
  return false;
};
