import type { EvalGateVerdict } from '@promptops/core';

/**
 * The seam through which review checks a policy's required eval suites. The evals feature implements it
 * (`evals/gate.ts`, `createEvalGate(storage)`); until then `missingEvalGate` reports every required suite
 * as `missing`, so a policy that requires suites cannot be merged yet (break glass still can).
 */
export interface EvalGate {
  check(input: {
    readonly projectId: number;
    readonly prompt: string;
    readonly sha: string;
    readonly label: string;
    readonly labelSha: string | null;
    readonly suites: readonly { readonly suite: string; readonly passRate?: number }[];
  }): Promise<EvalGateVerdict>;
}

export const missingEvalGate: EvalGate = {
  check: async (input) => ({
    passed: input.suites.length === 0,
    prompt: input.prompt,
    sha: input.sha,
    against: { label: input.label, sha: input.labelSha },
    suites: input.suites.map(({ suite, passRate }) => ({
      suite,
      status: 'missing',
      runId: null,
      suiteSha: null,
      passRate: null,
      required: passRate ?? 1,
      failedCases: [],
      regressedCases: [],
      message: `no results for suite '${suite}' on ${input.sha.slice(0, 7)}: eval results are not available on this server yet`,
    })),
  }),
};
