import { PromptopsError } from '../errors.js';
import { murmur3Utf8 } from './murmur3.js';

/**
 * Sticky assignment of units (users, sessions, tenants) to a rollout's arms: murmur3 x86 32-bit, seed 0,
 * over the UTF-8 bytes of `salt:unitKey`, bucket = hash mod 10,000, candidate when bucket < ramp x 100.
 * The salt is the rollout's id unless changed on purpose (which reshuffles every unit). A higher ramp
 * only adds buckets, so raising it never moves a unit back to the baseline. Vectors:
 * conformance/assignment.json; the decision is in docs/decisions/rollout-assignment.md.
 */

export type Arm = 'baseline' | 'candidate';

export const ASSIGNMENT_BUCKETS = 10_000;

export interface Assignment {
  readonly arm: Arm;
  /** 0..9999, or null when the call had no unit key (it is served the baseline and counted). */
  readonly bucket: number | null;
}

/** The text whose UTF-8 bytes are hashed. */
export const assignmentInput = (salt: string, unitKey: string): string => `${salt}:${unitKey}`;

export const assignmentBucket = (salt: string, unitKey: string): number =>
  murmur3Utf8(assignmentInput(salt, unitKey)) % ASSIGNMENT_BUCKETS;

/** Buckets in the candidate at `ramp` percent (0..100, at most two decimals: one bucket is 0.01 %). */
export const rampThreshold = (ramp: number, field = 'ramp'): number => {
  const buckets = Math.round(ramp * 100);
  if (!Number.isFinite(ramp) || ramp < 0 || ramp > 100 || Math.abs(ramp * 100 - buckets) > 1e-6) {
    throw new PromptopsError(
      'invalid',
      'invalid_rollout',
      `${field} must be a percentage from 0 to 100 with at most two decimals, got ${String(ramp)}`,
      {
        fix: `give ${field} as e.g. 1, 5, 12.5 or 0.01 (one bucket in 10,000)`,
      },
    );
  }
  return buckets;
};

/** The arm of `unitKey` at `ramp` percent; no unit key (absent or "") is the baseline. */
export const assignArm = (salt: string, unitKey: string | null | undefined, ramp: number): Assignment => {
  const threshold = rampThreshold(ramp);
  if (unitKey === undefined || unitKey === null || unitKey === '') return { arm: 'baseline', bucket: null };
  const bucket = assignmentBucket(salt, unitKey);
  return { arm: bucket < threshold ? 'candidate' : 'baseline', bucket };
};
