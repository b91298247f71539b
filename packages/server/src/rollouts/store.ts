import type { RolloutConfig, RolloutMode, RolloutState, TargetingRule } from '@promptops/core';
import type { TxScope } from '../storage/transaction.js';

/**
 * The rollouts feature's store: rollouts (mutable state) and their decisions (append-only, the history of
 * every start, step, pause and abort with its figures). `kysely-store.ts` implements it for both
 * databases. A write here comes with an audit entry in the same transaction (`tx.registry.appendAudit`).
 */

export interface RolloutRow {
  readonly id: string;
  readonly projectId: number;
  readonly promptId: number;
  /** The prompt's name (joined). */
  readonly name: string;
  readonly label: string;
  readonly mode: RolloutMode;
  /** What the label served when the rollout started (null: it served nothing). */
  readonly baselineSha: string | null;
  readonly candidateSha: string;
  readonly candidateVersion: number;
  readonly salt: string;
  readonly config: RolloutConfig;
  readonly state: RolloutState;
  readonly stepIndex: number;
  readonly stepStartedAt: string | null;
  readonly reason: string | null;
  readonly createdBy: string;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly endedAt: string | null;
  /** Targeting rules tried before the ramp; null: none. */
  readonly rules: readonly TargetingRule[] | null;
  /** The kill switch: everyone is served the baseline. */
  readonly killed: boolean;
}

export type NewRollout = Omit<RolloutRow, 'name' | 'updatedAt' | 'endedAt' | 'rules' | 'killed'>;

export type RolloutPatch = Partial<
  Pick<RolloutRow, 'state' | 'stepIndex' | 'stepStartedAt' | 'reason' | 'endedAt' | 'rules' | 'killed'>
> & {
  readonly updatedAt: string;
};

export type DecisionAction =
  'start' | 'advance' | 'hold' | 'pause' | 'resume' | 'abort' | 'complete' | 'manual-advance' | 'rules' | 'kill';

export interface RolloutDecisionRow {
  readonly id: number;
  readonly rolloutId: string;
  readonly projectId: number;
  readonly at: string;
  readonly action: DecisionAction;
  /** A person's name, or `system:rollouts` for the scheduler. */
  readonly actor: string;
  readonly reason: string;
  /** What the decision was made on (core's RolloutDecision for the scheduler's), or null. */
  readonly figures: unknown;
}

export type NewRolloutDecision = Omit<RolloutDecisionRow, 'id'>;

/** An active rollout with its candidate's canonical JSON, for the snapshot. */
export interface SnapshotRolloutRow extends RolloutRow {
  readonly candidateContent: string;
}

export interface RolloutFilter {
  readonly promptId?: number;
  readonly label?: string;
  readonly state?: RolloutState;
  readonly limit: number;
}

export interface RolloutReads {
  getRollout(projectId: number, id: string): Promise<RolloutRow | undefined>;
  /** Newest first. */
  listRollouts(projectId: number, filter: RolloutFilter): Promise<RolloutRow[]>;
  /** The draft, running or paused rollout of (prompt, label), if any. */
  activeRollout(projectId: number, promptId: number, label: string): Promise<RolloutRow | undefined>;
  /** Running and paused rollouts of the project with their candidate's content (the snapshot's). */
  snapshotRollouts(projectId: number): Promise<SnapshotRolloutRow[]>;
  /** Every running rollout of every project (the scheduler's work), oldest first. */
  runningRollouts(): Promise<RolloutRow[]>;
  /** Oldest first. */
  listDecisions(projectId: number, rolloutId: string): Promise<RolloutDecisionRow[]>;
}

export interface RolloutTx extends RolloutReads {
  /** The rollout, locked for the rest of the transaction where the database locks rows. */
  lockRollout(projectId: number, id: string): Promise<RolloutRow | undefined>;
  /** A second active rollout of the same (prompt, label) is a StorageConflictError (unique index). */
  insertRollout(row: NewRollout): Promise<RolloutRow>;
  updateRollout(projectId: number, id: string, patch: RolloutPatch): Promise<RolloutRow>;
  insertDecision(row: NewRolloutDecision): Promise<RolloutDecisionRow>;
}

export interface RolloutStore extends RolloutReads {
  inTransaction(scope: TxScope): RolloutTx;
}
