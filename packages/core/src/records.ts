import type { PromptContent } from './schema.js';

/** The shapes the registry returns, shared by the server, the CLI and the SDK (the public JSON names). */

export const DEPLOYMENT_KINDS = [
  'promote',
  'rollback',
  'push',
  'rollout-step',
  'auto-rollback',
  'break-glass',
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
