export const ROLES = ['viewer', 'editor', 'reviewer', 'deployer', 'admin'] as const;
export type Role = (typeof ROLES)[number];

/**
 * The access feature's store: users, project memberships and API keys. `kysely-store.ts` implements it
 * for both databases.
 *
 * Users are server-wide identities (a name, unique on the server); a membership gives a user one role in
 * one project and holds what that project shows of the user (its display name), so nothing a project
 * sees or changes of a user reaches another project.
 */

export interface ApiKeyRow {
  readonly id: number;
  readonly projectId: number;
  /** Public, non-secret lookup part of the key (`po_<keyId>_<secret>`). */
  readonly keyId: string;
  /** sha256 hex of the whole key; the key itself is never stored. */
  readonly hash: string;
  readonly role: Role;
  readonly name: string;
  readonly createdBy: string;
  readonly createdAt: string;
  readonly lastUsedAt: string | null;
  readonly revokedAt: string | null;
}

export interface UserRow {
  readonly id: number;
  readonly name: string;
  readonly createdAt: string;
}

export interface MemberRow {
  readonly projectId: number;
  readonly userId: number;
  readonly name: string;
  readonly displayName: string | null;
  readonly role: Role;
  readonly createdAt: string;
  readonly createdBy: string;
  readonly updatedAt: string;
}

/** An API key with the user it acts as (if any) and that user's role in the key's project (null: not a member). */
export interface AccessKeyRow {
  readonly id: number;
  readonly projectId: number;
  readonly keyId: string;
  readonly hash: string;
  /** The role the key was created with; the effective role is capped by `memberRole` when it acts as a user. */
  readonly role: Role;
  readonly name: string;
  readonly userId: number | null;
  readonly userName: string | null;
  readonly memberRole: Role | null;
  readonly createdBy: string;
  readonly createdAt: string;
  readonly lastUsedAt: string | null;
  /** When the key stops (or stopped) working; a time in the future while a rotated key is in its grace. */
  readonly revokedAt: string | null;
  /** The tenant the key is limited to (its overrides, snapshot part and traces), or null: the whole project. */
  readonly tenant: string | null;
}

/** A new API key: bootstrap's admin key or one minted through the access API. */
export interface NewApiKey {
  readonly projectId: number;
  readonly keyId: string;
  readonly hash: string;
  readonly role: Role;
  readonly name: string;
  /** The user the key acts as, or null for a key of its own (a service key). */
  readonly userId: number | null;
  /** The tenant the key is limited to; absent or null: the whole project. */
  readonly tenant?: string | null;
  readonly createdBy: string;
  readonly createdAt: string;
}

export interface AccessReads {
  findApiKey(keyId: string): Promise<ApiKeyRow | undefined>;
  listApiKeys(projectId: number): Promise<ApiKeyRow[]>;
  /** The key by its lookup id, in any project (authentication), with its user and membership. */
  findKeyForAuth(keyId: string): Promise<AccessKeyRow | undefined>;
  /** A project's keys, oldest first. */
  listProjectKeys(projectId: number): Promise<AccessKeyRow[]>;
  getProjectKey(projectId: number, keyId: string): Promise<AccessKeyRow | undefined>;
  /** A project's members by name. */
  listMembers(projectId: number): Promise<MemberRow[]>;
  getMember(projectId: number, name: string): Promise<MemberRow | undefined>;
}

/** Writes; every transaction that uses them must also append to the project's audit log (the cache stamp). */
export interface AccessTx extends AccessReads {
  /**
   * Serializes access changes of one project (PostgreSQL: a row lock on the project; SQLite: the write
   * transaction already does), so checks like "the last admin key" cannot race. Take it first.
   */
  lockProjectAccess(projectId: number): Promise<void>;
  /** The user with this name, created when missing. */
  ensureUser(name: string, at: string): Promise<UserRow>;
  insertMember(member: Omit<MemberRow, 'name' | 'updatedAt'>): Promise<void>;
  updateMember(
    projectId: number,
    userId: number,
    change: { readonly role?: Role; readonly displayName?: string | null },
    at: string,
  ): Promise<void>;
  deleteMember(projectId: number, userId: number): Promise<void>;
  /** The one insert of an API key; a key id already taken is a StorageConflictError. */
  insertApiKey(key: NewApiKey): Promise<void>;
  /** Makes the key stop working at `at` (now, or later for a rotation's grace); never extends an earlier stop. */
  stopApiKey(projectId: number, keyId: string, at: string): Promise<boolean>;
  revokeApiKey(projectId: number, keyId: string, at: string): Promise<boolean>;
}

export interface AccessStore extends AccessReads {
  /** Best-effort, outside any transaction: records when a key was last used. */
  touchApiKey(keyId: string, at: string): Promise<void>;
}
