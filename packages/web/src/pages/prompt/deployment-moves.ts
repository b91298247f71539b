import type { DeploymentRecord, LabelRecord, RollbackOptions } from '../../api/types';

/**
 * Which moves of the deployment history say "serving now": per label, only its newest move, and only when
 * the label still serves what that move put there. A label can reach the same version twice (a promote, a
 * rollback to it later): the older move is history, not what serves now. `latest` follows pushes: none.
 */
export const servingNow = (
  moves: readonly Pick<DeploymentRecord, 'id' | 'label' | 'toSha'>[],
  labels: readonly Pick<LabelRecord, 'label' | 'sha'>[],
): Set<number> => {
  const newest = new Map<string, Pick<DeploymentRecord, 'id' | 'toSha'>>();
  for (const move of moves) {
    const seen = newest.get(move.label);
    if (seen === undefined || move.id > seen.id) newest.set(move.label, move);
  }
  const serving = new Set<number>();
  for (const { label, sha } of labels) {
    const move = newest.get(label);
    if (label !== 'latest' && move !== undefined && move.toSha === sha) serving.add(move.id);
  }
  return serving;
};

/**
 * The moves that offer a rollback: per label, the newest move to each sha the server names as a target
 * (never the one it serves; on a protected label, none that came only by break glass). `latest` follows
 * pushes and has no targets. `moves` are newest first.
 */
export const rollbackOffers = (
  moves: readonly Pick<DeploymentRecord, 'id' | 'label' | 'toSha'>[],
  rollback: readonly RollbackOptions[],
): Set<number> => {
  const targets = new Set(
    rollback.flatMap((options) => options.targets.map((target) => `${options.label}\u0000${target.sha}`)),
  );
  const seen = new Set<string>();
  const offers = new Set<number>();
  for (const move of moves) {
    const key = `${move.label}\u0000${move.toSha}`;
    if (seen.has(key)) continue;
    seen.add(key);
    if (targets.has(key)) offers.add(move.id);
  }
  return offers;
};
