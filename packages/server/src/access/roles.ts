import { ROLES, type Role } from './store.js';

/** Pure rules of keys and memberships (no I/O). */

export const roleRankOf = (role: Role): number => ROLES.indexOf(role);

export const isRole = (value: string): value is Role => (ROLES as readonly string[]).includes(value);

/** The lower of two roles. */
export const minRole = (a: Role, b: Role): Role => (roleRankOf(a) <= roleRankOf(b) ? a : b);

/** What a key may stop being: still working at `nowMs`. */
export const keyWorksAt = (key: { readonly revokedAt: string | null }, nowMs: number): boolean =>
  key.revokedAt === null || Date.parse(key.revokedAt) > nowMs;

/**
 * The role a key acts with: its own role, capped by its user's membership when it acts as a user;
 * null when the user is no longer a member of the key's project (the key stops working).
 */
export const effectiveRole = (key: {
  readonly role: Role;
  readonly userId: number | null;
  readonly memberRole: Role | null;
}): Role | null => {
  if (key.userId === null) return key.role;
  return key.memberRole === null ? null : minRole(key.role, key.memberRole);
};
