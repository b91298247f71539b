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
