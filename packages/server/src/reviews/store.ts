import type { ChangeRequestStatus, ReviewEventKind, ReviewRole, RolloutConfig } from '@promptops/core';

/**
 * The reviews feature's store: label policies, owners, teams, change requests and their events.
 * `kysely-store.ts` implements it for both databases. A write here must come with an audit entry in the
 * same transaction (`tx.registry.appendAudit`), like every registry write.
 */

export interface PolicyRow {
  readonly projectId: number;
  readonly label: string;
  readonly pattern: string;
  readonly protected: boolean;
  readonly approvals: number;
  readonly minRole: ReviewRole;
  readonly owners: readonly string[];
  readonly codeOwners: boolean;
  readonly suites: readonly { readonly suite: string; readonly passRate?: number }[];
  readonly authorMayApprove: boolean;
  /** Drift descriptors a change request must not drift on (JSON list in `no_drift`). */
  readonly noDrift: readonly string[];
  /** A tenant-scoped key may change its own tenant's override on the label (`tenant_self_service`). */
  readonly tenantSelfService: boolean;
  readonly updatedAt: string;
  readonly updatedBy: string;
}

export interface OwnersRow {
  readonly projectId: number;
  readonly pattern: string;
  readonly owners: readonly string[];
  readonly updatedAt: string;
  readonly updatedBy: string;
}

export interface TeamRow {
  readonly projectId: number;
  readonly team: string;
  readonly members: readonly string[];
  readonly updatedAt: string;
  readonly updatedBy: string;
}

export interface ChangeRequestRow {
  readonly id: number;
  readonly projectId: number;
  readonly promptId: number;
  readonly name: string;
  readonly label: string;
  readonly status: ChangeRequestStatus;
  readonly author: string;
  readonly message: string;
  readonly sha: string;
  readonly version: number;
  readonly baseSha: string | null;
  readonly baseVersion: number | null;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly deploymentId: number | null;
  /** A rollout plan: merging starts this rollout instead of moving the label. */
  readonly rollout: RolloutConfig | null;
  /** The rollout the merge started. */
  readonly rolloutId: string | null;
}

export type NewChangeRequest = Omit<
  ChangeRequestRow,
  'id' | 'name' | 'status' | 'updatedAt' | 'deploymentId' | 'rolloutId'
>;

export interface ReviewEventRow {
  readonly id: number;
  readonly changeRequestId: number;
  readonly kind: ReviewEventKind;
  readonly actor: string;
  readonly sha: string;
  readonly comment: string;
  readonly at: string;
}

export interface ChangeRequestFilter {
  readonly status?: ChangeRequestStatus;
  readonly promptId?: number;
  readonly label?: string;
  readonly limit: number;
  /** Exclusive: ids below this (newest first paging). */
  readonly beforeId?: number;
}

export interface ReviewReads {
  /** Ordered by (label, pattern). */
  listPolicies(projectId: number, label?: string): Promise<PolicyRow[]>;
  listOwners(projectId: number): Promise<OwnersRow[]>;
  listTeams(projectId: number): Promise<TeamRow[]>;
  /** Only within the project: another project's id is undefined, like one that does not exist. */
  getChangeRequest(projectId: number, id: number): Promise<ChangeRequestRow | undefined>;
  /** Newest first. */
  listChangeRequests(projectId: number, filter: ChangeRequestFilter): Promise<ChangeRequestRow[]>;
  /** Oldest first. */
  listReviewEvents(changeRequestId: number): Promise<ReviewEventRow[]>;
  /** Every review event of the project's change requests, by id, `limit` at a time after `afterId` (verify). */
  listProjectReviewEvents(projectId: number, afterId: number, limit: number): Promise<ReviewEventRow[]>;
  /** Merged change requests of a prompt, oldest first. */
  listMergedChangeRequests(promptId: number): Promise<ChangeRequestRow[]>;
}

/** The reviews' reads outside a transaction. */
export type ReviewStore = ReviewReads;

export interface ReviewTx extends ReviewReads {
  upsertPolicy(row: PolicyRow): Promise<void>;
  deletePolicy(projectId: number, label: string, pattern: string): Promise<boolean>;
  upsertOwners(row: OwnersRow): Promise<void>;
  deleteOwners(projectId: number, pattern: string): Promise<boolean>;
  upsertTeam(row: TeamRow): Promise<void>;
  deleteTeam(projectId: number, team: string): Promise<boolean>;
  insertChangeRequest(row: NewChangeRequest): Promise<ChangeRequestRow>;
  updateChangeRequest(
    projectId: number,
    id: number,
    patch: {
      readonly status?: ChangeRequestStatus;
      readonly sha?: string;
      readonly version?: number;
      readonly baseSha?: string | null;
      readonly baseVersion?: number | null;
      readonly deploymentId?: number;
      readonly rolloutId?: string;
      readonly updatedAt: string;
    },
  ): Promise<void>;
  insertReviewEvent(row: Omit<ReviewEventRow, 'id'>): Promise<ReviewEventRow>;
}
