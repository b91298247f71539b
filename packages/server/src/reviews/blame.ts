import { blameChain, type BlameResult, type PromptContent } from '@promptops/core';
import type { Actor } from '../context.js';
import { unknownPrompt } from '../prompts/errors.js';
import { resolveRef } from '../prompts/resolve-ref.js';
import type { DeploymentRow, VersionRow } from '../registry/store.js';
import type { RegistryReads } from '../registry/store.js';
import type { ReviewReads } from './store.js';

/**
 * `blame`: for each line of what a label serves (or of any version), the version that introduced it along
 * the parent chain, its author and time, and how that version reached the label (a change request, a
 * promote, a break glass). The line mapping is core's `blameChain`; this reads the chain and the history.
 */

const MAX_CHAIN = 10_000;

/** The stores the blame service reads. */
export interface BlameStores {
  readonly registry: RegistryReads;
  readonly reviews: ReviewReads;
}

export const createBlameService = ({ registry, reviews }: BlameStores) => ({
  async blame(actor: Actor, name: string, input: { label?: string; ref?: string }): Promise<BlameResult> {
    const prompt = await registry.getPrompt(actor.projectId, name);
    if (!prompt || prompt.headSha === null) throw await unknownPrompt(registry, actor.projectId, name);
    const label = input.ref === undefined ? (input.label ?? 'production') : (input.label ?? null);
    const target = await resolveRef(registry, prompt, input.ref ?? label ?? 'production');

    const chain: VersionRow[] = [target];
    for (let parent = target.parentSha; parent !== null && chain.length < MAX_CHAIN;) {
      const row = await registry.getVersionBySha(prompt.id, parent);
      if (row === undefined) break;
      chain.push(row);
      parent = row.parentSha;
    }
    chain.reverse();
    const lines = blameChain(chain.map((row) => ({ version: row, content: JSON.parse(row.content) as PromptContent })));

    // A line shipped with the first label move to a version at or after the one that introduced it
    // (intermediate versions may never have been on the label).
    const position = new Map(chain.map((row, index) => [row.sha, index]));
    const moves: { at: number; deployment: DeploymentRow }[] = [];
    const requestByDeployment = new Map<number, number>();
    if (label !== null) {
      for (const d of await registry.listDeployments(prompt.id, { label })) {
        const at = position.get(d.toSha);
        if (at !== undefined) moves.push({ at, deployment: d });
      }
      for (const cr of await reviews.listMergedChangeRequests(prompt.id)) {
        if (cr.deploymentId !== null) requestByDeployment.set(cr.deploymentId, cr.id);
      }
    }
    const shipping = (origin: string): DeploymentRow | undefined => {
      const from = position.get(origin) ?? Infinity;
      return moves.find((move) => move.at >= from)?.deployment;
    };
    return {
      name,
      label,
      version: target.version,
      sha: target.sha,
      lines: lines.map((line, index) => {
        const deployed = shipping(line.origin.sha);
        return {
          line: index + 1,
          message: line.message,
          text: line.text,
          version: line.origin.version,
          sha: line.origin.sha,
          author: line.origin.author,
          createdAt: line.origin.createdAt,
          commitMessage: line.origin.message,
          changeRequest: deployed === undefined ? null : (requestByDeployment.get(deployed.id) ?? null),
          deployedBy:
            deployed === undefined ? null : { kind: deployed.kind, actor: deployed.actor, at: deployed.createdAt },
        };
      }),
    };
  },
});

export type BlameService = ReturnType<typeof createBlameService>;
