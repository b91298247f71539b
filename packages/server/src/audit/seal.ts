import type { Clock } from '../context.js';
import type { Storage } from '../storage/port.js';

/**
 * When the server starts with an audit key, each project whose newest entry carries no HMAC (a log written
 * before the key existed) gets one keyed entry on top. From then on the newest entry is always keyed, so
 * a writer without the key cannot strip the HMACs or cut the keyed entries off unnoticed. Replicas
 * starting together seal a project once: the check runs under the project's lock.
 */
export const sealAuditLogs = async (storage: Storage, clock: Clock): Promise<number> => {
  let sealed = 0;
  for (const project of await storage.listProjects()) {
    const appended = await storage.transaction(async (tx) => {
      await tx.lockProjectAccess(project.id);
      const [newest] = await tx.listAudit(project.id, { newestFirst: true, limit: 1 });
      if (newest === undefined || newest.mac !== null) return false;
      await tx.appendAudit({
        projectId: project.id,
        at: clock.now().toISOString(),
        actor: 'server',
        action: 'audit.keyed',
        target: '#audit',
        data: { after: newest.seq },
      });
      return true;
    });
    if (appended) sealed += 1;
  }
  return sealed;
};
