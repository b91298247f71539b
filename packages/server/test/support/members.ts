import { insertAuditedKey, memberTarget } from '../../src/access/service.js';
import type { Role } from '../../src/access/store.js';
import type { Stores } from '../../src/app/stores.js';

/**
 * A person in a test: a member of the project with an API key that acts as them (so history names them),
 * stored like `addKey`'s service keys, the membership and the key audited. Returns the key.
 */
export const addMemberKey = async (
  storage: Stores,
  projectId: number,
  role: Role,
  key: string,
  user: string,
): Promise<string> => {
  const at = new Date().toISOString();
  await storage.transaction(async (tx) => {
    await tx.access.lockProjectAccess(projectId);
    const { id: userId } = await tx.access.ensureUser(user, at);
    await tx.access.insertMember({ projectId, userId, role, displayName: null, createdAt: at, createdBy: 'test' });
    // Audited like every membership change (verify checks that each membership is recorded).
    await tx.registry.appendAudit({
      projectId,
      at,
      actor: 'test',
      action: 'member.added',
      target: memberTarget(user),
      data: { name: user, role },
    });
    await insertAuditedKey(tx, key, { projectId, name: `${user} key`, role, userId, user, createdBy: 'test', at });
  });
  return key;
};
