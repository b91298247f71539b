import { PromptopsError, type EvalCaseResult, type EvalSuiteContent } from '@promptops/core';

/**
 * Re-scores uploaded cases against the registered suite: the client's `pass` and `score` per case are
 * never taken. Each case's weighted score is recomputed from its assertion results, with the weights
 * the suite configures (not the ones uploaded), and it passes when it had no provider error and the
 * score meets its threshold (the case's, else the suite's).
 *
 * This is the one seam for scoring uploads: core's assertion engine will replace the body so that each
 * assertion is also re-evaluated from the case's output; callers do not change.
 *
 * The caller has checked that the uploaded case ids are exactly the suite's.
 */
export const scoreUploadedCases = (suite: EvalSuiteContent, cases: readonly EvalCaseResult[]): EvalCaseResult[] => {
  const configured = new Map(suite.cases.map((c) => [c.id, c]));
  return cases.map((uploaded) => {
    const spec = configured.get(uploaded.id);
    if (spec === undefined) throw new Error(`case ${uploaded.id} is not in suite ${suite.name}`);
    const expectedTypes = spec.assert.map((a) => a.type);
    const gotTypes = uploaded.assertions.map((a) => a.type);
    if (expectedTypes.join('\u0000') !== gotTypes.join('\u0000')) {
      throw new PromptopsError(
        'unprocessable',
        'assertion_mismatch',
        `case '${uploaded.id}' of suite '${suite.name}': the results name assertions [${gotTypes.join(', ')}], but the suite configures [${expectedTypes.join(', ')}]`,
        {
          fix: 'upload one result per configured assertion, in the suite’s order (run the suite version you upload against)',
          details: { case: uploaded.id, expected: expectedTypes, got: gotTypes },
        },
      );
    }
    const assertions = uploaded.assertions.map((result, index) => ({
      ...result,
      weight: spec.assert[index]?.weight ?? 1,
    }));
    const totalWeight = assertions.reduce((sum, a) => sum + a.weight, 0);
    // No weighted assertion: nothing can fail but the provider call itself.
    const score = totalWeight === 0 ? 1 : assertions.reduce((sum, a) => sum + a.weight * a.score, 0) / totalWeight;
    const threshold = spec.threshold ?? suite.threshold;
    // A hair of tolerance, so 3 x (1/3) meets a threshold of 1.
    const pass = uploaded.error === null && score >= threshold - 1e-9;
    return { ...uploaded, assertions, score, pass };
  });
};
