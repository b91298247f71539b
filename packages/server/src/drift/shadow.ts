import { PromptopsError, type DriftRequest } from '@promptops/core';
import { resolveRef } from '../prompts/resolve-ref.js';
import type { PromptRow, RegistryStore, VersionRow } from '../registry/store.js';
import type { RolloutReads } from '../rollouts/store.js';
import { invalid } from './errors.js';

/**
 * The versions of a shadow report: the rollout's baseline (A) and candidate (B). The rollout must be a
 * shadow one of this prompt; refs given in the request must name the same versions.
 */
export const shadowRollout = async (
  registry: RegistryStore,
  rollouts: Pick<RolloutReads, 'getRollout'>,
  projectId: number,
  prompt: PromptRow,
  request: DriftRequest,
): Promise<{ a: VersionRow; b: VersionRow }> => {
  const id = request.rollout!;
  const row = await rollouts.getRollout(projectId, id);
  if (row === undefined)
    throw new PromptopsError('not_found', 'rollout_not_found', `no rollout ${id} in this project`, {
      fix: 'list them: GET /api/v1/rollouts (promptops rollout list)',
      details: { rolloutId: id },
    });
  if (row.name !== prompt.name)
    throw invalid(
      'rollout',
      `${id} rolls out '${row.name}', not '${prompt.name}'`,
      `ask for the rollout's prompt: promptops drift ${row.name} --rollout ${id}`,
    );
  if (row.mode !== 'shadow' || row.baselineSha === null)
    throw invalid(
      'rollout',
      row.mode !== 'shadow'
        ? `${id} is a ${row.mode} rollout: only a shadow rollout records pairs (both versions on the same call)`
        : `${id} has no baseline: its label served nothing when it started, so no call was shadowed`,
      `compare its versions' traces instead: "source": "live" with "a" and "b"`,
    );
  const [a, b] = await Promise.all([
    resolveRef(registry, prompt, row.baselineSha),
    resolveRef(registry, prompt, row.candidateSha),
  ]);
  for (const [ref, version, role] of [
    ['a', a, 'baseline'],
    ['b', b, 'candidate'],
  ] as const) {
    const given = request[ref];
    if (given === undefined) continue;
    const named = await resolveRef(registry, prompt, given);
    if (named.sha !== version.sha)
      throw invalid(
        ref,
        `names v${named.version}, but rollout ${id}'s ${role} is v${version.version}`,
        `leave "${ref}" out: a shadow report compares the rollout's baseline and candidate`,
      );
  }
  return { a, b };
};
