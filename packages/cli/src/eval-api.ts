/** Query shapes of the eval routes (docs/api.md, "Eval suites, runs and the gate"); the response shapes are core's. */

export interface EvalRunQuery {
  readonly prompt?: string | undefined;
  readonly sha?: string | undefined;
  readonly suite?: string | undefined;
  readonly limit?: number | undefined;
  readonly before?: string | undefined;
}

export interface GateQuery {
  /** The candidate: v17, a sha prefix or a label. */
  readonly ref: string;
  /** The label the candidate would move to; its current sha is the regression base. */
  readonly label: string;
  /** Required suites, by name. */
  readonly suites: readonly string[];
}
