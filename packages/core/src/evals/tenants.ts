import type { EvalCase, EvalSuiteContent } from '../eval-records.js';
import type { PromptOverride } from '../overrides.js';
import type { PromptContent } from '../schema.js';
import { resolveTenant, type TenantResolution } from '../snapshot.js';

/**
 * Eval suites per tenant. A case naming a tenant tests that tenant's effective prompt only; a case naming
 * none tests the shared prompt and every tenant's effective prompt too (what a tenant is served is the
 * shared prompt with its wording, so the shared promises hold for it as well).
 */

/** The cases of one run: the shared ones, plus (for a tenant's run) that tenant's own. */
export const casesFor = (suite: EvalSuiteContent, tenant: string | null): EvalCase[] =>
  suite.cases.filter((c) => c.tenant === undefined || c.tenant === tenant);

/** The tenants the suite's cases name, sorted, each once. */
export const suiteTenants = (suite: EvalSuiteContent): string[] =>
  [...new Set(suite.cases.flatMap((c) => (c.tenant === undefined ? [] : [c.tenant])))].sort();

/** A tenant's current override as the registry lists it. */
export interface TenantOverrideEntry {
  readonly version: number;
  readonly sha: string;
  readonly label: string;
  readonly override: PromptOverride;
}

/**
 * What `tenant` is served when `label` serves `base`: core's `resolveTenant` over a snapshot holding just
 * this version and the tenant's following override (null: the shared prompt). The same function the SDK
 * and the gateway resolve with, so an eval tests the content the tenant would get.
 */
export const tenantEffectivePrompt = (
  base: { readonly name: string; readonly label: string; readonly sha: string; readonly content: PromptContent },
  tenant: string,
  override: TenantOverrideEntry | null,
): TenantResolution => {
  const snapshot = {
    project: '',
    cursor: 0,
    prompts: {
      [base.name]: {
        labels: { [base.label]: base.sha },
        versions: {},
        ...(override === null ? {} : { overrides: { [tenant]: { ...override, base: null } } }),
      },
    },
  };
  return resolveTenant(snapshot, base, tenant);
};
