import type { DeploymentKind } from './records.js';

/**
 * Where a rollback goes. The label's history is replayed as a stack of shas it held: a forward move
 * pushes, a rollback to a sha still on the stack pops back to it. The default target is the entry under
 * the top, so rolling back twice goes to the version before the previous one, never back to the bad one.
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

/** The default rollback target, or undefined when the label never held anything before. */
export const previousSha = (moves: readonly LabelMove[]): string | undefined => {
  const stack = heldStack(moves);
  return stack.length >= 2 ? stack[stack.length - 2] : undefined;
};

/** Every sha the label ever held: the only targets `rollback --to` accepts. */
export const everHeld = (moves: readonly LabelMove[]): ReadonlySet<string> => {
  const held = new Set<string>();
  for (const move of moves) {
    if (move.fromSha !== null) held.add(move.fromSha);
    held.add(move.toSha);
  }
  return held;
};
