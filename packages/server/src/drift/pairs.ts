import type { DriftOutput, DriftPair, DriftSample } from '@promptops/core';
import type { EvalRunCaseRow } from '../evals/store.js';
import type { ShadowPairRows, ShadowSide, TraceRow } from '../traces/store.js';

/**
 * Recorded outputs to the drift report's input: eval run cases paired by case id (offline), a shadow
 * rollout's trace pairs (shadow), traces as unpaired samples (live). Pure, so the pairing rules are tested without a database.
 */

const parseObject = (text: string | null): Record<string, unknown> => {
  if (text === null) return {};
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : {};
  } catch {
    return {};
  }
};

/** Assertion results by name: the type, numbered from the second of a type on (`icontains`, `icontains.2`). */
const assertionsOf = (text: string): Record<string, boolean> => {
  let results: unknown;
  try {
    results = JSON.parse(text);
  } catch {
    return {};
  }
  if (!Array.isArray(results)) return {};
  const seen = new Map<string, number>();
  const named: Record<string, boolean> = {};
  for (const result of results as { type?: unknown; pass?: unknown }[]) {
    if (typeof result?.type !== 'string' || typeof result.pass !== 'boolean') continue;
    const n = (seen.get(result.type) ?? 0) + 1;
    seen.set(result.type, n);
    named[n === 1 ? result.type : `${result.type}.${n}`] = result.pass;
  }
  return named;
};

const caseOutput = (row: EvalRunCaseRow & { output: string }): DriftOutput => ({
  output: row.output,
  tokens: row.outputTokens,
  latencyMs: row.latencyMs,
  assertions: assertionsOf(row.assertions),
});

export interface PairedCases {
  readonly pairs: DriftPair[];
  /** Case ids left out: in one run only, changed between the runs' suite versions, or without an output. */
  readonly unpaired: string[];
}

/**
 * Pairs two runs' cases by case id, in A's order. A case pairs only when both runs hold it with the same
 * case hash (same variables and assertions) and both produced an output.
 */
export const pairRunCases = (a: readonly EvalRunCaseRow[], b: readonly EvalRunCaseRow[]): PairedCases => {
  const byId = new Map(b.map((row) => [row.caseId, row]));
  const pairs: DriftPair[] = [];
  const unpaired: string[] = [];
  for (const left of a) {
    const right = byId.get(left.caseId);
    byId.delete(left.caseId);
    if (right === undefined || right.caseHash !== left.caseHash || left.output === null || right.output === null) {
      unpaired.push(left.caseId);
      continue;
    }
    pairs.push({
      id: left.caseId,
      vars: parseObject(left.vars),
      a: caseOutput(left as EvalRunCaseRow & { output: string }),
      b: caseOutput(right as EvalRunCaseRow & { output: string }),
    });
  }
  unpaired.push(...byId.keys());
  return { pairs, unpaired };
};

/** A trace as an unpaired sample: its output, the variables it was rendered with, tokens and latency. */
export const traceSample = (row: TraceRow & { output: string }): DriftSample => ({
  output: row.output,
  vars: parseObject(row.variables),
  tokens: row.outputTokens,
  latencyMs: row.latencyMs,
});

const shadowOutput = (side: ShadowSide & { output: string }): DriftOutput => ({
  output: side.output,
  tokens: side.outputTokens ?? null,
  latencyMs: side.latencyMs,
});

/**
 * A shadow rollout's recorded pairs (newest first) as drift pairs, oldest first, named by the baseline
 * trace. A pair counts when both calls succeeded with an output; the shadow ran on the baseline call's
 * variables.
 */
export const shadowTracePairs = (rows: ShadowPairRows['pairs']): DriftPair[] =>
  rows
    .filter(
      (row) =>
        row.baseline.status === 'ok' &&
        row.candidate.status === 'ok' &&
        row.baseline.output !== null &&
        row.candidate.output !== null,
    )
    .map((row) => ({
      id: row.baseline.id,
      vars: row.variables ?? {},
      a: shadowOutput(row.baseline as ShadowSide & { output: string }),
      b: shadowOutput(row.candidate as ShadowSide & { output: string }),
    }))
    .reverse();
