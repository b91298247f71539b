import { canonicalJson } from './canonical.js';

/**
 * What the audit log says the tables hold, read entry by entry (oldest first). `verify` compares every row
 * with it. Each expectation keeps the seq of the entry it came from, so a problem names that entry.
 * Fields an older entry did not record are absent and not compared.
 */

export interface StoryEntry {
  readonly seq: number;
  readonly at: string;
  readonly actor: string;
  readonly action: string;
  readonly data: Readonly<Record<string, unknown>>;
}

/** The recorded value (or null: deleted) of one row, and the entry that recorded it. */
export interface Recorded<T> {
  readonly seq: number;
  readonly value: T | null;
}

type Fields = Readonly<Record<string, unknown>>;

export interface AuditStory {
  /** By `NAME@vN`: sha, parentSha, author, message, createdAt. */
  readonly versions: Map<string, Recorded<Fields>>;
  /** By deployment id: name, label, kind, actor, reason, createdAt, fromSha, toSha, toVersion. */
  readonly deployments: Map<number, Recorded<Fields>>;
  /** By `LABEL PATTERN`: the policy's fields and updatedBy. */
  readonly policies: Map<string, Recorded<Fields>>;
  /** By pattern: owners, updatedBy. */
  readonly owners: Map<string, Recorded<Fields>>;
  /** By team: members, updatedBy. */
  readonly teams: Map<string, Recorded<Fields>>;
  /** By key id: role, name, user, createdBy, createdAt, revokedAt (merged over the key's entries). */
  readonly keys: Map<string, Recorded<Fields>>;
  /** By member name: role. */
  readonly members: Map<string, Recorded<Fields>>;
  /**
   * By change request id: name, label, status, author, message, sha, version, baseSha, baseVersion,
   * deploymentId, and createdAt/updatedAt where the entries record them (entries written before they did
   * leave those two uncompared).
   */
  readonly changeRequests: Map<number, Recorded<Fields>>;
  /** By change request id: its review events (kind, actor, sha, comment, at), oldest first. */
  readonly reviewEvents: Map<number, Recorded<Fields>[]>;
}

export const policyKey = (label: string, pattern: string): string => `${label} ${pattern}`;

const str = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);
const defined = (fields: Record<string, unknown>): Fields =>
  Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined));

/** Label moves are audited under these actions (labels/move.ts); pushes under `version.created`. */
const LABEL_MOVES = new Set(['label.moved', 'label.rolled_back', 'label.forced']);

export const readAuditStory = (entries: Iterable<StoryEntry>): AuditStory => {
  const story: AuditStory = {
    versions: new Map(),
    deployments: new Map(),
    policies: new Map(),
    owners: new Map(),
    teams: new Map(),
    keys: new Map(),
    members: new Map(),
    changeRequests: new Map(),
    reviewEvents: new Map(),
  };
  const set = <K>(map: Map<K, Recorded<Fields>>, key: K, seq: number, value: Fields | null): void => {
    map.set(key, { seq, value });
  };
  /** Keys accumulate: a revocation keeps what the creation recorded. */
  const key = (id: unknown, seq: number, fields: Record<string, unknown>): void => {
    if (typeof id !== 'string') return;
    set(story.keys, id, seq, { ...(story.keys.get(id)?.value ?? {}), ...defined(fields) });
  };

  /** `NAME SHA` -> version number, from the pushes read so far (a request's base version is one of them). */
  const numbers = new Map<string, unknown>();
  const numberOf = (name: string | undefined, sha: unknown): unknown =>
    sha === null ? null : numbers.get(`${String(name)} ${String(sha)}`);

  for (const { seq, at, actor, action, data } of entries) {
    const name = str(data['name']);
    if (action === 'version.created') {
      numbers.set(`${String(name)} ${String(data['sha'])}`, data['version']);
      set(story.versions, `${name}@v${String(data['version'])}`, seq, {
        sha: data['sha'],
        parentSha: data['parentSha'],
        author: actor,
        message: data['message'],
        createdAt: at,
      });
      if (typeof data['deploymentId'] === 'number') {
        // A push moves `latest` from the previous head (latest follows every push and nothing else).
        set(
          story.deployments,
          data['deploymentId'],
          seq,
          defined({
            name,
            label: 'latest',
            kind: 'push',
            actor,
            reason: data['message'],
            createdAt: at,
            fromSha: data['parentSha'],
            toSha: data['sha'],
            toVersion: data['version'],
          }),
        );
      }
    } else if (LABEL_MOVES.has(action) && typeof data['deploymentId'] === 'number') {
      const { label, kind, reason, fromSha, toSha, toVersion } = data;
      set(
        story.deployments,
        data['deploymentId'],
        seq,
        defined({ name, label, kind, actor, reason, createdAt: at, fromSha, toSha, toVersion }),
      );
    } else if (action === 'policy.set' || action === 'policy.deleted') {
      const policy = data['policy'] as Record<string, unknown> | undefined;
      const pattern = str(policy?.['pattern'] ?? data['pattern']);
      if (pattern === undefined) continue;
      const label = String(data['label']);
      set(story.policies, policyKey(label, pattern), seq, policy ? { ...policy, updatedBy: actor } : null);
    } else if (action === 'owners.set' || action === 'owners.deleted') {
      set(
        story.owners,
        String(data['pattern']),
        seq,
        action === 'owners.set' ? { owners: data['owners'], updatedBy: actor } : null,
      );
    } else if (action === 'team.set' || action === 'team.deleted') {
      set(
        story.teams,
        String(data['team']),
        seq,
        action === 'team.set' ? { members: data['members'], updatedBy: actor } : null,
      );
    } else if (action === 'project.created') {
      // In the new project's own log: its first admin key (the creator's log names the project instead).
      key(data['keyId'], seq, { role: data['role'], user: null, createdBy: actor, createdAt: at, revokedAt: null });
    } else if (action === 'key.created' || action === 'key.rotated') {
      // The tenant scope is compared too: a scope dropped in SQL would widen what the key reaches.
      const { role, user } = data;
      const tenant = data['tenant'] ?? null;
      const keyId = action === 'key.created' ? data['keyId'] : data['newKeyId'];
      key(keyId, seq, { role, name, user, tenant, createdBy: actor, createdAt: at, revokedAt: null });
      if (action === 'key.rotated') {
        const grace = typeof data['graceSeconds'] === 'number' ? data['graceSeconds'] : 0;
        key(data['keyId'], seq, { revokedAt: new Date(Date.parse(at) + grace * 1000).toISOString() });
      }
    } else if (action === 'key.revoked') {
      key(data['keyId'], seq, { revokedAt: at });
    } else if (action === 'member.added' || action === 'member.updated') {
      if (name === undefined) continue;
      const before = story.members.get(name)?.value ?? {};
      set(story.members, name, seq, { ...before, ...defined({ role: data['role'] }) });
    } else if (action === 'member.removed') {
      if (name !== undefined) set(story.members, name, seq, null);
    } else if (action.startsWith(REVIEW_PREFIX) && typeof data['changeRequest'] === 'number') {
      readReviewEntry(story, numberOf, { seq, at, actor, action, data });
    }
  }
  return story;
};

const REVIEW_PREFIX = 'review.';

/** One `review.KIND` entry (reviews/service.ts): a timeline event, and the change request's state after it. */
const readReviewEntry = (
  story: AuditStory,
  numberOf: (name: string | undefined, sha: unknown) => unknown,
  { seq, at, actor, action, data }: StoryEntry,
): void => {
  const id = data['changeRequest'] as number;
  const kind = action.slice(REVIEW_PREFIX.length);
  const { sha, comment } = data;
  const events = story.reviewEvents.get(id) ?? [];
  story.reviewEvents.set(id, [...events, { seq, value: { kind, actor, sha, comment, at } }]);

  const name = str(data['name']);
  // updatedAt is the newest state change's, when that entry records it; otherwise it is not compared.
  const { updatedAt: _previous, ...before } = story.changeRequests.get(id)?.value ?? {};
  const base = (): Fields => ({ baseSha: data['baseSha'], baseVersion: numberOf(name, data['baseSha']) });
  let state: Record<string, unknown>;
  if (kind === 'opened') {
    const { label, version, createdAt } = data;
    state = {
      name,
      label,
      status: 'open',
      author: actor,
      message: comment,
      sha,
      version,
      ...base(),
      deploymentId: null,
      createdAt,
      updatedAt: createdAt,
    };
  } else if (kind === 'superseded') {
    state = { ...before, sha, version: data['version'], ...base(), updatedAt: data['updatedAt'] };
  } else if (kind === 'merged') {
    state = { ...before, status: 'merged', deploymentId: data['deploymentId'], updatedAt: data['updatedAt'] };
  } else if (kind === 'closed') {
    state = { ...before, status: 'closed', updatedAt: data['updatedAt'] };
  } else {
    return; // approvals and rejections change no column of the request
  }
  story.changeRequests.set(id, { seq, value: defined(state) });
};

/** The recorded fields whose value the row does not hold (compared as canonical JSON). */
export const differingFields = (recorded: Fields, row: Fields): string[] =>
  Object.keys(recorded).filter((field) => canonicalJson(recorded[field] ?? null) !== canonicalJson(row[field] ?? null));
