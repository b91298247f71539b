import { casesFor, shortSha, suiteTenants, type EvalGateTenantResult, type EvalSuiteContent } from '@promptops/core';
import type { EvalRunRow, EvalStore } from './store.js';

/**
 * The tenant part of the eval gate. A tenant's effective prompt is checked by the newest run of the suite
 * version on the candidate sha that tested exactly the effective sha the candidate gives that tenant now
 * (an override changed since the run makes it `missing`); below the required pass rate is `failed`.
 * Regressions are compared on the shared run only. Cost: two queries per suite (the tenants' runs, their
 * verdicts), whatever the number of tenants; messages list at most 20 tenants.
 */

export interface TenantTarget {
  readonly tenant: string;
  readonly effectiveSha: string;
}

/** The tenants whose override follows `label`, with the effective sha `sha` gives each. */
export type TenantTargets = (input: {
  readonly projectId: number;
  readonly prompt: string;
  readonly sha: string;
  readonly label: string;
}) => Promise<readonly TenantTarget[]>;

const LISTED = 20;
const EPSILON = 1e-9;

/**
 * The overrides' tenants, and every tenant a case names (without an override it is served the shared
 * prompt, so its effective sha is the candidate's); only tenants with at least one case to run, sorted.
 */
export const tenantsToCheck = (
  following: readonly TenantTarget[],
  sha: string,
  suite: EvalSuiteContent,
): TenantTarget[] => {
  const byTenant = new Map(following.map((t) => [t.tenant, t]));
  for (const tenant of suiteTenants(suite))
    if (!byTenant.has(tenant)) byTenant.set(tenant, { tenant, effectiveSha: sha });
  const shared = casesFor(suite, null).length > 0;
  return [...byTenant.values()]
    .filter((t) => shared || suite.cases.some((c) => c.tenant === t.tenant))
    .sort((a, b) => (a.tenant < b.tenant ? -1 : a.tenant > b.tenant ? 1 : 0));
};

const percent = (rate: number): string => `${Math.round(rate * 1000) / 10}%`;

const listed = (parts: readonly string[]): string =>
  parts.length <= LISTED ? parts.join(', ') : `${parts.slice(0, LISTED).join(', ')} and ${parts.length - LISTED} more`;

export interface TenantsVerdict {
  readonly checked: number;
  readonly failed: EvalGateTenantResult[];
  /** What to append to the suite's message ('' never: it says how many tenants were checked). */
  readonly message: string;
}

export const checkTenants = async (
  storage: Pick<EvalStore, 'latestTenantRuns' | 'listEvalRunVerdictsOf'>,
  input: {
    readonly projectId: number;
    readonly prompt: string;
    readonly sha: string;
    readonly name: string;
    readonly suiteSha: string;
    readonly requiredRate: number;
    readonly content: EvalSuiteContent;
    readonly targets: readonly TenantTarget[];
  },
): Promise<TenantsVerdict> => {
  const runs = await storage.latestTenantRuns(input.projectId, {
    promptSha: input.sha,
    suiteName: input.name,
    suiteSha: input.suiteSha,
  });
  const exact = new Map<string, EvalRunRow>();
  const anyOf = new Map<string, EvalRunRow>();
  for (const run of runs) {
    const key = `${run.tenant}\u0000${run.effectiveSha}`;
    if (!exact.has(key)) exact.set(key, run);
    if (!anyOf.has(run.tenant!)) anyOf.set(run.tenant!, run);
  }
  const matched = input.targets.map((t) => ({ ...t, run: exact.get(`${t.tenant}\u0000${t.effectiveSha}`) }));
  const verdicts = await storage.listEvalRunVerdictsOf(matched.flatMap((m) => (m.run === undefined ? [] : [m.run.id])));
  const failed: EvalGateTenantResult[] = [];
  for (const { tenant, effectiveSha, run } of matched) {
    const on = `${input.prompt} ${shortSha(input.sha)} for tenant ${tenant} (effective ${shortSha(effectiveSha)})`;
    if (run === undefined) {
      const other = anyOf.get(tenant);
      failed.push({
        tenant,
        status: 'missing',
        effectiveSha,
        runId: null,
        failedCases: [],
        message:
          other === undefined
            ? `no run on ${on}: run it (promptops eval --ref … --against …)`
            : `no run on ${on}; run #${other.id} tested ${shortSha(other.effectiveSha ?? input.sha)}, before the tenant's override changed: run it again`,
      });
      continue;
    }
    const cases = verdicts.get(run.id) ?? [];
    if (run.passRate >= input.requiredRate - EPSILON) continue;
    const failedCases = cases.filter((c) => !c.pass).map((c) => c.caseId);
    failed.push({
      tenant,
      status: 'failed',
      effectiveSha,
      runId: String(run.id),
      failedCases,
      message: `run #${run.id} on ${on}: ${cases.length - failedCases.length}/${cases.length} cases passed (${percent(run.passRate)}), below the required ${percent(input.requiredRate)}; failed cases: ${failedCases.join(', ')}`,
    });
  }
  const failing = failed.filter((f) => f.status === 'failed');
  const missing = failed.filter((f) => f.status === 'missing');
  const parts = [`${input.targets.length} tenant${input.targets.length === 1 ? '' : 's'} checked`];
  if (failing.length > 0)
    parts.push(`failing for ${listed(failing.map((f) => f.tenant))}: ${listed(failing.map((f) => f.message))}`);
  if (missing.length > 0)
    parts.push(`no run for ${listed(missing.map((f) => f.tenant))}: ${listed(missing.map((f) => f.message))}`);
  return { checked: input.targets.length, failed, message: parts.join('; ') };
};
