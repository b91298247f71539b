import {
  PromptopsError,
  isJudgedAssertion,
  runAssertion,
  scoreCase,
  type AssertionResult,
  type EvalCaseResult,
  type EvalSuiteContent,
} from '@promptops/core';

/**
 * Re-scores uploaded cases against the registered suite: nothing the client says about a verdict is
 * taken. Every assertion is evaluated again by core's engine from the case's output, with the suite's
 * variables, values, weights and thresholds (not the uploaded ones); the case passes when it had no
 * provider error and its assertions meet its threshold (the case's, else the suite's). The one
 * exception is `llm-rubric`: re-judging would call a model, so the uploaded judge verdict stands in for
 * the judge (judged again against the suite's threshold) — trusted as far as the uploading key is.
 *
 * A case with a provider error may come without assertion results (it had no output): it is recorded as
 * an error, every assertion failing for want of output.
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
    // A case whose provider failed had no output to assert on: the runner sends it without results.
    const erroredWithout = uploaded.error !== null && gotTypes.length === 0;
    if (!erroredWithout && expectedTypes.join('\u0000') !== gotTypes.join('\u0000')) {
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
    const output = uploaded.error === null ? (uploaded.output ?? '') : null;
    const assertions = spec.assert.map((assertion, index): AssertionResult => {
      const weight = assertion.weight ?? 1;
      if (output === null) {
        return { type: assertion.type, pass: false, score: 0, weight, reason: `no output: ${uploaded.error}` };
      }
      const judged = uploaded.assertions[index]!;
      // The judge's own verdict, un-negated for a `not-` rubric (whose result was the opposite of it).
      const negated = assertion.type.startsWith('not-');
      const score = Math.min(1, Math.max(0, judged.score));
      const verdict = isJudgedAssertion(assertion.type.replace(/^not-/, ''))
        ? { verdict: { pass: negated !== judged.pass, score: negated ? 1 - score : score, reason: judged.reason } }
        : {};
      return runAssertion(assertion, {
        output,
        vars: spec.vars,
        latencyMs: uploaded.latencyMs,
        cost: uploaded.cost,
        ...verdict,
      });
    });
    const { pass, score } = scoreCase(assertions, spec.threshold ?? suite.threshold);
    return { ...uploaded, vars: spec.vars, assertions, score, pass: output !== null && pass };
  });
};
