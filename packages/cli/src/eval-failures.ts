import { clipWords, flatten, wrapWords, type EvalRunInput, type EvalSuiteContent } from '@promptops/core';
import type { Output } from './output.js';

/**
 * The failure table of `promptops eval`: one row per failing assertion (or provider error, or case below
 * its threshold), the reason wrapped to the terminal between words rather than cut, so the part of the
 * answer a reason quotes is shown whole.
 */

/** When stdout is not a terminal (a pipe, CI logs). */
const DEFAULT_WIDTH = 100;
/** Below this the reason column would be unreadable: wider rows then. */
const MIN_TEXT_WIDTH = 40;
/** A provider's error can carry a whole response body; this much of it is plenty. */
const MAX_ERROR_CHARS = 1000;
const HEADER = ['suite', 'case', 'assertion', 'expected / got'] as const;

interface Failure {
  readonly suite: string;
  readonly id: string;
  readonly kind: 'error' | 'threshold' | string;
  readonly text: string;
}

const failuresOf = (runs: readonly { suite: EvalSuiteContent; run: EvalRunInput }[]): Failure[] => {
  const failures: Failure[] = [];
  for (const { run, suite } of runs) {
    for (const result of run.cases) {
      if (result.pass) continue;
      const base = { suite: suite.name, id: result.id };
      if (result.error !== null) {
        failures.push({ ...base, kind: 'error', text: clipWords(flatten(result.error), MAX_ERROR_CHARS) });
      }
      const failing = result.assertions.filter((a) => !a.pass);
      for (const a of failing) failures.push({ ...base, kind: a.type, text: a.reason });
      if (result.error === null && failing.length === 0) {
        failures.push({
          ...base,
          kind: 'threshold',
          text: `score ${result.score.toFixed(2)} below the case threshold`,
        });
      }
    }
  }
  return failures;
};

/** Prints the table (nothing when every case passed); `columns` is the terminal's width, if known. */
export const printFailures = (
  out: Output,
  runs: readonly { suite: EvalSuiteContent; run: EvalRunInput }[],
  columns: number | undefined,
): void => {
  const failures = failuresOf(runs);
  if (failures.length === 0) return;
  const widest = (pick: (f: Failure) => string, header: string): number =>
    Math.max(header.length, ...failures.map((f) => pick(f).length));
  const fixed = widest((f) => f.suite, HEADER[0]) + widest((f) => f.id, HEADER[1]) + widest((f) => f.kind, HEADER[2]);
  // Three column gaps of two spaces each.
  const textWidth = Math.max(MIN_TEXT_WIDTH, (columns ?? DEFAULT_WIDTH) - fixed - 6);
  const c = out.colors;
  const rows: string[][] = [];
  for (const f of failures) {
    const [first = '', ...rest] = wrapWords(flatten(f.text), textWidth);
    rows.push([f.suite, f.id, f.kind === 'error' ? c.red(f.kind) : f.kind, first]);
    for (const line of rest) rows.push(['', '', '', line]);
  }
  out.line();
  out.line(c.bold('Failures'));
  out.table(rows, [...HEADER]);
};
