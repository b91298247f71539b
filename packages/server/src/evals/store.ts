/**
 * The evals feature's store: suite versions, recorded runs and their cases (`kysely-store.ts`
 * implements it for both databases). Every row is append-only (triggers in both databases). Times are ISO-8601 text; JSON is text.
 * Every read takes the project id, so no query can reach another project's suites or runs.
 */

/** A suite is identified by (project, prompt, name); its versions count per that triple. */
export interface EvalSuiteRow {
  readonly projectId: number;
  readonly name: string;
  readonly version: number;
  readonly sha: string;
  /** The prompt the suite tests. */
  readonly prompt: string;
  /** The canonical JSON of the content, exactly as hashed. */
  readonly content: string;
  readonly author: string;
  readonly message: string;
  readonly createdAt: string;
}

export interface NewEvalSuite {
  readonly projectId: number;
  readonly name: string;
  readonly sha: string;
  readonly prompt: string;
  readonly content: string;
  readonly author: string;
  readonly message: string;
  readonly createdAt: string;
}

export interface EvalRunRow {
  readonly id: number;
  readonly projectId: number;
  readonly suiteName: string;
  readonly suiteSha: string;
  readonly suiteVersion: number;
  readonly promptName: string;
  readonly promptSha: string;
  readonly promptVersion: number;
  /** JSON text of the provider config. */
  readonly provider: string;
  readonly passed: boolean;
  readonly passRate: number;
  /** JSON text of the run summary. */
  readonly summary: string;
  readonly startedAt: string;
  readonly durationMs: number;
  readonly recordedBy: string;
  readonly recordedAt: string;
  /** The tenant whose effective prompt was tested, or null: the shared prompt. */
  readonly tenant: string | null;
  /** The effective content's sha (null for a shared run: `promptSha`). */
  readonly effectiveSha: string | null;
  readonly overrideSha: string | null;
}

export type NewEvalRun = Omit<EvalRunRow, 'id'>;

export interface EvalRunCaseRow {
  readonly caseId: string;
  readonly caseHash: string;
  readonly pass: boolean;
  readonly score: number;
  /** JSON text. */
  readonly vars: string;
  readonly output: string | null;
  readonly error: string | null;
  /** JSON text of the assertion results. */
  readonly assertions: string;
  readonly latencyMs: number | null;
  readonly inputTokens: number | null;
  readonly outputTokens: number | null;
  readonly cost: number | null;
  readonly cached: boolean;
}

export interface EvalRunFilter {
  readonly promptName?: string;
  /** A full sha or a prefix (matched as a range). */
  readonly promptShaPrefix?: string;
  readonly suiteName?: string;
}

/** The eval writes, inside a transaction (so the audit entry commits with the row). */
export interface EvalTx {
  /**
   * Inserts the suite version unless the suite already has this sha; returns the row and whether it was
   * created. Versions count up per (project, prompt, name); concurrent pushes never share a number.
   */
  insertEvalSuite(suite: NewEvalSuite): Promise<{ row: EvalSuiteRow; created: boolean }>;
  /** Inserts a run and its cases (in order); returns the run with its id. */
  insertEvalRun(run: NewEvalRun, cases: readonly EvalRunCaseRow[]): Promise<EvalRunRow>;
}

export interface EvalStore {
  /** The newest version of each suite of the project, by (name, prompt). */
  listEvalSuites(projectId: number): Promise<EvalSuiteRow[]>;
  /** Every version of the suites named `name` (of one prompt's, when given): by prompt, newest first. */
  listEvalSuiteVersions(projectId: number, name: string, prompt?: string): Promise<EvalSuiteRow[]>;
  /** The prompts that suites named `name` test, sorted. */
  listEvalSuitePrompts(projectId: number, name: string): Promise<string[]>;
  getEvalSuite(projectId: number, name: string, sha: string): Promise<EvalSuiteRow | undefined>;
  /** The newest version of the suite `name` of `prompt`. */
  latestEvalSuite(projectId: number, prompt: string, name: string): Promise<EvalSuiteRow | undefined>;

  /** Newest first, below `before` (a run id) when given. */
  listEvalRuns(
    projectId: number,
    filter: EvalRunFilter,
    page: { limit: number; before?: number },
  ): Promise<EvalRunRow[]>;
  getEvalRun(projectId: number, id: number): Promise<EvalRunRow | undefined>;
  /** The run's cases in their recorded order. */
  listEvalRunCases(runId: number): Promise<EvalRunCaseRow[]>;
  /** Just (case id, pass) of a run's cases: what the gate compares. */
  listEvalRunVerdicts(runId: number): Promise<{ caseId: string; pass: boolean }[]>;
  /** Just (case id, pass) of several runs' cases, by run id: the tenants' runs the gate compares. */
  listEvalRunVerdictsOf(runIds: readonly number[]): Promise<Map<number, { caseId: string; pass: boolean }[]>>;
  /**
   * The newest shared run (no tenant) of suite `suiteName` on prompt version `promptSha` (of that one suite
   * sha, when given). One index probe.
   */
  latestEvalRun(
    projectId: number,
    query: { readonly promptSha: string; readonly suiteName: string; readonly suiteSha?: string },
  ): Promise<EvalRunRow | undefined>;
  /**
   * The tenants' runs of suite version `suiteSha` on prompt version `promptSha`: the newest per (tenant,
   * effective sha). One query, whatever the number of tenants.
   */
  latestTenantRuns(
    projectId: number,
    query: { readonly promptSha: string; readonly suiteName: string; readonly suiteSha: string },
  ): Promise<EvalRunRow[]>;
}
