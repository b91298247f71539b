import type { DeploymentKind } from './records.js';

/**
 * Where a rollback goes. The label's history is replayed as a stack of shas it held: a forward move
 * pushes, a rollback to a sha still on the stack pops back to it. The default target is the entry under
 * the top, so rolling back twice goes to the version before the previous one, never back to the bad one.
 * On a protected label, only versions that reached it through its policy are targets (`rollbackChoices`).
 */

export interface LabelMove {
  readonly fromSha: string | null;
  readonly toSha: string;
  readonly kind: DeploymentKind;
}

const ROLLBACK_KINDS: ReadonlySet<DeploymentKind> = new Set(['rollback', 'auto-rollback']);

export const heldStack = (moves: readonly LabelMove[]): string[] => {
  const stack: string[] = [];
  for (const move of moves) {
    if (stack.length === 0 && move.fromSha !== null) stack.push(move.fromSha);
    const at = ROLLBACK_KINDS.has(move.kind) ? stack.lastIndexOf(move.toSha) : -1;
    if (at >= 0) stack.length = at + 1;
    else if (stack[stack.length - 1] !== move.toSha) stack.push(move.toSha);
  }
  return stack;
};

/**
 * The default rollback target, or undefined when the label never held anything before: the entry under
 * the top of the stack, or with `eligible`, the nearest one below the top that it accepts.
 */
export const previousSha = (
  moves: readonly LabelMove[],
  eligible: (sha: string) => boolean = () => true,
): string | undefined => {
  const stack = heldStack(moves);
  const top = stack[stack.length - 1];
  // Below the top, a sha equal to it is no rollback (only a filter can skip down to one).
  for (let at = stack.length - 2; at >= 0; at -= 1) if (stack[at] !== top && eligible(stack[at]!)) return stack[at];
  return undefined;
};

/** Every sha the label ever held: the targets `rollback --to` accepts on an unprotected label. */
export const everHeld = (moves: readonly LabelMove[]): ReadonlySet<string> => {
  const held = new Set<string>();
  for (const move of moves) {
    if (move.fromSha !== null) held.add(move.fromSha);
    held.add(move.toSha);
  }
  return held;
};

/**
 * Moves that bring a version through a protected label's policy: a change request's merge (approved, its
 * eval gate passed) or a promote (refused on a protected label, and refused when the eval gate fails).
 * Break glass skips both; a rollback only returns to a version, so it neither grants nor removes this.
 */
const THROUGH_POLICY: ReadonlySet<DeploymentKind> = new Set(['merge', 'promote']);

/** The shas that reached the label through its policy at least once: a protected label's rollback targets. */
export const reviewedShas = (moves: readonly LabelMove[]): ReadonlySet<string> =>
  new Set(moves.filter((move) => THROUGH_POLICY.has(move.kind)).map((move) => move.toSha));

/**
 * What a rollback of a label may go to: on an unprotected label every sha it held, on a protected one only
 * those that reached it through its policy. `previous` is the default target; neither includes `current`.
 */
export const rollbackChoices = (
  moves: readonly LabelMove[],
  isProtected: boolean,
  current: string | null,
): {
  readonly eligible: (sha: string) => boolean;
  readonly previous: string | undefined;
  readonly targets: string[];
} => {
  const reviewed = isProtected ? reviewedShas(moves) : null;
  const eligible = (sha: string): boolean => reviewed === null || reviewed.has(sha);
  const targets = [...everHeld(moves)].filter((sha) => sha !== current && eligible(sha));
  return { eligible, previous: previousSha(moves, eligible), targets };
};

/** One label's rollback options, as the deployment history returns them (`rollback` beside `deployments`). */
export interface RollbackOptions {
  readonly label: string;
  readonly protected: boolean;
  /** Where `promptops rollback` goes without `--to`, or null when nowhere. */
  readonly previous: { readonly version: number; readonly sha: string } | null;
  /** Every version `--to` accepts now, oldest first (never the one the label serves). */
  readonly targets: readonly { readonly version: number; readonly sha: string }[];
}
