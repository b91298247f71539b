import { activeRamp, type Rollout, type RolloutConfig, type TargetingRule } from '@promptops/core';
import type { RolloutDecisionRow, RolloutRow } from './store.js';

/** The rollout as the API returns it. */
export interface RolloutView {
  readonly id: string;
  readonly name: string;
  readonly label: string;
  readonly mode: RolloutRow['mode'];
  readonly state: RolloutRow['state'];
  /** The share (%) applied now: 0 unless running or paused. */
  readonly ramp: number;
  readonly stepIndex: number;
  readonly steps: readonly number[];
  readonly stepStartedAt: string | null;
  readonly baselineSha: string | null;
  readonly candidate: { readonly sha: string; readonly version: number };
  readonly salt: string;
  readonly config: RolloutConfig;
  readonly reason: string | null;
  readonly createdBy: string;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly endedAt: string | null;
  /** Targeting rules tried before the ramp (docs/decisions/targeting.md); null: none. */
  readonly rules: readonly TargetingRule[] | null;
  /** The kill switch: everyone is served the baseline until resumed. */
  readonly killed: boolean;
}

export interface DecisionView {
  readonly id: number;
  readonly at: string;
  readonly action: RolloutDecisionRow['action'];
  readonly actor: string;
  readonly reason: string;
  readonly figures: unknown;
}

/** Core's rollout (the state machine's input) from a stored row. */
export const coreRollout = (row: RolloutRow): Rollout => ({
  id: row.id,
  salt: row.salt,
  state: row.state,
  stepIndex: row.stepIndex,
  stepStartedAt: row.stepStartedAt,
  reason: row.reason,
  config: row.config,
});

export const toRolloutView = (row: RolloutRow): RolloutView => ({
  id: row.id,
  name: row.name,
  label: row.label,
  mode: row.mode,
  state: row.state,
  ramp: activeRamp(coreRollout(row)),
  stepIndex: row.stepIndex,
  steps: row.config.steps,
  stepStartedAt: row.stepStartedAt,
  baselineSha: row.baselineSha,
  candidate: { sha: row.candidateSha, version: row.candidateVersion },
  salt: row.salt,
  config: row.config,
  reason: row.reason,
  createdBy: row.createdBy,
  createdAt: row.createdAt,
  updatedAt: row.updatedAt,
  endedAt: row.endedAt,
  rules: row.rules,
  killed: row.killed,
});

export const toDecisionView = (row: RolloutDecisionRow): DecisionView => ({
  id: row.id,
  at: row.at,
  action: row.action,
  actor: row.actor,
  reason: row.reason,
  figures: row.figures,
});

/** The audit actions of a rollout's changes; the change feed turns each into an `event: rollout`. */
export const ROLLOUT_AUDIT_ACTIONS = {
  start: 'rollout.started',
  advance: 'rollout.stepped',
  pause: 'rollout.paused',
  resume: 'rollout.resumed',
  abort: 'rollout.aborted',
  complete: 'rollout.completed',
  rules: 'rollout.rules_set',
  kill: 'rollout.killed',
} as const;

/**
 * An audit entry's data: what the change feed needs to send the rollout as the snapshot holds it
 * (`changes/events.ts` reads it back), and what a person reading the log wants.
 */
export const rolloutAuditData = (row: RolloutRow): Record<string, unknown> => ({
  name: row.name,
  label: row.label,
  rolloutId: row.id,
  mode: row.mode,
  state: row.state,
  ramp: activeRamp(coreRollout(row)),
  stepIndex: row.stepIndex,
  salt: row.salt,
  candidateSha: row.candidateSha,
  candidateVersion: row.candidateVersion,
  reason: row.reason,
  ...(row.rules === null ? {} : { rules: row.rules }),
  ...(row.killed ? { killed: true } : {}),
});
