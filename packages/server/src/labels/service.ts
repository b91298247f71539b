import {
  LATEST_LABEL,
  PromptopsError,
  assertLabelName,
  everHeld,
  gateFailureMessages,
  orphanedSlots,
  previousSha,
  shortSha,
  type DeploymentKind,
  type DeploymentRecord,
  type EvalGateVerdict,
  type LabelRecord,
  type MoveResult,
  type PromptContent,
  type PromptOverride,
  type RollbackOptions,
  type RollbackResult,
} from '@promptops/core';
import type { Actor, Clock } from '../context.js';
import { roleAllows } from '../auth/permissions.js';
import { unknownPrompt } from '../prompts/errors.js';
import { toDeploymentRecord, toLabelRecord } from '../prompts/mappers.js';
import { resolveRef } from '../prompts/resolve-ref.js';
import type { EvalGate } from '../evals/gate.js';
import { effectivePolicy } from '../reviews/policies.js';
import type { DeploymentRow, LabelRow, PromptRow, RegistryStore, RegistryTx, VersionRow } from '../registry/store.js';
import type { ReviewStore, ReviewTx } from '../reviews/store.js';
import type { TenantTx } from '../tenants/store.js';
import type { Transaction } from '../storage/transaction.js';
import { moveLabel } from './move.js';
import { rollbackOptions, rollbackPlan } from './rollback-targets.js';

const MAX_REASON_LENGTH = 2000;

export type LabelService = ReturnType<typeof createLabelService>;

/**
 * A protected label's rollback refused: `target` never reached it through its policy. `none` says the
 * default target was looked for and every earlier version was of this kind.
 */
const notThroughPolicy = (
  name: string,
  label: string,
  target: VersionRow,
  moves: readonly DeploymentRow[],
  none?: 'no earlier version',
): PromptopsError => {
  const ref = `v${target.version}`;
  const forced = moves.some((move) => move.toSha === target.sha && move.kind === 'break-glass');
  const how = forced
    ? 'only by break glass'
    : 'without an approved change request or a promote that passed its eval gate';
  const what = `${ref} (${shortSha(target.sha)}) reached it ${how}`;
  return new PromptopsError(
    'forbidden',
    'label_protected',
    none === undefined
      ? `'${label}' of '${name}' is protected: ${what}, so a rollback cannot put it back`
      : `'${label}' of '${name}' is protected and served no earlier version through review: ${what}`,
    {
      fix: `ship it through review: promptops review request ${name} ${ref} --label ${label} -m "why"; in an emergency an admin may break glass: promptops promote ${name} ${ref} --label ${label} --force --reason "why"`,
      details: { name, label, sha: target.sha, version: target.version, rollback: 'not_through_policy' },
    },
  );
};

/** What the eval gate said about a direct promote, and the state it judged. */
interface CheckedPromote {
  readonly verdict: EvalGateVerdict;
  readonly sha: string;
  readonly labelSha: string | null;
}

/** The stores the label service uses. */
export interface LabelStores {
  readonly registry: RegistryStore;
  readonly reviews: ReviewStore;
  readonly transaction: Transaction<{
    readonly registry: RegistryTx;
    readonly reviews: ReviewTx;
    readonly tenants: TenantTx;
  }>;
}

/** Tenants whose override follows `label` and names a slot `target` lacks: what the move would orphan. */
const orphansOf = async (
  tenants: TenantTx,
  promptId: number,
  label: string,
  target: VersionRow,
): Promise<Record<string, string[]>> => {
  const following = (await tenants.currentOverrides(promptId)).filter((o) => o.label === label && o.baseSha === null);
  if (following.length === 0) return {};
  const overrides = Object.fromEntries(following.map((o) => [o.tenant, JSON.parse(o.content) as PromptOverride]));
  return orphanedSlots(JSON.parse(target.content) as PromptContent, overrides);
};

export const createLabelService = (
  { registry, reviews, transaction }: LabelStores,
  clock: Clock,
  evalGate: EvalGate,
) => {
  /**
   * The eval gate of a direct promote, when the label's policy requires suites. Read before the
   * transaction (the gate reads storage); the transaction then checks that nothing it judged has moved.
   */
  const checkEvals = async (actor: Actor, name: string, label: string, ref: string): Promise<CheckedPromote | null> => {
    const prompt = await registry.getPrompt(actor.projectId, name);
    if (!prompt || prompt.headSha === null) return null; // the transaction reports it
    const policy = await effectivePolicy(reviews, actor.projectId, label, name);
    if (policy === null || policy.suites.length === 0) return null;
    const target = await resolveRef(registry, prompt, ref);
    const labelSha = (await registry.getLabel(prompt.id, label))?.sha ?? null;
    if (labelSha === target.sha) return null;
    const verdict = await evalGate.check({
      projectId: actor.projectId,
      prompt: name,
      sha: target.sha,
      label,
      labelSha,
      suites: policy.suites,
    });
    return { verdict, sha: target.sha, labelSha };
  };

  /** Locks an existing prompt (never creates one) for the rest of the transaction. */
  const lockExisting = async (tx: RegistryTx, actor: Actor, name: string): Promise<PromptRow> => {
    const found = await tx.getPrompt(actor.projectId, name);
    if (!found || found.headSha === null) throw await unknownPrompt(tx, actor.projectId, name);
    return tx.lockPrompt(actor.projectId, name, clock.now().toISOString());
  };

  const move = (
    tx: RegistryTx,
    actor: Actor,
    prompt: PromptRow,
    label: string,
    current: LabelRow | undefined,
    target: VersionRow,
    kind: DeploymentKind,
    reason: string,
  ): Promise<{ label: LabelRecord; deployment: DeploymentRecord }> =>
    moveLabel(tx, clock, { actor, prompt, label, current, target, kind, reason });

  const reasonOf = (reason: string | undefined): string => (reason ?? '').slice(0, MAX_REASON_LENGTH);

  /** Whether this promote must be a break glass, or is refused because the label is protected. */
  const gateDirectMove = async (
    reviewsTx: ReviewTx,
    actor: Actor,
    name: string,
    label: string,
    ref: string,
    force: boolean,
    reason: string,
    evals: EvalGateVerdict | null,
    orphans: Record<string, string[]> = {},
  ): Promise<DeploymentKind> => {
    const policy = await effectivePolicy(reviewsTx, actor.projectId, label, name);
    const isProtected = policy?.protected === true;
    const failing = evals !== null && !evals.passed ? gateFailureMessages(evals) : null;
    if (!force) {
      if (isProtected) {
        throw new PromptopsError(
          'forbidden',
          'label_protected',
          `'${label}' of '${name}' is protected: it moves only through an approved change request${failing === null ? '' : `; its eval gate also fails: ${failing}`}`,
          {
            fix: `open one: promptops review request ${name} ${ref} --label ${label} -m "why"`,
            details: { name, label, policy, ...(evals === null ? {} : { evals }) },
          },
        );
      }
      const orphaned = Object.keys(orphans);
      if (orphaned.length > 0) {
        throw new PromptopsError(
          'conflict',
          'overrides_orphaned',
          `${ref} of '${name}' lacks slots that tenant overrides on '${label}' replace: ${orphaned.map((t) => `${t} (${orphans[t]!.join(', ')})`).join(', ')}`,
          {
            fix: `keep the slots, change those tenants' overrides first, or (admin) force it: promptops promote ${name} ${ref} --label ${label} --force --reason "…"`,
            details: { name, label, tenants: orphans },
          },
        );
      }
      if (failing !== null) {
        throw new PromptopsError(
          'conflict',
          'eval_gate_failed',
          `'${label}' of '${name}' requires passing eval suites: ${failing}`,
          {
            fix: `fix the version and run the suites again (promptops eval), or roll back: promptops rollback ${name} --label ${label}`,
            details: { name, label, evals },
          },
        );
      }
      return 'promote';
    }
    if (!roleAllows(actor.role, 'labels:force')) {
      throw new PromptopsError(
        'forbidden',
        'forbidden',
        `breaking glass on '${label}' needs the admin role, not '${actor.role}'`,
        {
          fix: `open a change request instead: promptops review request ${name} ${ref} --label ${label} -m "why"`,
        },
      );
    }
    if (reason.trim() === '') {
      throw new PromptopsError(
        'invalid',
        'reason_required',
        'a forced promotion (break glass) needs a written reason',
        {
          fix: 'say why with --reason "…"; it is recorded and shown with the deployment',
          issues: [{ path: 'reason', message: 'is required with force' }],
        },
      );
    }
    if (!isProtected && Object.keys(orphans).length === 0) {
      throw new PromptopsError(
        'unprocessable',
        'not_protected',
        `'${label}' of '${name}' is not protected: nothing to force`,
        {
          fix: `promote without --force: promptops promote ${name} ${ref} --label ${label}`,
        },
      );
    }
    return 'break-glass';
  };

  /** The change request each merge deployment came from, by deployment id. */
  const mergedRequests = async (promptId: number): Promise<Map<number, number>> => {
    const merged = await reviews.listMergedChangeRequests(promptId);
    return new Map(merged.flatMap((cr) => (cr.deploymentId === null ? [] : [[cr.deploymentId, cr.id] as const])));
  };

  return {
    async list(actor: Actor, name: string): Promise<LabelRecord[]> {
      const prompt = await registry.getPrompt(actor.projectId, name);
      if (!prompt || prompt.headSha === null) throw await unknownPrompt(registry, actor.projectId, name);
      return (await registry.listLabels(prompt.id)).map(toLabelRecord);
    },

    /** Deployment history, newest first, and where each label in it may be rolled back to now. */
    async history(
      actor: Actor,
      name: string,
      label?: string,
    ): Promise<{ deployments: DeploymentRecord[]; rollback: RollbackOptions[] }> {
      const prompt = await registry.getPrompt(actor.projectId, name);
      if (!prompt || prompt.headSha === null) throw await unknownPrompt(registry, actor.projectId, name);
      const [rows, merges] = await Promise.all([
        registry.listDeployments(prompt.id, label === undefined ? {} : { label }),
        mergedRequests(prompt.id),
      ]);
      const deployments = rows
        .map((row) => {
          const record = toDeploymentRecord(row);
          const changeRequest = merges.get(row.id);
          return changeRequest === undefined ? record : { ...record, changeRequest };
        })
        .reverse();
      return { deployments, rollback: await rollbackOptions({ registry, reviews }, actor.projectId, prompt, rows) };
    },

    /** Moves a label to a ref. Moving it where it already is changes nothing and records nothing. */
    async promote(
      actor: Actor,
      name: string,
      label: string,
      input: { ref: string; reason?: string; force?: boolean },
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
      // Break glass skips the eval gate, as it skips review: it is recorded and shown as such instead.
      const checked = input.force === true ? null : await checkEvals(actor, name, label, input.ref);
      return transaction(async ({ registry: tx, reviews: reviewsTx, tenants: tenantsTx }) => {
        const prompt = await lockExisting(tx, actor, name);
        const target = await resolveRef(tx, prompt, input.ref);
        const current = await tx.getLabel(prompt.id, label);
        if (checked !== null && (checked.sha !== target.sha || checked.labelSha !== (current?.sha ?? null))) {
          throw new PromptopsError(
            'conflict',
            'label_moved',
            `'${label}' of '${name}' moved while its eval gate was checked`,
            { fix: 'retry the promotion: the gate is checked again against what the label serves now' },
          );
        }
        const reason = reasonOf(input.reason);
        const kind = await gateDirectMove(
          reviewsTx,
          actor,
          name,
          label,
          input.ref,
          input.force === true,
          reason,
          checked?.verdict ?? null,
          current?.sha === target.sha ? {} : await orphansOf(tenantsTx, prompt.id, label, target),
        );
        if (current?.sha === target.sha) return { changed: false, label: toLabelRecord(current), deployment: null };
        return { changed: true, ...(await move(tx, actor, prompt, label, current, target, kind, reason)) };
      });
    },

    /**
     * Moves a label back to the sha it held before the current one (default), or to any sha it held at
     * some point (`to`). Never waits for review: recovery must always be possible. On a protected label
     * the target must have reached the label through its policy (see `rollbackChoices`), so a rollback
     * cannot ship what review or the eval gate refused; the default skips versions that did not.
     */
    async rollback(
      actor: Actor,
      name: string,
      label: string,
      input: { to?: string; reason?: string; kind?: 'rollback' | 'auto-rollback' },
    ): Promise<RollbackResult> {
      assertLabelName(label);
      const started = performance.now();
      const result = await transaction(async ({ registry: tx, reviews: reviewsTx }) => {
        const prompt = await lockExisting(tx, actor, name);
        const current = await tx.getLabel(prompt.id, label);
        if (!current) {
          throw new PromptopsError('not_found', 'label_not_found', `prompt '${name}' has no label '${label}'`, {
            fix: `see the labels with: promptops labels ${name}`,
          });
        }
        const moves = await tx.listDeployments(prompt.id, { label });
        const { choices } = await rollbackPlan(
          { registry: tx, reviews: reviewsTx },
          actor.projectId,
          prompt,
          label,
          current.sha,
          moves,
        );
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
          if (target.sha !== current.sha && !choices.eligible(target.sha)) {
            throw notThroughPolicy(name, label, target, moves);
          }
        } else {
          const sha = choices.previous;
          if (sha === undefined) {
            // Earlier versions, but none that came through the policy: say which and how to ship it.
            const skipped = previousSha(moves);
            const version = skipped === undefined ? undefined : await tx.getVersionBySha(prompt.id, skipped);
            if (version) throw notThroughPolicy(name, label, version, moves, 'no earlier version');
          }
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
        return move(tx, actor, prompt, label, current, target, input.kind ?? 'rollback', reasonOf(input.reason));
      });
      return { ...result, elapsedMs: Math.round((performance.now() - started) * 100) / 100 };
    },
  };
};
