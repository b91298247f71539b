import {
  approvalRefusal,
  countedApprovals,
  eligibleApprovers,
  shortSha,
  standingVerdicts,
  type ApprovalRecord,
  type EvalGateVerdict,
  type PolicyRecord,
  type ReviewChecks,
  type ReviewRole,
} from '@promptops/core';
import type { ChangeRequestRow, ReviewEventRow, ReviewReads } from './store.js';
import { codeOwnersOf, policySpec, teamMap } from './policies.js';

/**
 * The gate checks of a change request, computed from what storage holds now. The same function serves
 * the view and the merge (inside its transaction), so what the reviewer sees is what the merge enforces.
 */

/** A label without a policy still gets four eyes on a change request: one reviewer, not the author. */
export const DEFAULT_RULES = { ...policySpec({ protected: false, approvals: 0 }) };

export interface ApprovalContext {
  readonly policy: PolicyRecord | null;
  readonly authors: readonly string[];
  readonly eligible: ReadonlySet<string> | null;
}

export const approvalContext = async (
  reads: ReviewReads,
  cr: ChangeRequestRow,
  policy: PolicyRecord | null,
  versionAuthor: string,
): Promise<ApprovalContext> => {
  const rules = policy ?? DEFAULT_RULES;
  const needsOwners = rules.codeOwners;
  const [teams, codeOwners] = await Promise.all([
    teamMap(reads, cr.projectId),
    needsOwners ? codeOwnersOf(reads, cr.projectId, cr.name) : Promise.resolve(null),
  ]);
  return {
    policy,
    authors: [...new Set([cr.author, versionAuthor])],
    eligible: eligibleApprovers(rules, codeOwners, teams),
  };
};

export const refusalOf = (context: ApprovalContext, actor: string, role: ReviewRole) =>
  approvalRefusal({
    actor,
    role,
    authors: context.authors,
    policy: context.policy ?? DEFAULT_RULES,
    eligible: context.eligible,
  });

const describeEligible = (context: ApprovalContext): string => {
  const rules = context.policy ?? DEFAULT_RULES;
  const who =
    context.eligible === null
      ? `any ${rules.minRole} or above`
      : `${[...context.eligible].sort().join(', ') || 'nobody'} (with role ${rules.minRole} or above)`;
  return rules.authorMayApprove ? who : `${who}, not the author (${context.authors.join(', ')})`;
};

export const computeChecks = (input: {
  readonly cr: ChangeRequestRow;
  readonly context: ApprovalContext;
  readonly events: readonly ReviewEventRow[];
  readonly labelNow: { readonly sha: string; readonly version: number } | undefined;
  readonly verdict: EvalGateVerdict | null;
  /** The drift check (drift/check.ts), computed beforehand like the eval verdict. */
  readonly drift: ReviewChecks['drift'];
}): ReviewChecks => {
  const { cr, context, events, labelNow, verdict } = input;
  const rules = context.policy ?? DEFAULT_RULES;
  const required = context.policy?.protected === true ? context.policy.approvals : 0;
  const standing = standingVerdicts(events, cr.sha);
  const counted = new Set(
    countedApprovals(
      standing.approved.map((e) => e.actor),
      { authors: context.authors, authorMayApprove: rules.authorMayApprove, eligible: context.eligible },
    ),
  );
  const record = (event: ReviewEventRow): ApprovalRecord => ({
    actor: event.actor,
    at: event.at,
    comment: event.comment,
    counted: event.kind === 'approved' ? counted.has(event.actor) : true,
  });
  const approvalsStatus = standing.rejected.length > 0 ? 'failed' : counted.size >= required ? 'passed' : 'pending';
  const approvalsMessage =
    standing.rejected.length > 0
      ? `rejected by ${standing.rejected.map((e) => e.actor).join(', ')}`
      : `${counted.size} of ${required} approval${required === 1 ? '' : 's'}`;

  const suites = verdict?.suites ?? [];
  const requiresSuites = context.policy !== null && context.policy.suites.length > 0;
  const evalStatus = !requiresSuites
    ? 'passed'
    : suites.some((s) => s.status === 'failed' || s.status === 'regressed')
      ? 'failed'
      : verdict?.passed === true
        ? 'passed'
        : 'pending';
  // Regressions are measured from the request's base (what the label served when it was opened).
  const base = cr.baseVersion === null ? cr.label : `v${cr.baseVersion}`;
  const skipped = (verdict?.skipped ?? []).map((s) => `${s.suite} tests ${s.tests.join(', ')}`).join('; ');
  const evalMessage = !requiresSuites
    ? 'no eval suites required'
    : suites.length === 0
      ? `no required suite tests ${cr.name}${skipped === '' ? '' : ` (${skipped})`}`
      : suites
          .map((s) => {
            const count = s.cases === null ? '' : ` ${s.cases.passed}/${s.cases.total}`;
            const regressed =
              s.regressedCases.length === 0 ? '' : ` (regressed from ${base}: ${s.regressedCases.join(', ')})`;
            const failed =
              s.failedCases.length === 0 || regressed !== '' ? '' : ` (failing: ${s.failedCases.join(', ')})`;
            const tenants = (status: 'failed' | 'missing'): string[] =>
              (s.tenants?.failed ?? []).filter((t) => t.status === status).map((t) => t.tenant);
            const failingTenants = tenants('failed');
            const missingTenants = tenants('missing');
            const forTenants = [
              failingTenants.length === 0
                ? ''
                : `failing for tenant${failingTenants.length > 1 ? 's' : ''} ${failingTenants.join(', ')}`,
              missingTenants.length === 0
                ? ''
                : `no run for tenant${missingTenants.length > 1 ? 's' : ''} ${missingTenants.join(', ')}`,
            ]
              .filter((part) => part !== '')
              .join('; ');
            return `${s.suite}${count}: ${s.status}${regressed}${failed}${forTenants === '' ? '' : ` (${forTenants})`}`;
          })
          .join(', ');

  const labelSha = labelNow?.sha ?? null;
  const baseOk = labelSha === cr.baseSha;
  const servesProposed = labelSha !== null && labelSha === cr.sha;
  const baseMessage = baseOk
    ? `${cr.label} still serves ${cr.baseSha === null ? 'nothing' : `v${cr.baseVersion} (${shortSha(cr.baseSha)})`}`
    : servesProposed
      ? `${cr.label} already serves v${cr.version} (${shortSha(cr.sha)}): it was moved there outside this request (see the timeline)`
      : `${cr.label} moved since this request was opened: it serves ${labelNow === undefined ? 'nothing' : `v${labelNow.version} (${shortSha(labelNow.sha)})`} now; re-review it: promptops review update ${cr.id}`;

  return {
    approvals: {
      status: approvalsStatus,
      required,
      approvedBy: standing.approved.map(record),
      rejectedBy: standing.rejected.map(record),
      eligible: describeEligible(context),
      message: approvalsMessage,
    },
    evals: { status: evalStatus, verdict, message: evalMessage },
    base: {
      status: baseOk ? 'passed' : 'failed',
      labelSha,
      labelVersion: labelNow?.version ?? null,
      message: baseMessage,
    },
    drift: input.drift,
  };
};

/** Drift blocks only when a policy's noDrift fails or waits for a run (else it informs). */
export const allPass = (checks: ReviewChecks): boolean =>
  checks.approvals.status === 'passed' &&
  checks.evals.status === 'passed' &&
  checks.base.status === 'passed' &&
  checks.drift.status !== 'failed' &&
  checks.drift.status !== 'pending';
