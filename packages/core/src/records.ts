import type { PromptDiff } from './diff.js';
import type { AuditHead } from './audit-anchor.js';
import type { PromptContent } from './schema.js';

/** The shapes the registry returns, shared by the server, the CLI and the SDK (the public JSON names). */

export const DEPLOYMENT_KINDS = [
  'promote',
  'rollback',
  'push',
  'rollout-step',
  'auto-rollback',
  'break-glass',
  // A change request's merge moved the label (the record names it in `changeRequest`).
  'merge',
  // A rollout completed: the label moved to its candidate.
  'rollout',
] as const;
export type DeploymentKind = (typeof DEPLOYMENT_KINDS)[number];

export interface VersionSummary {
  readonly name: string;
  readonly version: number;
  readonly sha: string;
  readonly parentSha: string | null;
  readonly author: string;
  readonly message: string;
  readonly createdAt: string;
}

export interface VersionRecord extends VersionSummary {
  readonly content: PromptContent;
}

export interface LabelRecord {
  readonly name: string;
  readonly label: string;
  readonly sha: string;
  readonly version: number;
  readonly updatedAt: string;
  readonly updatedBy: string;
}

export interface DeploymentRecord {
  readonly id: number;
  readonly name: string;
  readonly label: string;
  readonly fromSha: string | null;
  readonly fromVersion: number | null;
  readonly toSha: string;
  readonly toVersion: number;
  readonly kind: DeploymentKind;
  readonly actor: string;
  readonly reason: string;
  readonly createdAt: string;
  /** The change request whose merge made this move (present on `merge` records in histories). */
  readonly changeRequest?: number;
}

export interface AuditEntry {
  readonly seq: number;
  readonly at: string;
  readonly actor: string;
  readonly action: string;
  readonly target: string;
  readonly data: Readonly<Record<string, unknown>>;
  readonly prevHash: string;
  readonly hash: string;
}

/** Response shapes of the registry API (docs/api.md), shared by the server, the CLI and the dashboard. */

/** One row of `GET /prompts`: the head and where each label points. */
export interface PromptListItem {
  readonly name: string;
  readonly version: number;
  readonly sha: string;
  readonly updatedAt: string;
  /** What each label serves, and when and by whom it last moved (so a list needs no request per prompt). */
  readonly labels: Readonly<
    Record<
      string,
      { readonly version: number; readonly sha: string; readonly updatedAt: string; readonly updatedBy: string }
    >
  >;
}

/** `GET /prompts/:name`: the head and the labels. */
export interface PromptDetail {
  readonly name: string;
  readonly version: number;
  readonly sha: string;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly labels: readonly LabelRecord[];
}

export type PushResult = VersionSummary & { readonly created: boolean };
export type VersionWithLabels = VersionSummary & { readonly labels: readonly string[] };
export type VersionRecordWithLabels = VersionRecord & { readonly labels: readonly string[] };

export interface VersionPage {
  readonly versions: readonly VersionWithLabels[];
  readonly nextBefore: number | null;
}

export interface DiffResult {
  readonly from: VersionSummary;
  readonly to: VersionSummary;
  readonly diff: PromptDiff;
}

export interface MoveResult {
  readonly changed: boolean;
  readonly label: LabelRecord;
  readonly deployment: DeploymentRecord | null;
}

export interface RollbackResult {
  readonly label: LabelRecord;
  readonly deployment: DeploymentRecord;
  readonly elapsedMs: number;
}

export interface VerifyProblem {
  readonly table:
    | 'versions'
    | 'audit_log'
    | 'deployments'
    | 'labels'
    | 'prompts'
    | 'label_policies'
    | 'code_owners'
    | 'teams'
    | 'api_keys'
    | 'memberships'
    | 'change_requests'
    | 'review_events';
  readonly row: string;
  readonly problem: string;
  readonly message: string;
}

export interface VerifyReport {
  readonly ok: boolean;
  readonly checked: {
    readonly versions: number;
    readonly auditEntries: number;
    readonly deployments: number;
    readonly labels: number;
    readonly prompts?: number;
    /** Policies, owners rules and teams. */
    readonly policies?: number;
    readonly keys?: number;
    readonly members?: number;
    readonly changeRequests?: number;
    readonly reviewEvents?: number;
  };
  readonly problems: readonly VerifyProblem[];
  /** The chain's newest entry, to note down outside the database (null: an empty log). Absent from older servers. */
  readonly head?: AuditHead | null;
  /** Whether the server holds an audit HMAC key (and so checked every HMAC), and how many entries carry one. */
  readonly hmac?: { readonly key: boolean; readonly entries: number };
}
