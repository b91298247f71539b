import { DEFAULT_MONITOR_CONFIG, mostSpecific } from '@promptops/core';
import type { Clock } from '../context.js';
import type { RegistryStore, RegistryTx } from '../registry/store.js';
import type { ReviewStore } from '../reviews/store.js';
import type { Transaction } from '../storage/transaction.js';
import type { IncidentStore, IncidentTx } from './store.js';

/**
 * Default monitors (docs/decisions/incidents.md): every label a policy protects is watched. Looked for at
 * each tick, so a policy set now and a label moved later are both covered; a (prompt, label) that already
 * has any monitor keeps its own. Defaults notify: rolling back is chosen per monitor.
 */

export const DEFAULT_MONITOR_ACTOR = 'promptops:default-monitor';

export interface DefaultMonitorStores {
  readonly registry: RegistryStore;
  readonly reviews: Pick<ReviewStore, 'listPolicies'>;
  readonly incidents: IncidentStore;
  readonly transaction: Transaction<{ readonly registry: RegistryTx; readonly incidents: IncidentTx }>;
}

/** Creates the missing default monitors; returns how many. */
export const ensureDefaultMonitors = async (stores: DefaultMonitorStores, clock: Clock): Promise<number> => {
  const { registry, reviews, incidents, transaction } = stores;
  const watched = new Set((await incidents.allMonitors()).map((m) => `${m.promptId}\u0000${m.label}`));
  let created = 0;
  for (const project of await registry.listProjects()) {
    const policies = await reviews.listPolicies(project.id);
    if (!policies.some((policy) => policy.protected)) continue;
    const labels = [...new Set(policies.map((policy) => policy.label))];
    for (const prompt of await registry.listPrompts(project.id)) {
      const set = new Set((await registry.listLabels(prompt.id)).map((row) => row.label));
      for (const label of labels) {
        if (!set.has(label) || watched.has(`${prompt.id}\u0000${label}`)) continue;
        const policy = mostSpecific(
          policies.filter((p) => p.label === label),
          prompt.name,
        );
        if (policy?.protected !== true) continue;
        const at = clock.now().toISOString();
        await transaction(async (tx) => {
          const row = await tx.incidents.insertMonitor({
            projectId: project.id,
            promptId: prompt.id,
            promptName: prompt.name,
            label,
            config: JSON.stringify(DEFAULT_MONITOR_CONFIG),
            createdBy: DEFAULT_MONITOR_ACTOR,
            createdAt: at,
          });
          await tx.registry.appendAudit({
            projectId: project.id,
            at,
            actor: DEFAULT_MONITOR_ACTOR,
            action: 'monitor.created',
            target: `${prompt.name}:${label}`,
            data: { monitor: row.id, name: prompt.name, label, action: DEFAULT_MONITOR_CONFIG.action, default: true },
          });
        });
        watched.add(`${prompt.id}\u0000${label}`);
        created += 1;
      }
    }
  }
  return created;
};
