import type { Clock } from '../context.js';
import type { AccessTx } from '../access/store.js';
import type { RegistryStore, RegistryTx } from '../registry/store.js';
import type { Transaction } from '../storage/transaction.js';

/**
 * When the server starts with an audit key, each project whose newest entry carries no HMAC (a log written
 * before the key existed) gets one keyed entry on top. From then on the newest entry is always keyed, so
 * a writer without the key cannot strip the HMACs or cut the keyed entries off unnoticed. Replicas
 * starting together seal a project once: the check runs under the project's lock.
 */
export const sealAuditLogs = async (
  stores: {
    readonly registry: RegistryStore;
    readonly transaction: Transaction<{ readonly registry: RegistryTx; readonly access: AccessTx }>;
  },
  clock: Clock,
): Promise<number> => {
  let sealed = 0;
  for (const project of await stores.registry.listProjects()) {
    const appended = await stores.transaction(async (tx) => {
      await tx.access.lockProjectAccess(project.id);
      const [newest] = await tx.registry.listAudit(project.id, { newestFirst: true, limit: 1 });
      if (newest === undefined || newest.mac !== null) return false;
      await tx.registry.appendAudit({
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
