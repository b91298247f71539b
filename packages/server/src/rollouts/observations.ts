import type { ArmPair, RolloutMetrics, ShadowPairInput } from '@promptops/core';

/**
 * What the traces say about a rollout's arms: the scheduler's and `show`'s only input from traces. The
 * traces store implements it (`rolloutObservations`); until a server has one, rollouts never advance on
 * their own (the scheduler holds them) and `show` has no figures.
 */
export interface ArmObservations {
  /** Guardrail figures per arm over the window (core's decide() input). */
  readonly metrics: RolloutMetrics;
  /** Calls per arm over the window. */
  readonly requests: ArmPair<number>;
  /** Distinct unit hashes per arm over the window, when known (the SRM test counts these, else calls). */
  readonly units?: ArmPair<number>;
  /** Calls per arm with no unit hash, left out of `units`. */
  readonly unitless?: ArmPair<number>;
}

export interface RolloutObservationSource {
  /** The rollout's traces at or after `sinceMs` (epoch milliseconds). */
  rolloutObservations(projectId: number, rolloutId: string, sinceMs: number): Promise<ArmObservations>;
  /** A shadow rollout's recorded pairs: how many, and the newest (at most `limit`). */
  shadowPairs?(
    projectId: number,
    rolloutId: string,
    options: { limit: number },
  ): Promise<{ readonly count: number; readonly pairs: readonly ShadowPairInput[] }>;
}
