import { PromptopsError } from '../errors.js';
import type { RolloutConfig } from './config.js';

/**
 * A rollout's life: draft → running ⇄ paused → completed | aborted. Completed moves the label to the
 * candidate (the server does that through the promote path); aborted stops serving the candidate.
 * Both are final: a new attempt is a new rollout.
 */

export const ROLLOUT_STATES = ['draft', 'running', 'paused', 'completed', 'aborted'] as const;
export type RolloutState = (typeof ROLLOUT_STATES)[number];

export type RolloutAction = 'start' | 'pause' | 'resume' | 'advance' | 'complete' | 'abort';

/** Each action: the states it may be taken from, and the state it leads to. */
export const ROLLOUT_TRANSITIONS: Readonly<Record<RolloutAction, { from: readonly RolloutState[]; to: RolloutState }>> =
  {
    start: { from: ['draft'], to: 'running' },
    pause: { from: ['running'], to: 'paused' },
    resume: { from: ['paused'], to: 'running' },
    advance: { from: ['running'], to: 'running' },
    complete: { from: ['running'], to: 'completed' },
    abort: { from: ['draft', 'running', 'paused'], to: 'aborted' },
  };

export interface Rollout {
  readonly id: string;
  /** Hashed with each unit key; the id unless changed on purpose to reshuffle (see assignment.ts). */
  readonly salt: string;
  readonly state: RolloutState;
  readonly stepIndex: number;
  /** When the current step (re)started, ISO 8601; null while a draft. */
  readonly stepStartedAt: string | null;
  /** Why it was last paused, aborted or completed. */
  readonly reason: string | null;
  readonly config: RolloutConfig;
}

export const newRollout = (id: string, config: RolloutConfig, salt: string = id): Rollout => ({
  id,
  salt,
  state: 'draft',
  stepIndex: 0,
  stepStartedAt: null,
  reason: null,
  config,
});

/** The share (%) the rollout applies now: running or paused, its step's; otherwise 0 (once completed,
 * the label itself serves the candidate). In a split it is the share of units in the candidate; in a
 * shadow, the share of calls copied to the candidate. */
export const activeRamp = (rollout: Rollout): number =>
  rollout.state === 'running' || rollout.state === 'paused' ? (rollout.config.steps[rollout.stepIndex] ?? 0) : 0;

export const canTransition = (state: RolloutState, action: RolloutAction): boolean =>
  ROLLOUT_TRANSITIONS[action].from.includes(state);

const refuse = (rollout: Rollout, action: RolloutAction, why: string, fix: string): never => {
  throw new PromptopsError('conflict', 'rollout_transition_invalid', `cannot ${action} rollout ${rollout.id}: ${why}`, {
    fix,
    details: { rolloutId: rollout.id, state: rollout.state, action, stepIndex: rollout.stepIndex },
  });
};

/** The rollout after `action` at `now`; an action its state does not allow is rollout_transition_invalid. */
export const transitionRollout = (rollout: Rollout, action: RolloutAction, now: Date, reason?: string): Rollout => {
  const { from, to } = ROLLOUT_TRANSITIONS[action];
  if (!from.includes(rollout.state)) {
    const final = rollout.state === 'completed' || rollout.state === 'aborted';
    refuse(
      rollout,
      action,
      `it is ${rollout.state}, and ${action} applies only to a rollout that is ${from.join(' or ')}`,
      final
        ? 'a finished rollout stays as it is: start a new rollout'
        : `${ROLLOUT_TRANSITIONS.resume.from.includes(rollout.state) ? 'resume' : 'start'} it first`,
    );
  }
  const at = now.toISOString();
  switch (action) {
    case 'start':
      return { ...rollout, state: to, stepIndex: 0, stepStartedAt: at, reason: null };
    case 'resume':
      // The step serves its whole duration again: what was seen while paused proves nothing.
      return { ...rollout, state: to, stepStartedAt: at, reason: null };
    case 'advance':
      if (rollout.stepIndex + 1 >= rollout.config.steps.length) {
        refuse(
          rollout,
          action,
          `it is at its last step (${String(rollout.config.steps[rollout.stepIndex])} %)`,
          'complete it instead',
        );
      }
      return { ...rollout, stepIndex: rollout.stepIndex + 1, stepStartedAt: at };
    default:
      return { ...rollout, state: to, reason: reason ?? null };
  }
};
