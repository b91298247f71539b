import type { Role } from '../storage/port.js';
import type { AccessKeyRow, MemberRow } from '../storage/access-port.js';
import { effectiveRole, keyWorksAt } from './roles.js';

/** The public shapes of keys, members and projects (docs/api.md, "Projects, users and keys"). */

export type KeyStatus = 'active' | 'expiring' | 'revoked' | 'suspended';

export interface KeyRecord {
  /** The key's public id: the first 16 hex of sha256(key); never part of the secret. */
  readonly keyId: string;
  readonly name: string;
  /** The role the key was created with. */
  readonly role: Role;
  /** The role it acts with now: `role`, capped by its user's membership; null when it cannot act. */
  readonly effectiveRole: Role | null;
  /** The user the key acts as, or null. */
  readonly user: string | null;
  readonly createdBy: string;
  readonly createdAt: string;
  readonly lastUsedAt: string | null;
  /** When it stopped (or, while `expiring`, will stop) working. */
  readonly revokedAt: string | null;
  /** `expiring`: rotated, in its grace period; `suspended`: its user is no longer a member. */
  readonly status: KeyStatus;
}

export interface MemberRecord {
  readonly name: string;
  readonly displayName: string | null;
  readonly role: Role;
  readonly createdAt: string;
  readonly createdBy: string;
  readonly updatedAt: string;
}

export interface ProjectRecord {
  readonly id: number;
  readonly name: string;
  readonly createdAt: string;
}

export const toKeyRecord = (row: AccessKeyRow, nowMs: number): KeyRecord => {
  const role = effectiveRole(row);
  const works = keyWorksAt(row, nowMs);
  const status: KeyStatus = !works
    ? 'revoked'
    : role === null
      ? 'suspended'
      : row.revokedAt !== null
        ? 'expiring'
        : 'active';
  return {
    keyId: row.keyId,
    name: row.name,
    role: row.role,
    effectiveRole: works ? role : null,
    user: row.userName,
    createdBy: row.createdBy,
    createdAt: row.createdAt,
    lastUsedAt: row.lastUsedAt,
    revokedAt: row.revokedAt,
    status,
  };
};

export const toMemberRecord = (row: MemberRow): MemberRecord => ({
  name: row.name,
  displayName: row.displayName,
  role: row.role,
  createdAt: row.createdAt,
  createdBy: row.createdBy,
  updatedAt: row.updatedAt,
});
