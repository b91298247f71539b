import {
  PromptopsError,
  diffPrompts,
  effectivePrompt,
  shortSha,
  type EffectiveSummary,
  type PromptContent,
  type PromptDiff,
} from '@promptops/core';
import type { Actor } from '../context.js';
import { unknownPrompt } from '../prompts/errors.js';
import { resolveRef } from '../prompts/resolve-ref.js';
import type { PromptRow, RegistryReads } from '../registry/store.js';
import type { OverrideRecord, TenantService } from './service.js';

export type { EffectiveSummary };

interface Base {
  readonly sha: string;
  readonly version: number;
  readonly content: PromptContent;
}

/** The override on its base, as resolution serves it: an override that no longer fits gives the base. */
const apply = (
  base: Base,
  record: OverrideRecord,
  label: string,
): { summary: EffectiveSummary; content: PromptContent } => {
  const at = { label, baseSha: base.sha, baseVersion: base.version };
  try {
    const effective = effectivePrompt(base.content, record.override);
    const summary = { ...at, sha: effective.sha, overrideSha: effective.overrideSha, applies: true };
    return { summary, content: effective.content };
  } catch (error) {
    if (!(error instanceof PromptopsError)) throw error;
    const summary = { ...at, sha: base.sha, overrideSha: null, applies: false, reason: error.message };
    return { summary, content: base.content };
  }
};

/**
 * The dashboard's reads of overrides: every tenant's effective sha, and one tenant's effective prompt
 * diffed against its base. The overrides come through the tenant service (its checks apply); the bases are
 * read once per label or pinned version.
 */
export const createTenantViews = (registry: RegistryReads, tenants: TenantService) => {
  const promptOf = async (actor: Actor, name: string): Promise<PromptRow> => {
    const prompt = await registry.getPrompt(actor.projectId, name);
    if (!prompt || prompt.headSha === null) throw await unknownPrompt(registry, actor.projectId, name);
    return prompt;
  };

  const basesOf = (prompt: PromptRow) => {
    const cache = new Map<string, Promise<Base>>();
    return (ref: string): Promise<Base> => {
      let base = cache.get(ref);
      if (base === undefined) {
        base = resolveRef(registry, prompt, ref).then((row) => ({
          sha: row.sha,
          version: row.version,
          content: JSON.parse(row.content) as PromptContent,
        }));
        cache.set(ref, base);
      }
      return base;
    };
  };

  return {
    /** Every tenant's current override with what it is served on its label (or on `label`). */
    async list(
      actor: Actor,
      name: string,
      label?: string,
    ): Promise<{ tenants: (OverrideRecord & { effective: EffectiveSummary })[] }> {
      const { tenants: records } = await tenants.list(actor, name);
      const baseOf = basesOf(await promptOf(actor, name));
      const out = [];
      for (const record of records) {
        const on = label ?? record.label;
        out.push({ ...record, effective: apply(await baseOf(record.baseSha ?? on), record, on).summary });
      }
      return { tenants: out };
    },

    /** One tenant's current override, what it is served, and the diff of that against the base. */
    async show(
      actor: Actor,
      name: string,
      tenant: string,
      label?: string,
    ): Promise<{ override: OverrideRecord; effective: EffectiveSummary; diff: PromptDiff }> {
      const [record] = (await tenants.history(actor, name, tenant)).versions;
      if (record === undefined) throw new Error(`override history of '${tenant}' is empty`);
      const on = label ?? record.label;
      const base = await basesOf(await promptOf(actor, name))(record.baseSha ?? on);
      const { summary, content } = apply(base, record, on);
      const diff = diffPrompts(base.content, content, {
        from: `${name}@v${base.version} (${shortSha(base.sha)})`,
        to: `${name} for ${tenant} (${shortSha(summary.sha)})`,
      });
      return { override: record, effective: summary, diff };
    },
  };
};

export type TenantViews = ReturnType<typeof createTenantViews>;
