import type { DeploymentKind, DeploymentRecord, LabelRecord } from '@promptops/core';
import type { Actor, Clock } from '../context.js';
import { toDeploymentRecord, toLabelRecord } from '../prompts/mappers.js';
import type { LabelRow, PromptRow, RegistryTx, VersionRow } from '../registry/store.js';

const AUDIT_ACTION: Partial<Record<DeploymentKind, string>> = {
  rollback: 'label.rolled_back',
  'auto-rollback': 'label.rolled_back',
  'break-glass': 'label.forced',
};

/**
 * Moves a label inside the caller's transaction (which holds the prompt lock): the pointer, a deployment
 * record and the audit entry, together. Promote, rollback, break glass and change-request merges all
 * come through here. A merge names its change request in the audit entry.
 */
export const moveLabel = async (
  tx: RegistryTx,
  clock: Clock,
  move: {
    readonly actor: Actor;
    readonly prompt: PromptRow;
    readonly label: string;
    readonly current: LabelRow | undefined;
    readonly target: VersionRow;
    readonly kind: DeploymentKind;
    readonly reason: string;
    readonly changeRequest?: number;
  },
): Promise<{ label: LabelRecord; deployment: DeploymentRecord }> => {
  const { actor, prompt, label, current, target, kind, reason } = move;
  const at = clock.now().toISOString();
  await tx.setLabel({
    promptId: prompt.id,
    label,
    sha: target.sha,
    version: target.version,
    updatedAt: at,
    updatedBy: actor.name,
  });
  const deployment = await tx.insertDeployment({
    projectId: actor.projectId,
    promptId: prompt.id,
    label,
    fromSha: current?.sha ?? null,
    fromVersion: current?.version ?? null,
    toSha: target.sha,
    toVersion: target.version,
    kind,
    actor: actor.name,
    reason,
    createdAt: at,
  });
  await tx.appendAudit({
    projectId: actor.projectId,
    at,
    actor: actor.name,
    action: AUDIT_ACTION[kind] ?? 'label.moved',
    target: `${prompt.name}:${label}`,
    data: {
      name: prompt.name,
      label,
      kind,
      fromSha: current?.sha ?? null,
      toSha: target.sha,
      toVersion: target.version,
      reason,
      deploymentId: deployment.id,
      ...(move.changeRequest === undefined ? {} : { changeRequest: move.changeRequest }),
    },
  });
  const moved = await tx.getLabel(prompt.id, label);
  const record = toDeploymentRecord(deployment);
  return {
    label: toLabelRecord(moved!),
    deployment: move.changeRequest === undefined ? record : { ...record, changeRequest: move.changeRequest },
  };
};
