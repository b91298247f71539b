import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils.js';

/**
 * A unit's identity on a rollout's traces, so the sample-ratio check can count units rather than calls:
 * the first 16 hex characters (64 bits) of sha256 over the UTF-8 of `rolloutId:unitKey`. Never the key
 * itself (often a user id); salted by the rollout, so the same user is not linkable across rollouts.
 * 64 bits keep collisions out of the counts (at 10 million units, one collision has odds of 1 in 370,000).
 */

export const UNIT_HASH_LENGTH = 16;
export const UNIT_HASH_PATTERN = /^[0-9a-f]{16}$/;

// Portable (the rollouts entry stays free of node:crypto); callers with a faster digest pass it.
const portableSha256 = (text: string): string => bytesToHex(sha256(utf8ToBytes(text)));

/** `digest`: a faster sha256 hex (node:crypto's) where the caller has one; the result is the same. */
export const rolloutUnitHash = (
  rolloutId: string,
  unitKey: string,
  digest: (text: string) => string = portableSha256,
): string => digest(`${rolloutId}:${unitKey}`).slice(0, UNIT_HASH_LENGTH);

/** What the sample-ratio check counts for a step: decide()'s `stepUnits`, `unitsCounted`, `callsWithoutUnit`. */
export interface SrmCounts {
  readonly stepUnits: { readonly baseline: number; readonly candidate: number };
  readonly unitsCounted: 'units' | 'calls';
  readonly callsWithoutUnit: number;
}

/**
 * Distinct units per arm once any trace of the step carries one; calls without a unit (no unit key, so
 * the baseline; or an older SDK) are then left out and counted. When none carries one, calls stand in.
 */
export const srmCounts = (step: {
  readonly requests: { readonly baseline: number; readonly candidate: number };
  readonly units?: { readonly baseline: number; readonly candidate: number } | undefined;
  readonly unitless?: { readonly baseline: number; readonly candidate: number } | undefined;
}): SrmCounts => {
  const { units, unitless } = step;
  if (units === undefined || units.baseline + units.candidate === 0) {
    return { stepUnits: step.requests, unitsCounted: 'calls', callsWithoutUnit: 0 };
  }
  return {
    stepUnits: units,
    unitsCounted: 'units',
    callsWithoutUnit: unitless === undefined ? 0 : unitless.baseline + unitless.candidate,
  };
};
