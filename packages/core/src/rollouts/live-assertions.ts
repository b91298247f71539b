import { canonicalJson } from '../canonical.js';
import type { EvalAssertion, EvalSuiteContent } from '../eval-records.js';
import { runAssertion } from '../evals/assertions.js';

/**
 * Live assertions: a suite's deterministic assertions run on a live call's output. Only the assertions
 * every case of the suite carries (its `defaultTest`, folded into each case) apply to any call; a case's
 * own assertions belong to that case's input. Judged (`llm-rubric`), `latency`, `cost` and `similar`
 * assertions are left out: they need a model, figures of the eval run, or an expected answer.
 */

const NOT_LIVE = new Set(['llm-rubric', 'latency', 'cost', 'similar']);
const baseType = (type: string): string => (type.startsWith('not-') ? type.slice(4) : type);

/** The assertions of `suite` that apply to any live call, in the order the suite gives them. */
export const liveAssertionsOf = (suite: EvalSuiteContent): EvalAssertion[] => {
  const [first, ...rest] = suite.cases;
  if (first === undefined) return [];
  const keys = rest.map((c) => new Set(c.assert.map((a) => canonicalJson(a))));
  return first.assert.filter((a) => !NOT_LIVE.has(baseType(a.type)) && keys.every((set) => set.has(canonicalJson(a))));
};

/**
 * Whether one call's output passes every applicable assertion; null when none applies (no output, or
 * only `mentions-var` assertions naming variables the call did not set).
 */
export const passesLiveAssertions = (
  assertions: readonly EvalAssertion[],
  output: string | null,
  vars: Readonly<Record<string, unknown>> | null,
): boolean | null => {
  if (output === null) return null;
  const given = vars ?? {};
  const applicable = assertions.filter(
    (a) => baseType(a.type) !== 'mentions-var' || (given[String(a.value)] ?? null) !== null,
  );
  if (applicable.length === 0) return null;
  return applicable.every((a) => runAssertion(a, { output, vars: given, latencyMs: null, cost: null }).pass);
};
