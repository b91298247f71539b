import {
  PromptopsError,
  confusingKeyName,
  type KeyRecord,
  type MemberRecord,
  type ProjectRecord,
} from '@promptops/core';
import type { Actor, Clock } from '../context.js';
import { DEFAULT_PROJECT } from '../auth/bootstrap.js';
import { generateApiKey, hashApiKey, keyIdOf } from '../auth/keys.js';
import { StorageConflictError } from '../storage/index.js';
import type { RegistryStore, RegistryTx } from '../registry/store.js';
import type { Transaction } from '../storage/transaction.js';
import type { AccessKeyRow, AccessStore, AccessTx, Role } from './store.js';
import { toKeyRecord, toMemberRecord } from './records.js';
import { effectiveRole, keyWorksAt, roleRankOf } from './roles.js';

/**
 * Keys, members and projects. Every change runs in one transaction that first takes the project's access
 * lock, then appends an audit entry: the audit seq is the stamp that every replica's key cache checks, so
 * a revocation or a lowered role is in force on the next request everywhere.
 */

/** Audit targets of access changes start with `#`, which no prompt name can, so prompt filters never match them. */
export const keyTarget = (keyId: string): string => `#key/${keyId}`;
export const memberTarget = (name: string): string => `#member/${name}`;
export const projectTarget = (name: string): string => `#project/${name}`;

export const MAX_GRACE_SECONDS = 86_400;

/**
 * A tenant-scoped key is a customer's key: everything it may call needs at most an editor, and a higher
 * role would let it past a protected label's rule for overrides (only the policy's self-service may).
 */
export const TENANT_KEY_MAX_ROLE: Role = 'editor';

export interface CreatedKey {
  readonly key: KeyRecord;
  /** The key itself: shown once, never stored. */
  readonly secret: string;
}

const keyNotFound = (keyId: string): PromptopsError =>
  new PromptopsError('not_found', 'key_not_found', `this project has no API key ${keyId}`, {
    fix: 'list the keys with GET /api/v1/keys (promptops keys list)',
  });

/** A key name that would read as someone else in key lists (actors are `key:NAME` anyway). */
const confusingName = (problem: string): PromptopsError =>
  new PromptopsError('invalid', 'invalid_request', `the key name ${problem}`, {
    fix: 'name the key after what uses it (e.g. "ci deploy"); for a key that acts as a member, pass --user NAME',
    issues: [{ path: 'name', message: problem }],
  });

const memberNotFound = (name: string): PromptopsError =>
  new PromptopsError('not_found', 'member_not_found', `this project has no member "${name}"`, {
    fix: 'list the members with GET /api/v1/members (promptops members list), or add one',
  });

/** Keys that work and act as admin, given a hypothetical change to one user's membership or one key. */
const adminKeysAfter = (
  keys: readonly AccessKeyRow[],
  now: number,
  change: { readonly stopKeyId?: string; readonly userId?: number; readonly memberRole?: Role | null } = {},
): number =>
  keys.filter((key) => {
    if (key.keyId === change.stopKeyId || !keyWorksAt(key, now)) return false;
    const memberRole =
      change.userId !== undefined && key.userId === change.userId ? (change.memberRole ?? null) : key.memberRole;
    return effectiveRole({ ...key, memberRole }) === 'admin';
  }).length;

/** The writers an access change uses: its own, and the audit log it records in. */
export interface AccessWriteTx {
  readonly registry: RegistryTx;
  readonly access: AccessTx;
}

/** The stores the access service uses. */
export interface AccessStores {
  readonly registry: RegistryStore;
  readonly access: AccessStore;
  readonly transaction: Transaction<AccessWriteTx>;
}

/** Refuses a change that would leave a project that has a working admin key without one. */
const assertAdminRemains = async (
  tx: AccessWriteTx,
  projectId: number,
  now: number,
  change: Parameters<typeof adminKeysAfter>[2],
  what: string,
): Promise<void> => {
  const keys = await tx.access.listProjectKeys(projectId);
  if (adminKeysAfter(keys, now) > 0 && adminKeysAfter(keys, now, change) === 0) {
    throw new PromptopsError(
      'conflict',
      'last_admin_key',
      `${what} would leave the project without a working admin key`,
      {
        fix: 'create another admin key first (promptops keys create NAME --role admin), then retry',
      },
    );
  }
};

/**
 * Stores a key with the given secret and its `key.created` audit entry, in the caller's transaction (which
 * holds the project's access lock). Every key made by the key API, and every key a test fixture plants,
 * comes through here, so verify finds each one recorded.
 */
export const insertAuditedKey = async (
  tx: AccessWriteTx,
  secret: string,
  input: {
    projectId: number;
    name: string;
    role: Role;
    userId: number | null;
    /** The member the key acts as, by name (recorded in the entry). */
    user: string | null;
    /** The tenant the key is limited to (recorded in the entry, which verify compares). */
    tenant?: string | null;
    createdBy: string;
    at: string;
  },
): Promise<string> => {
  const { projectId, name, role, userId, user, createdBy, at } = input;
  const tenant = input.tenant ?? null;
  const hash = hashApiKey(secret);
  const keyId = keyIdOf(hash);
  await tx.access.insertApiKey({ projectId, keyId, hash, role, name, userId, tenant, createdBy, createdAt: at });
  await tx.registry.appendAudit({
    projectId,
    at,
    actor: createdBy,
    action: 'key.created',
    target: keyTarget(keyId),
    data: { keyId, name, role, user, ...(tenant === null ? {} : { tenant }) },
  });
  return keyId;
};

export const createAccessService = ({ registry, access, transaction }: AccessStores, clock: Clock) => {
  const now = (): Date => clock.now();

  const requireServerAdmin = (actor: Actor): void => {
    if (actor.projectName !== DEFAULT_PROJECT || actor.role !== 'admin') {
      throw new PromptopsError(
        'forbidden',
        'not_server_admin',
        `only an admin key of the "${DEFAULT_PROJECT}" project may list or create projects`,
        { fix: `use an admin key of the "${DEFAULT_PROJECT}" project (the one the server bootstrapped)` },
      );
    }
  };

  const mintKey = async (
    tx: AccessWriteTx,
    input: {
      projectId: number;
      name: string;
      role: Role;
      userId: number | null;
      tenant?: string | null;
      createdBy: string;
      at: string;
    },
  ): Promise<{ keyId: string; secret: string }> => {
    const secret = generateApiKey();
    const hash = hashApiKey(secret);
    const keyId = keyIdOf(hash);
    await tx.access.insertApiKey({ ...input, keyId, hash, createdAt: input.at });
    return { keyId, secret };
  };

  const readKey = async (tx: AccessWriteTx, projectId: number, keyId: string, at: number): Promise<KeyRecord> => {
    const row = await tx.access.getProjectKey(projectId, keyId);
    if (row === undefined) throw keyNotFound(keyId);
    return toKeyRecord(row, at);
  };

  return {
    async listKeys(actor: Actor): Promise<KeyRecord[]> {
      const at = now().getTime();
      return (await access.listProjectKeys(actor.projectId)).map((row) => toKeyRecord(row, at));
    },

    async getKey(actor: Actor, keyId: string): Promise<KeyRecord> {
      const row = await access.getProjectKey(actor.projectId, keyId);
      if (row === undefined) throw keyNotFound(keyId);
      return toKeyRecord(row, now().getTime());
    },

    async createKey(
      actor: Actor,
      input: { name: string; role: Role; user?: string; tenant?: string },
    ): Promise<CreatedKey> {
      const at = now();
      if (input.tenant !== undefined && roleRankOf(input.role) > roleRankOf(TENANT_KEY_MAX_ROLE)) {
        throw new PromptopsError(
          'invalid',
          'invalid_request',
          `a tenant-scoped key cannot have role ${input.role}: it reads and writes one tenant's overrides, which needs at most ${TENANT_KEY_MAX_ROLE}`,
          {
            fix: `use --role viewer or --role ${TENANT_KEY_MAX_ROLE} with --tenant (a policy's tenantSelfService lets it change its override on a protected label)`,
            issues: [{ path: 'role', message: `at most ${TENANT_KEY_MAX_ROLE} with a tenant` }],
          },
        );
      }
      return transaction(async (tx) => {
        await tx.access.lockProjectAccess(actor.projectId);
        const members = (await tx.access.listMembers(actor.projectId)).map((member) => member.name);
        const problem = confusingKeyName(input.name, members, input.user ?? null);
        if (problem !== null) throw confusingName(problem);
        let userId: number | null = null;
        if (input.user !== undefined) {
          const member = await tx.access.getMember(actor.projectId, input.user);
          if (member === undefined) throw memberNotFound(input.user);
          if (roleRankOf(input.role) > roleRankOf(member.role)) {
            throw new PromptopsError(
              'unprocessable',
              'role_above_membership',
              `a key acting as "${input.user}" cannot have role ${input.role}: the user is ${member.role} in this project`,
              { fix: `use --role ${member.role} or lower, or raise the member's role first` },
            );
          }
          userId = member.userId;
        }
        const secret = generateApiKey();
        const keyId = await insertAuditedKey(tx, secret, {
          projectId: actor.projectId,
          name: input.name,
          role: input.role,
          userId,
          user: input.user ?? null,
          tenant: input.tenant ?? null,
          createdBy: actor.name,
          at: at.toISOString(),
        });
        return { key: await readKey(tx, actor.projectId, keyId, at.getTime()), secret };
      });
    },

    /**
     * A new secret for the same name, role and user. The old key stops at once, or after `graceSeconds`
     * (at most a day) so running services can switch over. Rotation never leaves a project without an
     * admin key (the new one has the old one's role), so the last admin key may be rotated.
     */
    async rotateKey(
      actor: Actor,
      keyId: string,
      input: { graceSeconds?: number },
    ): Promise<CreatedKey & { previous: KeyRecord }> {
      const at = now();
      const grace = input.graceSeconds ?? 0;
      return transaction(async (tx) => {
        await tx.access.lockProjectAccess(actor.projectId);
        const old = await tx.access.getProjectKey(actor.projectId, keyId);
        if (old === undefined) throw keyNotFound(keyId);
        if (!keyWorksAt(old, at.getTime()) || old.revokedAt !== null) {
          throw new PromptopsError('unprocessable', 'key_revoked', `API key ${keyId} is revoked or already rotated`, {
            fix: 'rotate the key that replaced it, or create a new key',
          });
        }
        const { keyId: newKeyId, secret } = await mintKey(tx, {
          projectId: actor.projectId,
          name: old.name,
          role: old.role,
          userId: old.userId,
          tenant: old.tenant,
          createdBy: actor.name,
          at: at.toISOString(),
        });
        await tx.access.stopApiKey(actor.projectId, keyId, new Date(at.getTime() + grace * 1000).toISOString());
        await tx.registry.appendAudit({
          projectId: actor.projectId,
          at: at.toISOString(),
          actor: actor.name,
          action: 'key.rotated',
          target: keyTarget(keyId),
          data: {
            keyId,
            newKeyId,
            name: old.name,
            role: old.role,
            user: old.userName,
            ...(old.tenant === null ? {} : { tenant: old.tenant }),
            graceSeconds: grace,
          },
        });
        return {
          key: await readKey(tx, actor.projectId, newKeyId, at.getTime()),
          secret,
          previous: await readKey(tx, actor.projectId, keyId, at.getTime()),
        };
      });
    },

    /** Stops the key at once (also one in its rotation grace). Revoking a revoked key changes nothing. */
    async revokeKey(actor: Actor, keyId: string): Promise<{ changed: boolean; key: KeyRecord }> {
      const at = now();
      return transaction(async (tx) => {
        await tx.access.lockProjectAccess(actor.projectId);
        const key = await tx.access.getProjectKey(actor.projectId, keyId);
        if (key === undefined) throw keyNotFound(keyId);
        if (!keyWorksAt(key, at.getTime())) return { changed: false, key: toKeyRecord(key, at.getTime()) };
        await assertAdminRemains(tx, actor.projectId, at.getTime(), { stopKeyId: keyId }, `revoking key ${keyId}`);
        await tx.access.stopApiKey(actor.projectId, keyId, at.toISOString());
        await tx.registry.appendAudit({
          projectId: actor.projectId,
          at: at.toISOString(),
          actor: actor.name,
          action: 'key.revoked',
          target: keyTarget(keyId),
          data: { keyId, name: key.name, role: key.role, user: key.userName },
        });
        return { changed: true, key: await readKey(tx, actor.projectId, keyId, at.getTime()) };
      });
    },

    async listMembers(actor: Actor): Promise<MemberRecord[]> {
      return (await access.listMembers(actor.projectId)).map(toMemberRecord);
    },

    async getMember(actor: Actor, name: string): Promise<MemberRecord> {
      const member = await access.getMember(actor.projectId, name);
      if (member === undefined) throw memberNotFound(name);
      return toMemberRecord(member);
    },

    async addMember(actor: Actor, input: { name: string; role: Role; displayName?: string }): Promise<MemberRecord> {
      const at = now().toISOString();
      return transaction(async (tx) => {
        await tx.access.lockProjectAccess(actor.projectId);
        if ((await tx.access.getMember(actor.projectId, input.name)) !== undefined) {
          throw new PromptopsError('conflict', 'member_exists', `"${input.name}" is already a member of this project`, {
            fix: `change the role with PATCH /api/v1/members/${input.name} (promptops members set-role)`,
          });
        }
        const user = await tx.access.ensureUser(input.name, at);
        await tx.access.insertMember({
          projectId: actor.projectId,
          userId: user.id,
          role: input.role,
          displayName: input.displayName ?? null,
          createdAt: at,
          createdBy: actor.name,
        });
        await tx.registry.appendAudit({
          projectId: actor.projectId,
          at,
          actor: actor.name,
          action: 'member.added',
          target: memberTarget(input.name),
          data: { name: input.name, role: input.role },
        });
        return toMemberRecord((await tx.access.getMember(actor.projectId, input.name))!);
      });
    },

    /** A lower role caps the member's keys at once (they keep working with the lower role). */
    async updateMember(
      actor: Actor,
      name: string,
      change: { role?: Role; displayName?: string | null },
    ): Promise<MemberRecord> {
      const at = now();
      return transaction(async (tx) => {
        await tx.access.lockProjectAccess(actor.projectId);
        const member = await tx.access.getMember(actor.projectId, name);
        if (member === undefined) throw memberNotFound(name);
        if (change.role !== undefined) {
          await assertAdminRemains(
            tx,
            actor.projectId,
            at.getTime(),
            { userId: member.userId, memberRole: change.role },
            `making "${name}" ${change.role}`,
          );
        }
        await tx.access.updateMember(actor.projectId, member.userId, change, at.toISOString());
        await tx.registry.appendAudit({
          projectId: actor.projectId,
          at: at.toISOString(),
          actor: actor.name,
          action: 'member.updated',
          target: memberTarget(name),
          data: {
            name,
            ...(change.role === undefined ? {} : { role: change.role, previousRole: member.role }),
            ...(change.displayName === undefined ? {} : { displayName: change.displayName }),
          },
        });
        return toMemberRecord((await tx.access.getMember(actor.projectId, name))!);
      });
    },

    /** The member's keys stop working (they are kept, listed as `suspended`, and work again if re-added). */
    async removeMember(actor: Actor, name: string): Promise<MemberRecord> {
      const at = now();
      return transaction(async (tx) => {
        await tx.access.lockProjectAccess(actor.projectId);
        const member = await tx.access.getMember(actor.projectId, name);
        if (member === undefined) throw memberNotFound(name);
        await assertAdminRemains(
          tx,
          actor.projectId,
          at.getTime(),
          { userId: member.userId, memberRole: null },
          `removing "${name}"`,
        );
        await tx.access.deleteMember(actor.projectId, member.userId);
        await tx.registry.appendAudit({
          projectId: actor.projectId,
          at: at.toISOString(),
          actor: actor.name,
          action: 'member.removed',
          target: memberTarget(name),
          data: { name, role: member.role },
        });
        return toMemberRecord(member);
      });
    },

    async listProjects(actor: Actor): Promise<ProjectRecord[]> {
      requireServerAdmin(actor);
      return registry.listProjects();
    },

    /** A new, empty project and its first admin key (shown once). */
    async createProject(actor: Actor, input: { name: string }): Promise<{ project: ProjectRecord } & CreatedKey> {
      requireServerAdmin(actor);
      const at = now();
      const exists = (): PromptopsError =>
        new PromptopsError('conflict', 'project_exists', `a project named "${input.name}" exists already`, {
          fix: 'choose another name (promptops projects list shows the taken ones)',
        });
      if ((await registry.getProjectByName(input.name)) !== undefined) throw exists();
      try {
        return await transaction(async (tx) => {
          const project = await tx.registry.createProject(input.name, at.toISOString());
          const { keyId, secret } = await mintKey(tx, {
            projectId: project.id,
            name: 'admin',
            role: 'admin',
            userId: null,
            createdBy: actor.name,
            at: at.toISOString(),
          });
          await tx.registry.appendAudit({
            projectId: project.id,
            at: at.toISOString(),
            actor: actor.name,
            action: 'project.created',
            target: projectTarget(project.name),
            data: { keyId, role: 'admin' },
          });
          await tx.registry.appendAudit({
            projectId: actor.projectId,
            at: at.toISOString(),
            actor: actor.name,
            action: 'project.created',
            target: projectTarget(project.name),
            data: { project: project.name },
          });
          return { project, key: await readKey(tx, project.id, keyId, at.getTime()), secret };
        });
      } catch (error) {
        if (error instanceof StorageConflictError) throw exists();
        throw error;
      }
    },
  };
};

export type AccessService = ReturnType<typeof createAccessService>;
