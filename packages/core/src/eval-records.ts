/**
 * The public shapes of eval suites, runs and the eval gate (issue "the taste test"). The suite file
 * format is parsed into `EvalSuiteContent` (normalized, datasets expanded); its sha is the sha256 of its
 * canonical JSON, like a prompt version's. Runs are what a runner produces and the registry records.
 */

/** One assertion as configured in a suite (promptfoo-compatible names). */
export interface EvalAssertion {
  /** e.g. `contains`, `not-contains`, `regex`, `json-schema`, `mentions-var`, `llm-rubric`. */
  readonly type: string;
  /** The expected value, pattern, schema, variable name or rubric, depending on the type. */
  readonly value?: unknown;
  /** Per-type threshold (e.g. `similar`: minimum similarity; `latency`: maximum ms). */
  readonly threshold?: number;
  /** Weight in the case's weighted score; default 1. */
  readonly weight?: number;
  /** Extra per-type options (e.g. `length`: `{ unit, min, max }`). */
  readonly options?: Readonly<Record<string, unknown>>;
}

export interface EvalCase {
  /** Stable within the suite; comparisons between runs match cases by id. */
  readonly id: string;
  readonly description?: string;
  readonly vars: Readonly<Record<string, unknown>>;
  readonly assert: readonly EvalAssertion[];
  /** A case passes when its weighted score is at least this (0..1); default: the suite's. */
  readonly threshold?: number;
  /**
   * The tenant whose effective prompt (the base with its override) this case tests; it runs for that
   * tenant only. Without one the case runs for the shared prompt and for every tenant with an override.
   */
  readonly tenant?: string;
}

export interface EvalProviderConfig {
  /** `simulated`, `openai` (any OpenAI-compatible base URL), `anthropic`. */
  readonly id: string;
  readonly model: string;
  readonly params: Readonly<Record<string, unknown>>;
}

/** What a suite's sha is computed over. */
export interface EvalSuiteContent {
  readonly name: string;
  /** The prompt under test. */
  readonly prompt: string;
  readonly provider: EvalProviderConfig;
  /** Default per-case threshold (weighted score, 0..1). */
  readonly threshold: number;
  /** The share of cases that must pass for the run to pass (0..1). */
  readonly passRate: number;
  readonly cases: readonly EvalCase[];
}

export interface AssertionResult {
  readonly type: string;
  readonly pass: boolean;
  /** 0..1 */
  readonly score: number;
  readonly weight: number;
  /** What was expected and what came. */
  readonly reason: string;
}

export interface EvalCaseResult {
  readonly id: string;
  /** sha256 of the case's canonical JSON (vars, assertions, threshold). */
  readonly caseHash: string;
  readonly vars: Readonly<Record<string, unknown>>;
  readonly output: string | null;
  /** The provider failed (after retries); the case fails. */
  readonly error: string | null;
  readonly pass: boolean;
  /** Weighted score 0..1. */
  readonly score: number;
  readonly assertions: readonly AssertionResult[];
  readonly latencyMs: number | null;
  readonly usage: { readonly inputTokens: number | null; readonly outputTokens: number | null };
  readonly cost: number | null;
  /** The output came from the result cache (no provider call). */
  readonly cached: boolean;
}

export interface EvalRunSummary {
  readonly total: number;
  readonly passed: number;
  readonly failed: number;
  /** Cases whose provider call failed. */
  readonly errors: number;
  readonly passRate: number;
  /** Mean case score. */
  readonly score: number;
  readonly inputTokens: number;
  readonly outputTokens: number;
  readonly cost: number;
}

/** What a runner produces (and what `POST /api/v1/evals/runs` accepts). */
export interface EvalRunInput {
  /**
   * The suite version run. An upload may carry its `content`: the registry then registers that version
   * (when new) and the run in one transaction, so a refused run leaves no suite version behind.
   */
  readonly suite: { readonly name: string; readonly sha: string; readonly content?: EvalSuiteContent };
  readonly prompt: { readonly name: string; readonly sha: string; readonly version: number | null };
  readonly provider: EvalProviderConfig;
  readonly cases: readonly EvalCaseResult[];
  readonly startedAt: string;
  readonly durationMs: number;
  /**
   * A tenant's run: its cases were rendered against the tenant's effective prompt (`prompt.sha` stays the
   * base version's). Absent or null: the shared prompt.
   */
  readonly tenant?: EvalRunTenant | null;
}

/** Which tenant's effective prompt a run tested. */
export interface EvalRunTenant {
  readonly id: string;
  /** The sha of the effective content the cases were rendered with (the base sha without an override). */
  readonly effectiveSha: string;
  /** The override applied; null when the tenant has none on this label. */
  readonly overrideSha: string | null;
}

/** A run as the registry recorded it. `passed` and `summary` are computed by whoever records, never taken from a client. */
export interface EvalRunRecord extends EvalRunInput {
  readonly id: string;
  readonly passed: boolean;
  readonly summary: EvalRunSummary;
  readonly recordedBy: string;
  readonly recordedAt: string;
}

export interface RunComparison {
  /** Case ids that passed in the base run and fail in the candidate. */
  readonly regressions: readonly string[];
  /** Case ids that failed in the base run and pass in the candidate. */
  readonly fixes: readonly string[];
  readonly stillFailing: readonly string[];
  /** Case ids only the candidate has / only the base has. */
  readonly added: readonly string[];
  readonly removed: readonly string[];
}

export type EvalGateStatus = 'passed' | 'failed' | 'regressed' | 'missing';

export interface EvalGateSuiteResult {
  readonly suite: string;
  readonly status: EvalGateStatus;
  /** The run the verdict rests on (null when missing). */
  readonly runId: string | null;
  readonly suiteSha: string | null;
  readonly passRate: number | null;
  /** The pass rate the policy (or the suite) requires. */
  readonly required: number;
  readonly failedCases: readonly string[];
  /** Cases that pass on the label's current sha and fail on the candidate. */
  readonly regressedCases: readonly string[];
  /** How many cases of the run passed, of how many (null when missing). */
  readonly cases: { readonly passed: number; readonly total: number } | null;
  readonly message: string;
  /** The tenants' effective prompts checked with this suite; absent when there were none. */
  readonly tenants?: EvalGateTenants;
}

/** The tenant part of a suite's verdict: how many were checked, and those that did not pass. */
export interface EvalGateTenants {
  readonly checked: number;
  readonly failed: readonly EvalGateTenantResult[];
}

export interface EvalGateTenantResult {
  readonly tenant: string;
  readonly status: 'failed' | 'missing';
  /** The effective sha the candidate gives this tenant: the one a run must have tested. */
  readonly effectiveSha: string;
  readonly runId: string | null;
  readonly failedCases: readonly string[];
  readonly message: string;
}

/** A required suite that does not apply: the suites of that name test other prompts only. */
export interface EvalGateSkipped {
  readonly suite: string;
  /** The prompts suites of that name test. */
  readonly tests: readonly string[];
  readonly message: string;
}

export interface EvalGateVerdict {
  /** Every applicable suite passed (true when none applies). */
  readonly passed: boolean;
  readonly prompt: string;
  readonly sha: string;
  /** The label compared against and the sha it serves now (null when the label is new). */
  readonly against: { readonly label: string; readonly sha: string | null } | null;
  /** The required suites that test this prompt (or are registered for no prompt: `missing`). */
  readonly suites: readonly EvalGateSuiteResult[];
  /** The required suites that test other prompts only, so they do not apply to this one. */
  readonly skipped: readonly EvalGateSkipped[];
}

/** A run without its cases, as lists show it. */
export type EvalRunListItem = Omit<EvalRunRecord, 'cases'>;

/** One registered version of a suite, as lists show it. A suite is identified by (prompt, name). */
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

/** `POST /api/v1/evals/suites`. Versions count per (prompt, name). */
export interface PushSuiteResult {
  readonly name: string;
  readonly prompt: string;
  readonly sha: string;
  readonly version: number;
  readonly created: boolean;
}

/** `GET /api/v1/evals/suites/:name[?prompt=P]`: by prompt, then newest first. */
export interface EvalSuiteVersions {
  readonly name: string;
  readonly versions: readonly (EvalSuiteVersion & { readonly content: EvalSuiteContent })[];
}

/** `GET /api/v1/evals/runs`. */
export interface EvalRunPage {
  readonly runs: readonly EvalRunListItem[];
  /** Pass as `before` for the next (older) page; null when this is the last. */
  readonly nextBefore: string | null;
}

/** `GET /api/v1/evals/runs/:id/compare/:baseId`. */
export interface RunComparisonResult extends RunComparison {
  readonly base: EvalRunListItem;
  readonly candidate: EvalRunListItem;
}

/** What a refusal says: the message of every suite that did not pass, one after the other. */
export const gateFailureMessages = (verdict: EvalGateVerdict): string =>
  verdict.suites
    .filter((suite) => suite.status !== 'passed')
    .map((suite) => suite.message)
    .join('; ');

const byId = (cases: readonly EvalCaseResult[]): Map<string, EvalCaseResult> => new Map(cases.map((c) => [c.id, c]));

/** Which cases regressed (pass -> fail) and which were fixed (fail -> pass) from `base` to `candidate`. */
export const compareRuns = (
  base: { readonly cases: readonly EvalCaseResult[] },
  candidate: { readonly cases: readonly EvalCaseResult[] },
): RunComparison => {
  const before = byId(base.cases);
  const after = byId(candidate.cases);
  const regressions: string[] = [];
  const fixes: string[] = [];
  const stillFailing: string[] = [];
  const added: string[] = [];
  for (const [id, result] of after) {
    const previous = before.get(id);
    if (previous === undefined) added.push(id);
    else if (previous.pass && !result.pass) regressions.push(id);
    else if (!previous.pass && result.pass) fixes.push(id);
    else if (!previous.pass && !result.pass) stillFailing.push(id);
  }
  const removed = [...before.keys()].filter((id) => !after.has(id));
  return { regressions, fixes, stillFailing, added, removed };
};

/** Totals of a run's cases; `passRate` of an empty run is 0. */
export const summarizeRun = (cases: readonly EvalCaseResult[]): EvalRunSummary => {
  const passed = cases.filter((c) => c.pass).length;
  const sum = (pick: (c: EvalCaseResult) => number | null): number =>
    cases.reduce((total, c) => total + (pick(c) ?? 0), 0);
  return {
    total: cases.length,
    passed,
    failed: cases.length - passed,
    errors: cases.filter((c) => c.error !== null).length,
    passRate: cases.length === 0 ? 0 : passed / cases.length,
    score: cases.length === 0 ? 0 : sum((c) => c.score) / cases.length,
    inputTokens: sum((c) => c.usage.inputTokens),
    outputTokens: sum((c) => c.usage.outputTokens),
    cost: sum((c) => c.cost),
  };
};
