import { tenantEffectivePrompt, type PromptContent, type PromptOverride } from '@promptops/core';
import { BoundedCache } from '../bounded-cache.js';
import type { RegistryStore } from '../registry/store.js';
import type { TenantReads } from '../tenants/store.js';
import type { TenantTarget, TenantTargets } from './gate-tenants.js';

/**
 * The tenants the eval gate checks when `sha` would move to `label`: each tenant whose current override
 * follows that label (a pinned override's base does not move), with the effective sha core's
 * `tenantEffectivePrompt` gives it on `sha`, the content the SDK and the gateway would serve it. Two reads
 * (the overrides, the version) whatever the number of tenants; effective shas are cached by
 * (version sha, override sha), both immutable, so a repeated check hashes nothing.
 */
export const createTenantTargets = (
  registry: Pick<RegistryStore, 'getPrompt' | 'getVersionBySha'>,
  tenants: Pick<TenantReads, 'currentOverrides'>,
): TenantTargets => {
  const effective = new BoundedCache<string, string>(10_000);
  return async ({ projectId, prompt: name, sha, label }): Promise<TenantTarget[]> => {
    const prompt = await registry.getPrompt(projectId, name);
    if (prompt === undefined) return [];
    const following = (await tenants.currentOverrides(prompt.id)).filter(
      (o) => o.label === label && o.baseSha === null,
    );
    if (following.length === 0) return [];
    let content: PromptContent | undefined;
    const targets: TenantTarget[] = [];
    for (const row of following) {
      const key = `${sha}:${row.sha}`;
      let effectiveSha = effective.get(key);
      if (effectiveSha === undefined) {
        if (content === undefined) {
          const version = await registry.getVersionBySha(prompt.id, sha);
          if (version === undefined) return [];
          content = JSON.parse(version.content) as PromptContent;
        }
        const entry = {
          version: row.version,
          sha: row.sha,
          label: row.label,
          override: JSON.parse(row.content) as PromptOverride,
        };
        effectiveSha = tenantEffectivePrompt({ name, label, sha, content }, row.tenant, entry).sha;
        effective.set(key, effectiveSha);
      }
      targets.push({ tenant: row.tenant, effectiveSha });
    }
    return targets;
  };
};
