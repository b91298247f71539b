import {
  PromptopsError,
  buildDriftReport,
  shortSha,
  type DriftOptions,
  type DriftPair,
  type DriftReport,
  type DriftRequest,
} from '@promptops/core';
import type { EvalStore } from '../evals/store.js';
import type { VersionRow } from '../registry/store.js';
import { pairRunCases } from './pairs.js';

type Version = Pick<VersionRow, 'sha' | 'version'>;

/** Why an offline report cannot be built: a version without a recorded run of the suite. */
export const runMissing = (
  prompt: string,
  suite: string,
  missing: readonly Version[],
  refs: { readonly a: string; readonly b: string },
): PromptopsError => {
  const which = missing.map((v) => `v${v.version} (${shortSha(v.sha)})`).join(' and ');
  return new PromptopsError(
    'conflict',
    'drift_run_missing',
    `suite '${suite}' has no recorded run on ${which} of '${prompt}': an offline drift report pairs the outputs of a run on each version`,
    {
      fix: `run it and record it: \`promptops drift ${prompt} ${refs.a} ${refs.b} --suite ${suite}\` runs the missing suite runs first (or \`promptops eval run --upload\` on each version)`,
      details: { suite, missing: missing.map((v) => ({ version: v.version, sha: v.sha })) },
    },
  );
};

/**
 * The pairs of an offline report of `suite` on versions A and B: the newest recorded run of the suite on
 * each, paired by case id (pairs.ts). Throws 409 drift_run_missing when a version has no recorded run of it.
 */
export const offlinePairs = async (
  evals: Pick<EvalStore, 'latestEvalRun' | 'listEvalRunCases'>,
  projectId: number,
  prompt: string,
  a: Version,
  b: Version,
  suite: string,
  refs: { readonly a: string; readonly b: string } = { a: `v${a.version}`, b: `v${b.version}` },
): Promise<DriftPair[]> => {
  const [runA, runB] = await Promise.all(
    [a, b].map((v) => evals.latestEvalRun(projectId, { promptSha: v.sha, suiteName: suite })),
  );
  const missing = [runA === undefined ? a : null, runB === undefined ? b : null].filter((v) => v !== null);
  if (missing.length > 0) throw runMissing(prompt, suite, missing, refs);
  const [casesA, casesB] = await Promise.all([evals.listEvalRunCases(runA!.id), evals.listEvalRunCases(runB!.id)]);
  return pairRunCases(casesA, casesB).pairs;
};

/** The offline report of `suite` on versions A and B (offlinePairs), without embeddings. */
export const offlineReport = async (
  evals: Pick<EvalStore, 'latestEvalRun' | 'listEvalRunCases'>,
  projectId: number,
  prompt: string,
  a: Version,
  b: Version,
  suite: string,
  options: DriftRequest['options'] = {},
  refs: { readonly a: string; readonly b: string } = { a: `v${a.version}`, b: `v${b.version}` },
): Promise<DriftReport> =>
  buildDriftReport({
    versions: { a: `v${a.version}`, b: `v${b.version}` },
    source: 'offline',
    pairs: await offlinePairs(evals, projectId, prompt, a, b, suite, refs),
    // Partial minSamples are merged with the defaults by core's input check.
    options: options as Partial<DriftOptions>,
  });
