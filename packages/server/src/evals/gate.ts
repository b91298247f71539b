import {
  casesFor,
  shortSha,
  type EvalGateSkipped,
  type EvalGateSuiteResult,
  type EvalGateVerdict,
  type EvalSuiteContent,
} from '@promptops/core';
import { BoundedCache } from '../bounded-cache.js';
import type { EvalRunRow, EvalStore, EvalSuiteRow } from './store.js';
import {
  checkTenants,
  tenantsToCheck,
  type TenantTarget,
  type TenantTargets,
  type TenantsVerdict,
} from './gate-tenants.js';

/**
 * The eval gate: may `sha` of `prompt` move to `label`? A required suite means the suite of that name that
 * tests `prompt` (suites are identified by prompt and name). One registered only for other prompts does not
 * apply: it is listed under `skipped`, and a prompt no required suite tests passes with nothing to run. One
 * registered for no prompt at all is `missing`: the policy names a suite nobody pushed yet. For each suite
 * that applies:
 *
 * - the suite's newest registered version is the one that counts (an older run does not satisfy a suite
 *   that has since gained cases); the verdict names its sha;
 * - the newest run of that suite version on exactly `sha` is the evidence; none is `missing`;
 * - its pass rate below the required one (the policy's, else the suite's own `passRate`) is `failed`;
 * - a case (by id) that passed in the newest run of the same suite (any version) on the label's current
 *   sha and fails now is a regression (`regressed`); without such a base run there is nothing to regress
 *   from; `failed` is reported first, and both lists are always filled;
 * - else `passed`.
 *
 * Runs count only when the registry recorded them: uploads need `evals:write` and are re-scored by the
 * server, so a client cannot claim a pass. Every read is scoped to the project and is one index probe.
 *
 * With `tenants`, every tenant whose override follows the label (and every tenant a case names) is checked
 * too, on the effective prompt the candidate would give it (gate-tenants.ts); a tenant that fails or has no
 * run on that effective sha fails the suite, named in its message.
 */

export interface EvalGateInput {
  readonly projectId: number;
  readonly prompt: string;
  /** The candidate version. */
  readonly sha: string;
  readonly label: string;
  /** What the label serves now; null when the label does not exist yet. */
  readonly labelSha: string | null;
  readonly suites: readonly { readonly suite: string; readonly passRate?: number }[];
}

export interface EvalGate {
  check(input: EvalGateInput): Promise<EvalGateVerdict>;
}

/** Case ids listed in a message before "and N more". */
const LISTED = 20;
/** Tolerance for float pass rates (2/3 meets a required 0.6666…). */
const EPSILON = 1e-9;

const list = (ids: readonly string[]): string =>
  ids.length <= LISTED ? ids.join(', ') : `${ids.slice(0, LISTED).join(', ')} and ${ids.length - LISTED} more`;

const percent = (rate: number): string => `${Math.round(rate * 1000) / 10}%`;

type SuiteStore = Pick<
  EvalStore,
  | 'latestEvalSuite'
  | 'listEvalSuitePrompts'
  | 'latestEvalRun'
  | 'listEvalRunVerdicts'
  | 'latestTenantRuns'
  | 'listEvalRunVerdictsOf'
>;

/** Folds the tenants' part into a suite's verdict: the shared failure first, then the tenants'. */
const withTenants = (result: EvalGateSuiteResult, tenants: TenantsVerdict | null): EvalGateSuiteResult => {
  if (tenants === null) return result;
  const failedTenants = tenants.failed;
  const status =
    result.status !== 'passed'
      ? result.status
      : failedTenants.some((t) => t.status === 'failed')
        ? 'failed'
        : failedTenants.length > 0
          ? 'missing'
          : 'passed';
  return {
    ...result,
    status,
    message: [result.message, tenants.message].filter((part) => part !== '').join('; '),
    tenants: { checked: tenants.checked, failed: failedTenants },
  };
};

export const createEvalGate = (storage: SuiteStore, tenantTargets?: TenantTargets): EvalGate => {
  // Suite versions are immutable: their parsed content is cached by sha.
  const contents = new BoundedCache<string, EvalSuiteContent>(500);
  const contentOf = (row: EvalSuiteRow): EvalSuiteContent => {
    const key = `${row.projectId}:${row.sha}`;
    const hit = contents.get(key);
    if (hit !== undefined) return hit;
    const parsed = JSON.parse(row.content) as EvalSuiteContent;
    contents.set(key, parsed);
    return parsed;
  };

  const checkSuite = async (
    input: EvalGateInput,
    required: { readonly suite: string; readonly passRate?: number },
    following: readonly TenantTarget[],
  ): Promise<EvalGateSuiteResult | EvalGateSkipped> => {
    const { projectId, sha, label, labelSha } = input;
    const name = required.suite;
    const suite = await storage.latestEvalSuite(projectId, input.prompt, name);
    if (suite === undefined) {
      const tests = await storage.listEvalSuitePrompts(projectId, name);
      if (tests.length > 0) {
        return {
          suite: name,
          tests,
          message: `suite '${name}' tests ${tests.join(', ')}, not ${input.prompt}: it does not apply`,
        };
      }
    }
    const missing = (suiteSha: string | null, requiredRate: number, message: string): EvalGateSuiteResult => ({
      suite: name,
      status: 'missing',
      runId: null,
      suiteSha,
      passRate: null,
      required: requiredRate,
      failedCases: [],
      regressedCases: [],
      cases: null,
      message,
    });
    if (suite === undefined) {
      return missing(
        null,
        required.passRate ?? 1,
        `suite '${name}' is not registered in this project: push a suite named ${name} with prompt: ${input.prompt}, and record a run on ${input.prompt} ${shortSha(sha)}`,
      );
    }
    const content = contentOf(suite);
    const requiredRate = required.passRate ?? content.passRate;
    const what = `suite '${name}' v${suite.version} (${shortSha(suite.sha)})`;
    const targets = tenantTargets === undefined ? [] : tenantsToCheck(following, sha, content);
    const tenants =
      targets.length === 0
        ? null
        : await checkTenants(storage, {
            projectId,
            prompt: input.prompt,
            sha,
            name,
            suiteSha: suite.sha,
            requiredRate,
            content,
            targets,
          });
    if (casesFor(content, null).length === 0 && tenants !== null) {
      // Every case names a tenant: there is no shared run to ask for.
      return withTenants({ ...missing(suite.sha, requiredRate, ''), status: 'passed', cases: null }, tenants);
    }
    const run = await storage.latestEvalRun(projectId, { promptSha: sha, suiteName: name, suiteSha: suite.sha });
    if (run === undefined) {
      const older = await storage.latestEvalRun(projectId, { promptSha: sha, suiteName: name });
      return withTenants(
        missing(
          suite.sha,
          requiredRate,
          older === undefined
            ? `${what} has no recorded run on ${input.prompt} ${shortSha(sha)}: run it (promptops eval) with a key that may write eval results`
            : `${what} has no recorded run on ${input.prompt} ${shortSha(sha)}; run #${older.id} used an older version of the suite (${shortSha(older.suiteSha)}): run it again`,
        ),
        tenants,
      );
    }

    const base: EvalRunRow | undefined =
      labelSha === null || labelSha === sha
        ? undefined
        : await storage.latestEvalRun(projectId, { promptSha: labelSha, suiteName: name });
    const [verdicts, baseVerdicts] = await Promise.all([
      storage.listEvalRunVerdicts(run.id),
      base === undefined ? Promise.resolve([]) : storage.listEvalRunVerdicts(base.id),
    ]);
    const failedCases = verdicts.filter((v) => !v.pass).map((v) => v.caseId);
    const failing = new Set(failedCases);
    const regressedCases = baseVerdicts.filter((v) => v.pass && failing.has(v.caseId)).map((v) => v.caseId);

    const rate = run.passRate;
    const passedCount = verdicts.length - failedCases.length;
    const parts = [`${what} run #${run.id}: ${passedCount}/${verdicts.length} cases passed (${percent(rate)})`];
    const belowRequired = rate < requiredRate - EPSILON;
    parts.push(
      belowRequired ? `below the required ${percent(requiredRate)}` : `meets the required ${percent(requiredRate)}`,
    );
    if (failedCases.length > 0) parts.push(`failed cases: ${list(failedCases)}`);
    if (base !== undefined && labelSha !== null) {
      parts.push(
        regressedCases.length > 0
          ? `regressed from ${label} (${shortSha(labelSha)}, run #${base.id}): ${list(regressedCases)}`
          : `no case regressed from ${label} (${shortSha(labelSha)}, run #${base.id})`,
      );
    } else if (labelSha !== null && labelSha !== sha) {
      parts.push(`no run of this suite on ${label} (${shortSha(labelSha)}) to compare against`);
    }
    return withTenants(
      {
        suite: name,
        status: belowRequired ? 'failed' : regressedCases.length > 0 ? 'regressed' : 'passed',
        runId: String(run.id),
        suiteSha: suite.sha,
        passRate: rate,
        required: requiredRate,
        failedCases,
        regressedCases,
        cases: { passed: passedCount, total: verdicts.length },
        message: parts.join('; '),
      },
      tenants,
    );
  };

  return {
    async check(input: EvalGateInput): Promise<EvalGateVerdict> {
      // The tenants following the label, read once for every suite.
      const following = tenantTargets === undefined || input.suites.length === 0 ? [] : await tenantTargets(input);
      const results = await Promise.all(input.suites.map((required) => checkSuite(input, required, following)));
      const suites = results.filter((r): r is EvalGateSuiteResult => 'status' in r);
      const skipped = results.filter((r): r is EvalGateSkipped => !('status' in r));
      return {
        passed: suites.every((s) => s.status === 'passed'),
        prompt: input.prompt,
        sha: input.sha,
        against: { label: input.label, sha: input.labelSha },
        suites,
        skipped,
      };
    },
  };
};
