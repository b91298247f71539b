import {
  LATEST_LABEL,
  PromptopsError,
  assertLabelName,
  everHeld,
  previousSha,
  shortSha,
  type DeploymentKind,
  type DeploymentRecord,
  type LabelRecord,
  type MoveResult,
  type RollbackResult,
} from '@promptops/core';
import type { Actor, Clock } from '../context.js';
import { promptNotFound } from '../prompts/errors.js';
import { toDeploymentRecord, toLabelRecord } from '../prompts/mappers.js';
import { resolveRef } from '../prompts/resolve-ref.js';
import type { LabelRow, PromptRow, RegistryTx, Storage, VersionRow } from '../storage/port.js';

const MAX_REASON_LENGTH = 2000;

export type LabelService = ReturnType<typeof createLabelService>;

export const createLabelService = (storage: Storage, clock: Clock) => {
  /** Locks an existing prompt (never creates one) for the rest of the transaction. */
  const lockExisting = async (tx: RegistryTx, actor: Actor, name: string): Promise<PromptRow> => {
    const found = await tx.getPrompt(actor.projectId, name);
    if (!found || found.headSha === null) throw promptNotFound(name);
    return tx.lockPrompt(actor.projectId, name, clock.now().toISOString());
  };

  const move = async (
    tx: RegistryTx,
    actor: Actor,
    prompt: PromptRow,
    label: string,
    current: LabelRow | undefined,
    target: VersionRow,
    kind: DeploymentKind,
    reason: string,
  ): Promise<{ label: LabelRecord; deployment: DeploymentRecord }> => {
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
      action: kind === 'rollback' ? 'label.rolled_back' : 'label.moved',
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
      },
    });
    const label_ = await tx.getLabel(prompt.id, label);
    return { label: toLabelRecord(label_!), deployment: toDeploymentRecord(deployment) };
  };

  const reasonOf = (reason: string | undefined): string => (reason ?? '').slice(0, MAX_REASON_LENGTH);

  return {
    async list(actor: Actor, name: string): Promise<LabelRecord[]> {
      const prompt = await storage.getPrompt(actor.projectId, name);
      if (!prompt || prompt.headSha === null) throw promptNotFound(name);
      return (await storage.listLabels(prompt.id)).map(toLabelRecord);
    },

    /** Deployment history, newest first. */
    async history(actor: Actor, name: string, label?: string): Promise<DeploymentRecord[]> {
      const prompt = await storage.getPrompt(actor.projectId, name);
      if (!prompt || prompt.headSha === null) throw promptNotFound(name);
      const rows = await storage.listDeployments(prompt.id, label === undefined ? {} : { label });
      return rows.map(toDeploymentRecord).reverse();
    },

    /** Moves a label to a ref. Moving it where it already is changes nothing and records nothing. */
    async promote(
      actor: Actor,
      name: string,
      label: string,
      input: { ref: string; reason?: string },
    ): Promise<MoveResult> {
      assertLabelName(label);
      if (label === LATEST_LABEL) {
        throw new PromptopsError(
          'unprocessable',
          'label_reserved',
          `'${LATEST_LABEL}' follows the newest version automatically and cannot be moved by hand`,
          {
            fix: 'push a new version, or use another label such as production or staging',
          },
        );
      }
      return storage.transaction(async (tx) => {
        const prompt = await lockExisting(tx, actor, name);
        const target = await resolveRef(tx, prompt, input.ref);
        const current = await tx.getLabel(prompt.id, label);
        if (current?.sha === target.sha) return { changed: false, label: toLabelRecord(current), deployment: null };
        return {
          changed: true,
          ...(await move(tx, actor, prompt, label, current, target, 'promote', reasonOf(input.reason))),
        };
      });
    },

    /**
     * Moves a label back to the sha it held before the current one (default), or to any sha it held at
     * some point (`to`). Never blocked by review: recovery must always be possible.
     */
    async rollback(
      actor: Actor,
      name: string,
      label: string,
      input: { to?: string; reason?: string },
    ): Promise<RollbackResult> {
      assertLabelName(label);
      const started = performance.now();
      const result = await storage.transaction(async (tx) => {
        const prompt = await lockExisting(tx, actor, name);
        const current = await tx.getLabel(prompt.id, label);
        if (!current) {
          throw new PromptopsError('not_found', 'label_not_found', `prompt '${name}' has no label '${label}'`, {
            fix: `see the labels with: promptops labels ${name}`,
          });
        }
        const moves = await tx.listDeployments(prompt.id, { label });
        let target: VersionRow;
        if (input.to !== undefined) {
          target = await resolveRef(tx, prompt, input.to);
          if (!everHeld(moves).has(target.sha)) {
            throw new PromptopsError(
              'unprocessable',
              'not_previously_held',
              `'${label}' never served v${target.version} (${shortSha(target.sha)}) of '${name}', so it cannot be rolled back to it`,
              {
                fix: `promote it instead: promptops promote ${name} v${target.version} --label ${label}`,
              },
            );
          }
        } else {
          const sha = previousSha(moves);
          const found = sha === undefined ? undefined : await tx.getVersionBySha(prompt.id, sha);
          if (!found) {
            throw new PromptopsError(
              'unprocessable',
              'nothing_to_roll_back',
              `'${label}' of '${name}' has served only v${current.version}; there is nothing to roll back to`,
              {
                fix: `promote another version instead: promptops promote ${name} vN --label ${label}`,
              },
            );
          }
          target = found;
        }
        if (target.sha === current.sha) {
          throw new PromptopsError(
            'unprocessable',
            'nothing_to_roll_back',
            `'${label}' of '${name}' already serves v${target.version} (${shortSha(target.sha)})`,
            {
              fix: 'name another version with --to',
            },
          );
        }
        return move(tx, actor, prompt, label, current, target, 'rollback', reasonOf(input.reason));
      });
      return { ...result, elapsedMs: Math.round((performance.now() - started) * 100) / 100 };
    },
  };
};
