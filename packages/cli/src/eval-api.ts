import type { EvalRunRecord, EvalSuiteContent, RunComparison } from '@promptops/core';

/** Response shapes of the eval routes in docs/api.md ("Eval suites, runs and the gate"); the records are core's. */

export interface PushSuiteResult {
  readonly name: string;
  readonly sha: string;
  readonly version: number;
  readonly created: boolean;
}

export interface EvalSuiteVersion {
  readonly name: string;
  readonly version: number;
  readonly sha: string;
  readonly prompt: string;
  readonly cases: number;
  readonly author: string;
  readonly message: string;
  readonly createdAt: string;
}

export interface EvalSuiteVersions {
  readonly name: string;
  readonly versions: readonly (EvalSuiteVersion & { readonly content: EvalSuiteContent })[];
}

/** A run without its cases, as lists show it. */
export type EvalRunListItem = Omit<EvalRunRecord, 'cases'>;

export interface EvalRunPage {
  readonly runs: readonly EvalRunListItem[];
  /** Pass as `before` for the next (older) page; null when this is the last. */
  readonly nextBefore: string | null;
}

export interface EvalRunQuery {
  readonly prompt?: string | undefined;
  readonly sha?: string | undefined;
  readonly suite?: string | undefined;
  readonly limit?: number | undefined;
  readonly before?: string | undefined;
}

export interface RunComparisonResult extends RunComparison {
  readonly base: EvalRunListItem;
  readonly candidate: EvalRunListItem;
}

export interface GateQuery {
  /** The candidate: v17, a sha prefix or a label. */
  readonly ref: string;
  /** The label the candidate would move to; its current sha is the regression base. */
  readonly label: string;
  /** Required suites, by name. */
  readonly suites: readonly string[];
}
