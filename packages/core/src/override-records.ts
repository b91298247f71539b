import type { PromptOverride } from './overrides.js';

/** What the tenant override routes answer (docs/api.md, "Tenant overrides"). */

/** One version of a tenant's override of a prompt. */
export interface OverrideRecord {
  readonly name: string;
  readonly tenant: string;
  readonly version: number;
  readonly sha: string;
  readonly override: PromptOverride;
  readonly label: string;
  /** The pinned base version's sha, or null: it follows the label. */
  readonly baseSha: string | null;
  readonly author: string;
  readonly message: string;
  readonly createdAt: string;
}

/** What a tenant is served on a label: the effective sha with the base it was built on. */
export interface EffectiveSummary {
  readonly label: string;
  readonly sha: string;
  readonly baseSha: string;
  readonly baseVersion: number;
  /** null when the override does not apply. */
  readonly overrideSha: string | null;
  /** false when the override no longer fits its base: the tenant is served the shared base. */
  readonly applies: boolean;
  /** Why it does not apply. */
  readonly reason?: string;
}
