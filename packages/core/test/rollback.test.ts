import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  DEPLOYMENT_KINDS,
  everHeld,
  heldStack,
  previousSha,
  reviewedShas,
  rollbackChoices,
  type DeploymentKind,
  type LabelMove,
} from '../src/index.js';

/** Records label moves the way the server does: each move starts from what the label held. */
class Label {
  readonly moves: LabelMove[] = [];
  constructor(private held: string | null = null) {}

  move(toSha: string, kind: DeploymentKind = 'promote'): this {
    this.moves.push({ fromSha: this.held, toSha, kind });
    this.held = toSha;
    return this;
  }

  promote(...shas: string[]): this {
    for (const sha of shas) this.move(sha, 'promote');
    return this;
  }

  /** `promptops rollback`: to the default target, which must exist. */
  rollback(kind: DeploymentKind = 'rollback'): string {
    const target = previousSha(this.moves);
    if (target === undefined) throw new Error('nothing to roll back to');
    this.move(target, kind);
    return target;
  }

  get current(): string | null {
    return this.held;
  }
}

describe('previousSha', () => {
  it('is undefined for a label that never held anything before', () => {
    expect(previousSha([])).toBeUndefined();
    expect(previousSha(new Label().promote('A').moves)).toBeUndefined();
  });

  it('promote A, promote B -> A', () => {
    expect(previousSha(new Label().promote('A', 'B').moves)).toBe('A');
  });

  it('after rolling back to A, the next rollback goes to the one before A, never back to B', () => {
    const label = new Label().promote('Z', 'A', 'B');
    expect(label.rollback()).toBe('A');
    expect(label.current).toBe('A');
    expect(previousSha(label.moves)).toBe('Z');
    expect(label.rollback()).toBe('Z');
    expect(previousSha(label.moves)).toBeUndefined();
    expect(heldStack(label.moves)).toEqual(['Z']);
  });

  it('with only A and B, rolling back to A leaves nothing to roll back to (not B)', () => {
    const label = new Label().promote('A', 'B');
    label.rollback();
    expect(previousSha(label.moves)).toBeUndefined();
  });

  it('treats an automatic rollback like a rollback', () => {
    const label = new Label().promote('A', 'B', 'C');
    expect(label.rollback('auto-rollback')).toBe('B');
    expect(previousSha(label.moves)).toBe('A');
  });

  it('treats promotes, pushes, rollout steps and break-glass moves as forward moves', () => {
    const label = new Label().move('A', 'push').move('B', 'rollout-step').move('C', 'break-glass').move('D', 'promote');
    expect(heldStack(label.moves)).toEqual(['A', 'B', 'C', 'D']);
    expect(previousSha(label.moves)).toBe('C');
  });

  it('does not count a move to the sha the label already holds', () => {
    expect(previousSha(new Label().promote('A', 'B', 'B').moves)).toBe('A');
  });

  it('counts promoting an older sha again as a forward move', () => {
    const label = new Label().promote('A', 'B', 'A');
    expect(heldStack(label.moves)).toEqual(['A', 'B', 'A']);
    expect(previousSha(label.moves)).toBe('B');
  });

  it('starts from the fromSha of the first record when the history begins mid-way', () => {
    const label = new Label('X').promote('A');
    expect(label.moves[0]).toEqual({ fromSha: 'X', toSha: 'A', kind: 'promote' });
    expect(previousSha(label.moves)).toBe('X');
    expect(everHeld(label.moves)).toEqual(new Set(['X', 'A']));
    expect(label.rollback()).toBe('X');
    expect(previousSha(label.moves)).toBeUndefined();
  });

  it('uses only the first fromSha: later ones follow from the moves themselves', () => {
    const moves: LabelMove[] = [
      { fromSha: 'X', toSha: 'A', kind: 'promote' },
      { fromSha: 'A', toSha: 'B', kind: 'promote' },
    ];
    expect(heldStack(moves)).toEqual(['X', 'A', 'B']);
  });
});

describe('rollback --to (everHeld)', () => {
  it('accepts every sha the label ever held, and nothing else', () => {
    const label = new Label().promote('A', 'B', 'C');
    label.rollback();
    expect(everHeld(label.moves)).toEqual(new Set(['A', 'B', 'C']));
    expect(everHeld(label.moves).has('D')).toBe(false);
    expect(everHeld([])).toEqual(new Set());
  });

  it('rolling back to an older sha pops everything above it', () => {
    const label = new Label().promote('A', 'B', 'C', 'D');
    label.move('B', 'rollback');
    expect(heldStack(label.moves)).toEqual(['A', 'B']);
    expect(previousSha(label.moves)).toBe('A');
  });

  it('rolling "back" to a sha no longer on the stack moves forward to it', () => {
    const label = new Label().promote('A', 'B', 'C');
    label.move('A', 'rollback'); // stack: A
    label.move('C', 'rollback'); // C was held, so allowed; it is not below A, so it is pushed
    expect(heldStack(label.moves)).toEqual(['A', 'C']);
    expect(previousSha(label.moves)).toBe('A');
  });

  it('a rollback to the sha the label holds changes nothing', () => {
    const label = new Label().promote('A', 'B');
    label.move('B', 'rollback');
    expect(heldStack(label.moves)).toEqual(['A', 'B']);
  });
});

const shaArb = fc.constantFrom('A', 'B', 'C', 'D', 'E');

describe('previousSha: properties', () => {
  it('after any sequence of promotes, is the second-to-last distinct held sha', () => {
    fc.assert(
      fc.property(fc.array(shaArb, { maxLength: 20 }), (shas) => {
        const moves = new Label().promote(...shas).moves;
        const held = shas.filter((sha, index) => index === 0 || shas[index - 1] !== sha);
        expect(previousSha(moves)).toBe(held.length >= 2 ? held[held.length - 2] : undefined);
      }),
    );
  });

  it('repeated rollbacks walk back through distinct promotes one at a time, never forward', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.string({ minLength: 1, maxLength: 4 }), { minLength: 1, maxLength: 10 }),
        fc.nat({ max: 10 }),
        (shas, rollbacks) => {
          const label = new Label().promote(...shas);
          const steps = Math.min(rollbacks, shas.length - 1);
          const left = new Set<string>();
          for (let step = 1; step <= steps; step += 1) {
            left.add(label.current!);
            const target = label.rollback();
            expect(target).toBe(shas[shas.length - 1 - step]);
            expect(left.has(target)).toBe(false);
          }
          const expected = shas.length - 2 - steps;
          expect(previousSha(label.moves)).toBe(expected >= 0 ? shas[expected] : undefined);
        },
      ),
    );
  });

  it('for any history, the target is a sha the label held, and not the one it holds now', () => {
    const moveArb = fc.record({
      sha: shaArb,
      kind: fc.constantFrom(...DEPLOYMENT_KINDS),
    });
    fc.assert(
      fc.property(fc.option(shaArb, { nil: null }), fc.array(moveArb, { maxLength: 25 }), (start, steps) => {
        const label = new Label(start);
        for (const { sha, kind } of steps) label.move(sha, kind);
        const target = previousSha(label.moves);
        const stack = heldStack(label.moves);
        for (let i = 1; i < stack.length; i += 1) expect(stack[i]).not.toBe(stack[i - 1]);
        if (label.moves.length > 0) expect(stack.at(-1)).toBe(label.current);
        if (target !== undefined) {
          expect(everHeld(label.moves).has(target)).toBe(true);
          expect(target).not.toBe(label.current);
        }
      }),
    );
  });
});

describe('rollbackChoices: a protected label goes back only to versions that came through its policy', () => {
  it('skips break-glass versions for the default target and leaves them out of the targets', () => {
    const label = new Label().promote('A').move('B', 'merge').move('C', 'break-glass').move('D', 'break-glass');
    const choices = rollbackChoices(label.moves, true, 'D');
    expect(choices.previous).toBe('B');
    expect(choices.targets.sort()).toEqual(['A', 'B']);
    expect(choices.eligible('C')).toBe(false);
    expect(reviewedShas(label.moves)).toEqual(new Set(['A', 'B']));
  });

  it('a rollback neither grants nor removes eligibility', () => {
    const unprotected = new Label().promote('A').move('B', 'break-glass');
    unprotected.move('A', 'rollback').move('B', 'rollback');
    expect(reviewedShas(unprotected.moves)).toEqual(new Set(['A']));
    const label = new Label().promote('A').move('B', 'merge').move('A', 'rollback').move('B', 'auto-rollback');
    expect(rollbackChoices(label.moves, true, 'B').targets).toEqual(['A']);
  });

  it('never offers the sha the label holds, even when it lies below the top', () => {
    const label = new Label().promote('A').move('B', 'break-glass').promote('A');
    expect(heldStack(label.moves)).toEqual(['A', 'B', 'A']);
    expect(rollbackChoices(label.moves, true, 'A')).toMatchObject({ previous: undefined, targets: [] });
    expect(rollbackChoices(label.moves, false, 'A')).toMatchObject({ previous: 'B', targets: ['B'] });
  });

  it('on an unprotected label is exactly previousSha and everHeld', () => {
    const moveArb = fc.record({ sha: shaArb, kind: fc.constantFrom(...DEPLOYMENT_KINDS) });
    fc.assert(
      fc.property(fc.array(moveArb, { maxLength: 25 }), (steps) => {
        const label = new Label();
        for (const { sha, kind } of steps) label.move(sha, kind);
        const choices = rollbackChoices(label.moves, false, label.current);
        expect(choices.previous).toBe(previousSha(label.moves));
        expect(new Set(choices.targets)).toEqual(
          new Set([...everHeld(label.moves)].filter((sha) => sha !== label.current)),
        );
      }),
    );
  });

  it('on a protected label, every target came through the policy and the default is one of them', () => {
    const moveArb = fc.record({ sha: shaArb, kind: fc.constantFrom(...DEPLOYMENT_KINDS) });
    fc.assert(
      fc.property(fc.array(moveArb, { maxLength: 25 }), (steps) => {
        const label = new Label();
        for (const { sha, kind } of steps) label.move(sha, kind);
        const choices = rollbackChoices(label.moves, true, label.current);
        const reviewed = reviewedShas(label.moves);
        for (const sha of choices.targets) expect(reviewed.has(sha)).toBe(true);
        if (choices.previous !== undefined) expect(choices.targets).toContain(choices.previous);
      }),
    );
  });
});
