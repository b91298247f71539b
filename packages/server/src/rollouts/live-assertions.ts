import {
  liveAssertionsOf,
  passesLiveAssertions,
  type EvalAssertion,
  type EvalSuiteContent,
  type ProportionStats,
} from '@promptops/core';
import type { EvalStore } from '../evals/store.js';
import type { TraceStore } from '../traces/store.js';
import type { ArmObservations, RolloutObservationSource } from './observations.js';
import type { RolloutStore } from './store.js';

/**
 * The traces' figures plus the live assertions: the deterministic assertions of the suites of the
 * rollout's prompt (core's liveAssertionsOf) run on each call's output with its variables, counted per
 * arm as `assertion_pass_rate` and marked on the shadow pairs. Verdicts are kept in memory per (trace,
 * suite versions), at most `cacheSize`, oldest dropped first: a look re-reads outputs but reruns nothing.
 */

const OUTPUTS_READ = 20_000;

type Source = Pick<TraceStore, 'rolloutObservations' | 'rolloutOutputs' | 'shadowPairs'>;

export const withLiveAssertions = (
  traces: Source,
  stores: { readonly evals: Pick<EvalStore, 'listEvalSuites'>; readonly rollouts: Pick<RolloutStore, 'getRollout'> },
  options: { readonly cacheSize?: number } = {},
): RolloutObservationSource => {
  const cacheSize = options.cacheSize ?? 100_000;
  const verdicts = new Map<string, boolean | null>();

  const assertionsFor = async (
    projectId: number,
    rolloutId: string,
  ): Promise<{ key: string; assertions: EvalAssertion[] } | undefined> => {
    const rollout = await stores.rollouts.getRollout(projectId, rolloutId);
    if (rollout === undefined) return undefined;
    const suites = (await stores.evals.listEvalSuites(projectId)).filter((s) => s.prompt === rollout.name);
    const assertions = suites.flatMap((s) => liveAssertionsOf(JSON.parse(s.content) as EvalSuiteContent));
    if (assertions.length === 0) return undefined;
    return { key: suites.map((s) => s.sha).join(','), assertions };
  };

  const verdict = (
    projectId: number,
    suites: { key: string; assertions: EvalAssertion[] },
    call: { id: string; output: string | null; variables: Record<string, unknown> | null },
  ): boolean | null => {
    const key = `${projectId}:${call.id}:${suites.key}`;
    const known = verdicts.get(key);
    if (known !== undefined) return known;
    const passed = passesLiveAssertions(suites.assertions, call.output, call.variables);
    verdicts.set(key, passed);
    if (verdicts.size > cacheSize) verdicts.delete(verdicts.keys().next().value as string);
    return passed;
  };

  return {
    async rolloutObservations(projectId, rolloutId, sinceMs): Promise<ArmObservations> {
      const figures = await traces.rolloutObservations(projectId, rolloutId, sinceMs);
      const suites = await assertionsFor(projectId, rolloutId);
      if (suites === undefined) return figures;
      const rate = { baseline: { count: 0, events: 0 }, candidate: { count: 0, events: 0 } };
      for (const call of await traces.rolloutOutputs(projectId, rolloutId, sinceMs, OUTPUTS_READ)) {
        const passed = verdict(projectId, suites, call);
        if (passed === null) continue;
        const arm: ProportionStats = rate[call.arm];
        rate[call.arm] = { count: arm.count + 1, events: arm.events + (passed ? 1 : 0) };
      }
      return { ...figures, metrics: { ...figures.metrics, assertion_pass_rate: rate } };
    },
    async shadowPairs(projectId, rolloutId, options) {
      const found = await traces.shadowPairs(projectId, rolloutId, options);
      const suites = await assertionsFor(projectId, rolloutId);
      if (suites === undefined) return found;
      return {
        count: found.count,
        pairs: found.pairs.map((pair) => ({
          ...pair,
          baseline: {
            ...pair.baseline,
            passed: verdict(projectId, suites, { ...pair.baseline, variables: pair.variables }),
          },
          candidate: {
            ...pair.candidate,
            passed: verdict(projectId, suites, { ...pair.candidate, variables: pair.variables }),
          },
        })),
      };
    },
  };
};
