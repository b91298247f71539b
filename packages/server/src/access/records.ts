import type { KeyRecord, KeyStatus, MemberRecord } from '@promptops/core';
import type { AccessKeyRow, MemberRow } from './store.js';
import { effectiveRole, keyWorksAt } from './roles.js';

/** Rows to the public shapes of keys and members (core's `access-records.ts`). */

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
    tenant: row.tenant,
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
