/**
 * The rollouts entry (`@promptops/core/rollouts`): sticky assignment, plans and states, guardrail
 * statistics and decide(), without the rest of core (no schema or template libraries), so an SDK can
 * resolve arms on every `get` cheaply.
 */
export * from './rollouts/index.js';
export * from './rollout-records.js';
