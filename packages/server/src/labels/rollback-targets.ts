import { LATEST_LABEL, rollbackChoices, type RollbackOptions } from '@promptops/core';
import { effectivePolicy } from '../reviews/policies.js';
import type { DeploymentRow, RegistryReads } from '../registry/store.js';
import type { ReviewReads } from '../reviews/store.js';

/** What a rollback plan reads: the label's moves and the policy that governs it. */
export interface RollbackReads {
  readonly registry: RegistryReads;
  readonly reviews: ReviewReads;
}

/**
 * Where a rollback of one label may go, from its moves and the policy that governs it now. The rollback
 * itself, the deployment history the dashboard draws its buttons from, and a trace's suggested rollback
 * all ask here, so none of them offers what the others would refuse.
 */
export interface RollbackPlan {
  readonly protected: boolean;
  /** The label's moves, oldest first. */
  readonly moves: readonly DeploymentRow[];
  readonly choices: ReturnType<typeof rollbackChoices>;
}

export const rollbackPlan = async (
  reads: RollbackReads,
  projectId: number,
  prompt: { readonly id: number; readonly name: string },
  label: string,
  current: string | null,
  moves?: readonly DeploymentRow[],
): Promise<RollbackPlan> => {
  const [policy, rows] = await Promise.all([
    effectivePolicy(reads.reviews, projectId, label, prompt.name),
    moves ?? reads.registry.listDeployments(prompt.id, { label }),
  ]);
  const isProtected = policy?.protected === true;
  return { protected: isProtected, moves: rows, choices: rollbackChoices(rows, isProtected, current) };
};

/** The version number of a sha the label held, from its moves. */
export const heldVersion = (moves: readonly DeploymentRow[], sha: string): number | undefined => {
  for (const move of moves) {
    if (move.toSha === sha) return move.toVersion;
    if (move.fromSha === sha && move.fromVersion !== null) return move.fromVersion;
  }
  return undefined;
};

/** The rollback options of each label in a history (moves oldest first), for the dashboard. */
export const rollbackOptions = async (
  reads: RollbackReads,
  projectId: number,
  prompt: { readonly id: number; readonly name: string },
  moves: readonly DeploymentRow[],
): Promise<RollbackOptions[]> => {
  const byLabel = new Map<string, DeploymentRow[]>();
  for (const move of moves) {
    if (move.label === LATEST_LABEL) continue;
    const rows = byLabel.get(move.label);
    if (rows === undefined) byLabel.set(move.label, [move]);
    else rows.push(move);
  }
  const versioned = (rows: readonly DeploymentRow[], sha: string) => {
    const version = heldVersion(rows, sha);
    return version === undefined ? [] : [{ version, sha }];
  };
  return Promise.all(
    [...byLabel].map(async ([label, rows]) => {
      const current = rows.at(-1)?.toSha ?? null;
      const plan = await rollbackPlan(reads, projectId, prompt, label, current, rows);
      const previous = plan.choices.previous === undefined ? [] : versioned(rows, plan.choices.previous);
      return {
        label,
        protected: plan.protected,
        previous: previous[0] ?? null,
        targets: plan.choices.targets.flatMap((sha) => versioned(rows, sha)),
      };
    }),
  );
};
