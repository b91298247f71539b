import { PromptopsError, noDriftViolations, type DriftCheckSuite, type ReviewChecks } from '@promptops/core';
import type { EvalStore } from '../evals/store.js';
import { offlineReport } from './offline.js';

/**
 * A change request's drift check: the offline report of each suite testing the prompt, on the request's
 * base (what the label served when it was opened; what it serves at merge) and the proposed version.
 * Required suites come first; the prompt's other suites are reported when both versions have runs of
 * them. `failed` only when a policy's `noDrift` descriptor drifted; `pending` when the policy asks for no
 * drift and a required suite (or every suite) lacks a run: both block a merge. Without `noDrift` the
 * check informs and never blocks.
 */

export interface DriftCheckInput {
  readonly projectId: number;
  readonly prompt: string;
  readonly base: { readonly sha: string; readonly version: number } | null;
  readonly proposed: { readonly sha: string; readonly version: number };
  /** The policy's required suites, in its order. */
  readonly requiredSuites: readonly string[];
  readonly noDrift: readonly string[];
}

export type DriftCheck = (input: DriftCheckInput) => Promise<ReviewChecks['drift']>;

type Reads = Pick<EvalStore, 'listEvalSuites' | 'latestEvalRun' | 'listEvalRunCases'>;

const notAvailable = (message: string, noDrift: readonly string[]): ReviewChecks['drift'] => ({
  status: 'not_available',
  message,
  noDrift,
  suites: [],
});

export const createDriftCheck =
  (evals: Reads): DriftCheck =>
  async ({ projectId, prompt, base, proposed, requiredSuites, noDrift }) => {
    if (base === null) return notAvailable('the label served nothing: no outputs to compare with', noDrift);
    if (base.sha === proposed.sha) return notAvailable('the request proposes what the label served', noDrift);
    const testing = (await evals.listEvalSuites(projectId)).filter((s) => s.prompt === prompt).map((s) => s.name);
    const required = requiredSuites.filter((name) => testing.includes(name));
    const others = testing.filter((name) => !required.includes(name)).sort();
    const suites: DriftCheckSuite[] = [];
    for (const suite of [...required, ...others]) {
      const isRequired = required.includes(suite);
      try {
        const report = await offlineReport(evals, projectId, prompt, base, proposed, suite);
        suites.push({
          suite,
          status: 'compared',
          required: isRequired,
          message: report.verdict,
          report,
          violations: noDriftViolations(report, noDrift),
        });
      } catch (error) {
        if (!(error instanceof PromptopsError && error.code === 'drift_run_missing')) throw error;
        // A suite nobody asked for and nobody ran on both versions is not worth a line.
        if (!isRequired) continue;
        suites.push({
          suite,
          status: 'missing',
          required: true,
          message: `${error.message}; ${error.fix ?? ''}`.trim(),
          report: null,
          violations: [],
        });
      }
    }
    const compared = suites.filter((s) => s.status === 'compared');
    const violations = suites.flatMap((s) => s.violations.map((name) => `${name} (${s.suite})`));
    const missing = suites.filter((s) => s.status === 'missing');
    const lines = suites.map((s) => `${s.suite}: ${s.message}`);
    if (suites.length === 0) {
      const message = `no suite of '${prompt}' has recorded runs on both v${base.version} and v${proposed.version}`;
      return noDrift.length === 0
        ? notAvailable(message, noDrift)
        : {
            status: 'pending',
            message: `${message}; the policy requires no drift on ${noDrift.join(', ')}: run a suite on both (promptops drift ${prompt} v${base.version} v${proposed.version} --suite SUITE)`,
            noDrift,
            suites,
          };
    }
    const status =
      violations.length > 0
        ? 'failed'
        : noDrift.length > 0 && (missing.length > 0 || compared.length === 0)
          ? 'pending'
          : 'passed';
    const head =
      violations.length > 0
        ? `drifted where the policy requires no drift: ${violations.join(', ')}; `
        : noDrift.length > 0 && status === 'passed'
          ? `no drift on ${noDrift.join(', ')}; `
          : '';
    return { status, message: `${head}${lines.join('; ')}`, noDrift, suites };
  };
