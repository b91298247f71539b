/**
 * The API's JSON shapes (docs/api.md). They live once, in core, shared with the server and the CLI; the
 * dashboard imports them as types only. Here: the few that only the dashboard reads.
 */
import type { AuditEntry, DriftReportListItem, EvalRunRecord, LabelChangeEvent } from '@promptops/core';

export type {
  AuditEntry,
  ChangeRequestSummary,
  ChangeRequestView,
  CheckStatus,
  ReviewEvent,
  DeploymentKind,
  DeploymentRecord,
  DiffLine,
  DiffResult,
  EvalCaseResult,
  FieldChange,
  LabelRecord,
  MetricsPoint,
  MetricsResult,
  MetricsSeries,
  PromptContent,
  PromptDetail,
  PromptDiff,
  PromptListItem,
  RollbackOptions,
  RollbackResult,
  ScoreRecord,
  TraceDetail,
  TracePage as TracesPage,
  TraceRecord,
  VersionPage as VersionsPage,
  VersionRecord,
  VersionSummary,
  VersionWithLabels as VersionListItem,
} from '@promptops/core';

export type Role = 'viewer' | 'editor' | 'reviewer' | 'deployer' | 'admin';

/** `GET /api/v1/me`. */
export interface Me {
  readonly project: { readonly id: number; readonly name: string };
  readonly role: Role;
  readonly keyId: string;
  readonly keyName: string;
}

/** `GET /api/v1/audit`. */
export interface AuditPage {
  readonly entries: readonly AuditEntry[];
  readonly next: number | null;
}

export type { DriftReportListItem, EvalRunRecord, LabelChangeEvent };

export type {
  GuardrailVerdict,
  RampSpan,
  RolloutDecisionView,
  RolloutDetail,
  RolloutView,
  ShadowSummary,
} from '@promptops/core';

export type {
  DriftCheckSuite,
  DriftDescriptorResult,
  DriftExample,
  DriftReport,
  DriftRequest,
  EvalSuiteVersion,
  StoredDriftReport,
} from '@promptops/core';

/** `GET /api/v1/prompts/:name/drift`: stored reports without their bodies, newest first. */
export interface DriftReportPage {
  readonly reports: readonly DriftReportListItem[];
  readonly next: string | null;
}

/** `GET /api/v1/evals/runs`: runs without their cases, newest first. */
export type { EvalRunPage as EvalRunsPage } from '@promptops/core';

export type { WebhookAttemptRecord, WebhookDeliveryRecord, WebhookRecord } from '@promptops/core';
export type { EffectiveSummary, OverrideRecord } from '@promptops/core';
