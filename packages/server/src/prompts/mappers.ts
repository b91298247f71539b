import type { DeploymentRecord, LabelRecord, PromptContent, VersionRecord, VersionSummary } from '@promptops/core';
import type { DeploymentRow, LabelRow, VersionRow } from '../registry/store.js';

/** Storage rows to the public JSON shapes (core's records). */
export const toVersionSummary = (row: VersionRow): VersionSummary => ({
  name: row.name,
  version: row.version,
  sha: row.sha,
  parentSha: row.parentSha,
  author: row.author,
  message: row.message,
  createdAt: row.createdAt,
});

export const toVersionRecord = (row: VersionRow): VersionRecord => ({
  ...toVersionSummary(row),
  content: JSON.parse(row.content) as PromptContent,
});

export const toLabelRecord = (row: LabelRow): LabelRecord => ({
  name: row.name,
  label: row.label,
  sha: row.sha,
  version: row.version,
  updatedAt: row.updatedAt,
  updatedBy: row.updatedBy,
});

export const toDeploymentRecord = (row: DeploymentRow): DeploymentRecord => ({
  id: row.id,
  name: row.name,
  label: row.label,
  fromSha: row.fromSha,
  fromVersion: row.fromVersion,
  toSha: row.toSha,
  toVersion: row.toVersion,
  kind: row.kind,
  actor: row.actor,
  reason: row.reason,
  createdAt: row.createdAt,
});
