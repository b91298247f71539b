import {
  ALL_PROMPTS,
  LATEST_LABEL,
  PromptopsError,
  REVIEW_ROLES,
  assertLabelName,
  assertPattern,
  checkNoDrift,
  mostSpecific,
  roleAtLeast,
  type OwnersRecord,
  type PolicyRecord,
  type PolicySpec,
  type ReviewRole,
  type TeamRecord,
} from '@promptops/core';
import type { Actor, Clock } from '../context.js';
import type { RegistryTx } from '../registry/store.js';
import type { Transaction } from '../storage/transaction.js';
import type { OwnersRow, PolicyRow, ReviewReads, ReviewStore, ReviewTx, TeamRow } from './store.js';

/**
 * Label policies, owners and teams: who may move which label, and who may approve. Reads are open to
 * viewers; every change is an admin's and is audited (`policy.set`, `policy.deleted`, `owners.set`, …).
 */

const NAME = /^[a-z0-9][a-z0-9_.@-]{0,99}$/i;
const MAX_LIST = 100;
const MAX_APPROVALS = 10;

const invalid = (path: string, message: string, fix: string): PromptopsError =>
  new PromptopsError('invalid', 'invalid_request', `${path} ${message}`, { fix, issues: [{ path, message }] });

const names = (values: readonly string[], path: string): string[] => {
  if (values.length > MAX_LIST) throw invalid(path, `has more than ${MAX_LIST} entries`, 'list fewer');
  values.forEach((value, index) => {
    if (!NAME.test(value))
      throw invalid(`${path}[${index}]`, `'${value}' is not a user or team name`, 'use letters, digits, _ . @ -');
  });
  return [...new Set(values)].sort();
};

export const toPolicyRecord = (row: PolicyRow): PolicyRecord => ({
  label: row.label,
  pattern: row.pattern,
  protected: row.protected,
  approvals: row.approvals,
  minRole: row.minRole,
  owners: row.owners,
  codeOwners: row.codeOwners,
  suites: row.suites,
  authorMayApprove: row.authorMayApprove,
  noDrift: row.noDrift,
  tenantSelfService: row.tenantSelfService,
  updatedAt: row.updatedAt,
  updatedBy: row.updatedBy,
});

const toOwnersRecord = (row: OwnersRow): OwnersRecord => ({
  pattern: row.pattern,
  owners: row.owners,
  updatedAt: row.updatedAt,
  updatedBy: row.updatedBy,
});

const toTeamRecord = (row: TeamRow): TeamRecord => ({
  team: row.team,
  members: row.members,
  updatedAt: row.updatedAt,
  updatedBy: row.updatedBy,
});

export interface PolicyInput {
  readonly pattern?: string;
  readonly protected?: boolean;
  readonly approvals?: number;
  readonly minRole?: string;
  readonly owners?: readonly string[];
  readonly codeOwners?: boolean;
  readonly suites?: readonly { readonly suite: string; readonly passRate?: number }[];
  readonly authorMayApprove?: boolean;
  readonly noDrift?: readonly string[];
  readonly tenantSelfService?: boolean;
}

/** A full policy from input: omitted fields take their defaults (a protected label needs 1 reviewer). */
export const policySpec = (input: PolicyInput): PolicySpec => {
  const pattern = assertPattern(input.pattern ?? ALL_PROMPTS);
  const minRole = input.minRole ?? 'reviewer';
  if (!(REVIEW_ROLES as readonly string[]).includes(minRole) || !roleAtLeast(minRole as ReviewRole, 'reviewer')) {
    throw invalid('minRole', `'${minRole}' cannot approve`, 'use reviewer, deployer or admin');
  }
  const isProtected = input.protected ?? true;
  const approvals = input.approvals ?? (isProtected ? 1 : 0);
  if (!Number.isInteger(approvals) || approvals < 0 || approvals > MAX_APPROVALS) {
    throw invalid('approvals', `must be an integer from 0 to ${MAX_APPROVALS}`, 'e.g. --approvals 1');
  }
  const suites = input.suites ?? [];
  const seen = new Set<string>();
  suites.forEach(({ suite, passRate }, index) => {
    if (!/^[a-z0-9][a-z0-9_.\-/]{0,199}$/.test(suite))
      throw invalid(`suites[${index}].suite`, `'${suite}' is not a suite name`, 'use the name of an eval suite');
    if (seen.has(suite)) throw invalid(`suites[${index}].suite`, `'${suite}' is listed twice`, 'list it once');
    seen.add(suite);
    if (passRate !== undefined && !(passRate >= 0 && passRate <= 1))
      throw invalid(`suites[${index}].passRate`, 'must be between 0 and 1', 'e.g. 0.9 for 90 %');
  });
  return {
    pattern,
    protected: isProtected,
    approvals,
    minRole: minRole as ReviewRole,
    owners: names(input.owners ?? [], 'owners'),
    codeOwners: input.codeOwners ?? false,
    suites: suites.map(({ suite, passRate }) => (passRate === undefined ? { suite } : { suite, passRate })),
    authorMayApprove: input.authorMayApprove ?? false,
    noDrift: checkNoDrift(input.noDrift),
    tenantSelfService: input.tenantSelfService ?? false,
  };
};

/** What governs `label` for prompt `name`: the most specific matching policy, or null (unprotected). */
export const effectivePolicy = async (
  reads: ReviewReads,
  projectId: number,
  label: string,
  name: string,
): Promise<PolicyRecord | null> => {
  const found = mostSpecific(await reads.listPolicies(projectId, label), name);
  return found === undefined ? null : toPolicyRecord(found);
};

/** The owners of a prompt by the most specific matching pattern, or null when no pattern matches. */
export const codeOwnersOf = async (reads: ReviewReads, projectId: number, name: string): Promise<string[] | null> => {
  const found = mostSpecific(await reads.listOwners(projectId), name);
  return found === undefined ? null : [...found.owners];
};

export const teamMap = async (reads: ReviewReads, projectId: number): Promise<Map<string, readonly string[]>> =>
  new Map((await reads.listTeams(projectId)).map((team) => [team.team, team.members]));

export type PolicyService = ReturnType<typeof createPolicyService>;

/** The stores the policy service uses. */
export interface PolicyStores {
  readonly reviews: ReviewStore;
  readonly transaction: Transaction<{ readonly registry: RegistryTx; readonly reviews: ReviewTx }>;
}

export const createPolicyService = ({ reviews, transaction }: PolicyStores, clock: Clock) => {
  const audit = async (
    tx: { readonly registry: RegistryTx },
    actor: Actor,
    action: string,
    target: string,
    data: Record<string, unknown>,
  ): Promise<void> => {
    await tx.registry.appendAudit({
      projectId: actor.projectId,
      at: clock.now().toISOString(),
      actor: actor.name,
      action,
      target,
      data,
    });
  };

  return {
    async list(actor: Actor, label?: string): Promise<PolicyRecord[]> {
      if (label !== undefined) assertLabelName(label);
      return (await reviews.listPolicies(actor.projectId, label)).map(toPolicyRecord);
    },

    /** The policy that governs `label` for one prompt (null: unprotected). */
    effective(actor: Actor, label: string, name: string): Promise<PolicyRecord | null> {
      assertLabelName(label);
      return effectivePolicy(reviews, actor.projectId, label, name);
    },

    async set(
      actor: Actor,
      label: string,
      input: PolicyInput,
    ): Promise<{ policy: PolicyRecord; previous: PolicyRecord | null }> {
      assertLabelName(label);
      if (label === LATEST_LABEL) {
        throw new PromptopsError(
          'unprocessable',
          'label_reserved',
          `'${LATEST_LABEL}' follows every push and cannot be protected`,
          {
            fix: 'protect the labels your applications serve, such as production',
          },
        );
      }
      const spec = policySpec(input);
      return transaction(async (tx) => {
        const before = (await tx.reviews.listPolicies(actor.projectId, label)).find((p) => p.pattern === spec.pattern);
        const at = clock.now().toISOString();
        const row: PolicyRow = { projectId: actor.projectId, label, ...spec, updatedAt: at, updatedBy: actor.name };
        await tx.reviews.upsertPolicy(row);
        const previous = before === undefined ? null : toPolicyRecord(before);
        const { updatedAt: _a, updatedBy: _b, label: _l, ...was } = previous ?? ({} as PolicyRecord);
        await audit(tx, actor, 'policy.set', `policy ${label}`, {
          label,
          policy: { ...spec },
          previous: previous === null ? null : was,
        });
        return { policy: toPolicyRecord(row), previous };
      });
    },

    async remove(actor: Actor, label: string, pattern: string = ALL_PROMPTS): Promise<{ deleted: true }> {
      assertLabelName(label);
      assertPattern(pattern);
      return transaction(async (tx) => {
        if (!(await tx.reviews.deletePolicy(actor.projectId, label, pattern))) {
          throw new PromptopsError('not_found', 'policy_not_found', `label '${label}' has no policy for '${pattern}'`, {
            fix: 'see the policies with: promptops policy list',
          });
        }
        await audit(tx, actor, 'policy.deleted', `policy ${label}`, { label, pattern });
        return { deleted: true as const };
      });
    },

    async listOwners(actor: Actor): Promise<OwnersRecord[]> {
      return (await reviews.listOwners(actor.projectId)).map(toOwnersRecord);
    },

    async setOwners(actor: Actor, pattern: string, owners: readonly string[]): Promise<OwnersRecord> {
      assertPattern(pattern);
      const list = names(owners, 'owners');
      if (list.length === 0) throw invalid('owners', 'is empty', 'name at least one user or team, or delete the rule');
      return transaction(async (tx) => {
        const row: OwnersRow = {
          projectId: actor.projectId,
          pattern,
          owners: list,
          updatedAt: clock.now().toISOString(),
          updatedBy: actor.name,
        };
        await tx.reviews.upsertOwners(row);
        await audit(tx, actor, 'owners.set', `owners ${pattern}`, { pattern, owners: list });
        return toOwnersRecord(row);
      });
    },

    async removeOwners(actor: Actor, pattern: string): Promise<{ deleted: true }> {
      assertPattern(pattern);
      return transaction(async (tx) => {
        if (!(await tx.reviews.deleteOwners(actor.projectId, pattern))) {
          throw new PromptopsError('not_found', 'owners_not_found', `no owners rule for '${pattern}'`, {
            fix: 'see the rules with: promptops owners list',
          });
        }
        await audit(tx, actor, 'owners.deleted', `owners ${pattern}`, { pattern });
        return { deleted: true as const };
      });
    },

    async listTeams(actor: Actor): Promise<TeamRecord[]> {
      return (await reviews.listTeams(actor.projectId)).map(toTeamRecord);
    },

    async setTeam(actor: Actor, team: string, members: readonly string[]): Promise<TeamRecord> {
      if (!NAME.test(team)) throw invalid('team', `'${team}' is not a team name`, 'use letters, digits, _ . @ -');
      const list = names(members, 'members');
      return transaction(async (tx) => {
        const row: TeamRow = {
          projectId: actor.projectId,
          team,
          members: list,
          updatedAt: clock.now().toISOString(),
          updatedBy: actor.name,
        };
        await tx.reviews.upsertTeam(row);
        await audit(tx, actor, 'team.set', `team ${team}`, { team, members: list });
        return toTeamRecord(row);
      });
    },

    async removeTeam(actor: Actor, team: string): Promise<{ deleted: true }> {
      return transaction(async (tx) => {
        if (!(await tx.reviews.deleteTeam(actor.projectId, team))) {
          throw new PromptopsError('not_found', 'team_not_found', `no team '${team}'`, {
            fix: 'see the teams with: promptops teams list',
          });
        }
        await audit(tx, actor, 'team.deleted', `team ${team}`, { team });
        return { deleted: true as const };
      });
    },
  };
};
