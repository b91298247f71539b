import {
  PromptopsError,
  shortSha,
  type EvalGateVerdict,
  type EvalRunInput,
  type EvalRunRecord,
  type EvalSuiteContent,
} from '@promptops/core';
import { ApiError, type ApiClient } from './api-client.js';

export interface RecordedEvals {
  readonly records: readonly EvalRunRecord[];
  /** One verdict per prompt tested, when a label was named. */
  readonly gates: readonly EvalGateVerdict[];
}

/** A refusal while recording names what recording needs (pushing the suite, then the run), not one route. */
const recordingRefused = (error: unknown): unknown =>
  error instanceof ApiError && error.status === 403
    ? new ApiError(
        403,
        error.code,
        `recording eval runs needs a key with evals:write (role reviewer or above); the registry said: ${error.message}`,
        {
          fix: 'use a reviewer key (an admin creates one: promptops keys create ci-evals --role reviewer), or run without --upload and --against',
        },
      )
    : error;

/**
 * Records finished runs in the registry, where the server re-scores them. Each run carries its suite's
 * content: the registry registers the suite version (when new) and the run in one transaction, so a
 * refused upload leaves nothing behind. Then, with a label, asks the eval gate whether each tested
 * version may move to it, with the suites just run as the required ones.
 */
export const recordRuns = async (
  client: ApiClient,
  runs: readonly { readonly suite: EvalSuiteContent; readonly run: EvalRunInput }[],
  against: string | undefined,
): Promise<RecordedEvals> => {
  const records: EvalRunRecord[] = [];
  for (const { suite, run } of runs) {
    try {
      records.push(await client.uploadRun({ ...run, suite: { ...run.suite, content: suite } }));
    } catch (error) {
      if (error instanceof PromptopsError && error.code === 'version_not_found') {
        throw new PromptopsError(
          'not_found',
          'version_not_found',
          `${run.prompt.name} ${shortSha(run.prompt.sha)} (the version this run tested) is not in the registry`,
          {
            fix: `push the prompt first (promptops push), or test a registry version with --ref`,
          },
        );
      }
      throw recordingRefused(error);
    }
  }
  const gates: EvalGateVerdict[] = [];
  if (against !== undefined) {
    const tested = new Map<string, { sha: string; suites: string[] }>();
    for (const { run } of runs) {
      const entry = tested.get(run.prompt.name) ?? { sha: run.prompt.sha, suites: [] };
      entry.suites.push(run.suite.name);
      tested.set(run.prompt.name, entry);
    }
    for (const [name, { sha, suites }] of tested) {
      gates.push(await client.gate(name, { ref: sha, label: against, suites }));
    }
  }
  return { records, gates };
};
