/**
 * The public shapes of projects, members and API keys (docs/api.md, "Projects, users and keys"), shared
 * by the server that produces them and the CLI and dashboard that read them.
 */

/** Roles, from least to most: each has every permission of those before it. */
export const ACCESS_ROLES = ['viewer', 'editor', 'reviewer', 'deployer', 'admin'] as const;
export type AccessRole = (typeof ACCESS_ROLES)[number];

/** `expiring`: rotated, still working until `revokedAt`; `suspended`: its user is no longer a member. */
export type KeyStatus = 'active' | 'expiring' | 'revoked' | 'suspended';

export interface KeyRecord {
  /** The key's public id: the first 16 hex of sha256(key); no part of the secret. */
  readonly keyId: string;
  readonly name: string;
  /** The role the key was created with. */
  readonly role: AccessRole;
  /** The role it acts with now: `role`, capped by its user's membership; null when it cannot act. */
  readonly effectiveRole: AccessRole | null;
  /** The user the key acts as (actions are attributed to them), or null. */
  readonly user: string | null;
  /** The tenant the key is limited to (that tenant's overrides and traces only), or null: the whole project. */
  readonly tenant: string | null;
  readonly createdBy: string;
  readonly createdAt: string;
  readonly lastUsedAt: string | null;
  /** When it stopped (or, while `expiring`, will stop) working. */
  readonly revokedAt: string | null;
  readonly status: KeyStatus;
}

/** A key as created or rotated: `secret` is shown this once and never stored. */
export interface CreatedKeyResult {
  readonly key: KeyRecord;
  readonly secret: string;
}

export interface RotatedKeyResult extends CreatedKeyResult {
  /** The key that was rotated: `revoked`, or `expiring` during a grace period. */
  readonly previous: KeyRecord;
}

export interface RevokedKeyResult {
  /** False when the key was revoked already. */
  readonly changed: boolean;
  readonly key: KeyRecord;
}

export interface MemberRecord {
  readonly name: string;
  readonly displayName: string | null;
  readonly role: AccessRole;
  readonly createdAt: string;
  readonly createdBy: string;
  readonly updatedAt: string;
}

export interface ProjectRecord {
  readonly id: number;
  readonly name: string;
  readonly createdAt: string;
}

export interface CreatedProjectResult extends CreatedKeyResult {
  readonly project: ProjectRecord;
}

/**
 * Who did something, as history and the audit log name them: a user by their name (server-wide, unique,
 * never renamed, and without `:`), a service key as `key:NAME`. The two namespaces never meet, so comparing
 * actor names compares identities: a key named like a member can never count, author or be audited as them.
 */
export const KEY_ACTOR_PREFIX = 'key:';

/** The actor name of a service key (one that acts as no user). */
export const keyActorName = (keyName: string): string => `${KEY_ACTOR_PREFIX}${keyName}`;

/** The actor name of an API key: its user's name, or `key:NAME` for a service key. */
export const actorNameOf = (key: { readonly name: string; readonly user: string | null }): string =>
  key.user ?? keyActorName(key.name);

/**
 * Why a new key's name would confuse who acted, or null when it is fine. `:` is the namespace separator;
 * a member's name (in any case) would read as the member wherever the key is listed, unless the key acts
 * as that very member.
 */
export const confusingKeyName = (
  name: string,
  members: readonly string[],
  user: string | null = null,
): string | null => {
  if (name.includes(':')) return `'${name}' contains ':', which separates actor namespaces (key:NAME)`;
  const lower = name.trim().toLowerCase();
  const member = members.find((m) => m.toLowerCase() === lower && m !== user);
  return member === undefined ? null : `'${name}' is the name of the member '${member}'`;
};
