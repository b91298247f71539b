import type { PromptDiff } from './diff.js';
import type { EvalGateVerdict } from './eval-records.js';
import type { DeploymentRecord, VersionSummary } from './records.js';
import type { DriftCheckSuite } from './drift/records.js';
import type { RolloutConfig } from './rollouts/config.js';

/** Review gates: label policies, owners, teams, change requests and blame (docs/api.md, "Review gates"). */

export const REVIEW_ROLES = ['viewer', 'editor', 'reviewer', 'deployer', 'admin'] as const;
export type ReviewRole = (typeof REVIEW_ROLES)[number];

/** What an admin sets for a label (optionally narrowed to the prompts a pattern matches). */
export interface PolicySpec {
  /** `*` (every prompt, the default), an exact prompt name, or a glob (`support/*`, `support/**`). */
  readonly pattern: string;
  readonly protected: boolean;
  /** Approvals a change request needs before it may be merged (0..10). */
  readonly approvals: number;
  /** The lowest role that may approve (at least `reviewer`). */
  readonly minRole: ReviewRole;
  /** Users or teams who may approve; empty means anyone with `minRole`. */
  readonly owners: readonly string[];
  /** Approvers must (also) be owners of the prompt in the owners table (like CODEOWNERS). */
  readonly codeOwners: boolean;
  /** Eval suites the candidate must pass (checked through the eval gate). */
  readonly suites: readonly { readonly suite: string; readonly passRate?: number }[];
  /** Whether the author of the change (its opener or the proposed version's author) may approve it. */
  readonly authorMayApprove: boolean;
  /** Drift descriptors (`mentions.user_name`, `mentions.*`) the candidate must not drift on (offline report). */
  readonly noDrift: readonly string[];
  /**
   * Customer self-service: a tenant-scoped key may change its own tenant's override on the protected
   * label (otherwise only an admin may). Nothing else changes: the label itself still moves by review.
   */
  readonly tenantSelfService: boolean;
}

export interface PolicyRecord extends PolicySpec {
  readonly label: string;
  readonly updatedAt: string;
  readonly updatedBy: string;
}

export interface OwnersRecord {
  readonly pattern: string;
  readonly owners: readonly string[];
  readonly updatedAt: string;
  readonly updatedBy: string;
}

export interface TeamRecord {
  readonly team: string;
  readonly members: readonly string[];
  readonly updatedAt: string;
  readonly updatedBy: string;
}

export const CHANGE_REQUEST_STATUSES = ['open', 'merged', 'closed'] as const;
export type ChangeRequestStatus = (typeof CHANGE_REQUEST_STATUSES)[number];

export const REVIEW_EVENT_KINDS = ['opened', 'approved', 'rejected', 'superseded', 'merged', 'closed'] as const;
export type ReviewEventKind = (typeof REVIEW_EVENT_KINDS)[number];

/** One entry of a change request's timeline. `sha` is the proposed sha the event applied to. */
export interface ReviewEvent {
  readonly kind: ReviewEventKind | 'forced';
  readonly actor: string;
  readonly at: string;
  readonly sha: string;
  readonly comment: string;
  /** For `forced`: the break-glass deployment that moved the label meanwhile. */
  readonly deployment?: DeploymentRecord;
}

export interface ChangeRequestSummary {
  readonly id: number;
  readonly name: string;
  readonly label: string;
  readonly status: ChangeRequestStatus;
  readonly author: string;
  readonly message: string;
  /** The proposed version. */
  readonly sha: string;
  readonly version: number;
  /** What the label served when the request was opened (null: the label did not exist). */
  readonly baseSha: string | null;
  readonly baseVersion: number | null;
  readonly createdAt: string;
  readonly updatedAt: string;
  /** The deployment a merge made (null until merged, and for a proposed rollout). */
  readonly deploymentId: number | null;
  /**
   * A proposed rollout: merging starts it (`rolloutId`) instead of moving the label, which moves when the
   * rollout completes. Null: merging moves the label.
   */
  readonly rollout: { readonly plan: RolloutConfig; readonly rolloutId: string | null } | null;
}

export type CheckStatus = 'passed' | 'failed' | 'pending' | 'not_available';

export interface ApprovalRecord {
  readonly actor: string;
  readonly at: string;
  readonly comment: string;
  /** False when the policy does not count this approver (e.g. not an owner any more). */
  readonly counted: boolean;
}

export interface ReviewChecks {
  readonly approvals: {
    readonly status: CheckStatus;
    readonly required: number;
    readonly approvedBy: readonly ApprovalRecord[];
    readonly rejectedBy: readonly ApprovalRecord[];
    /** Who may approve, in words. */
    readonly eligible: string;
    readonly message: string;
  };
  readonly evals: { readonly status: CheckStatus; readonly verdict: EvalGateVerdict | null; readonly message: string };
  /** The label still serves the sha recorded when the request was opened. */
  readonly base: {
    readonly status: CheckStatus;
    readonly labelSha: string | null;
    readonly labelVersion: number | null;
    readonly message: string;
  };
  /**
   * The offline drift report of each suite (the required ones, then the prompt's others) on the base and
   * the proposed version; `failed` only when a policy's `noDrift` descriptor drifted.
   */
  readonly drift: {
    readonly status: CheckStatus;
    readonly message: string;
    readonly noDrift: readonly string[];
    readonly suites: readonly DriftCheckSuite[];
  };
}

export interface ChangeRequestView extends ChangeRequestSummary {
  readonly protected: boolean;
  readonly policy: PolicyRecord | null;
  readonly from: VersionSummary | null;
  readonly to: VersionSummary;
  /** From the base (what the label served at open) to the proposed version. */
  readonly diff: PromptDiff;
  readonly checks: ReviewChecks;
  /** Every check passes: `merge` would move the label now. */
  readonly mergeable: boolean;
  readonly timeline: readonly ReviewEvent[];
}

export interface BlameLine {
  /** Line number in the blamed body (1-based, over all messages). */
  readonly line: number;
  /** The message the line belongs to (chat prompts), or null for a text template. */
  readonly message: { readonly index: number; readonly role: string } | null;
  readonly text: string;
  readonly version: number;
  readonly sha: string;
  readonly author: string;
  readonly createdAt: string;
  readonly commitMessage: string;
  /**
   * The change request whose merge first shipped this line to the label (null: it shipped otherwise, or
   * not yet). A line ships with the first label move to its version or a later one of the chain.
   */
  readonly changeRequest: number | null;
  /** That first label move: `promote`, `merge`, `break-glass`, … (null when no label or not shipped). */
  readonly deployedBy: { readonly kind: string; readonly actor: string; readonly at: string } | null;
}

export interface BlameResult {
  readonly name: string;
  readonly label: string | null;
  readonly version: number;
  readonly sha: string;
  readonly lines: readonly BlameLine[];
}
