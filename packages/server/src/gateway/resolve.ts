import {
  parsePromptContent,
  parseRef,
  resolveFromSnapshot,
  resolveTenant,
  type EvaluationContext,
  type Resolution,
  type Snapshot,
  type TenantResolution,
} from '@promptops/core';
import type { Actor } from '../context.js';
import type { SnapshotCache, SnapshotEntry } from '../changes/snapshot-cache.js';
import { unknownPrompt } from '../prompts/errors.js';
import { resolveRef } from '../prompts/resolve-ref.js';
import type { RegistryReads } from '../registry/store.js';

/**
 * The version a gateway call serves. The project's snapshot (the change feed's cache, at the caller's
 * stamp or later) answers labels and their rollouts through core's `resolveFromSnapshot`, the resolution
 * the SDKs run, so a unit gets the same arm from the gateway as from any SDK. A ref the snapshot lacks
 * (a version no label points at, or an unknown name) is read from the registry: pinned refs ignore
 * rollouts, and an unknown prompt or label is its registry error (404). A tenant gets its effective prompt
 * through core's `resolveTenant` on the same snapshot (only its own override; a pin gets none).
 */

/** What a call serves: `content` is the tenant's effective content; `sha` stays the base version's. */
export type GatewayResolution = Resolution & { readonly tenant: TenantResolution | null };

const ALL = {};

export const createGatewayResolver = (snapshots: SnapshotCache, registry: RegistryReads) => {
  /** One parse per serialized snapshot: entries are replaced (never mutated) when the stamp moves. */
  const parsed = new WeakMap<SnapshotEntry, Snapshot>();
  const snapshotOf = (entry: SnapshotEntry): Snapshot => {
    let snapshot = parsed.get(entry);
    if (snapshot === undefined) {
      snapshot = JSON.parse(entry.body.toString('utf8')) as Snapshot;
      parsed.set(entry, snapshot);
    }
    return snapshot;
  };

  const fromRegistry = async (actor: Actor, ref: string): Promise<Resolution> => {
    const at = ref.indexOf('@');
    const name = at === -1 ? ref : ref.slice(0, at);
    const prompt = await registry.getPrompt(actor.projectId, name);
    if (prompt === undefined || prompt.headSha === null) throw await unknownPrompt(registry, actor.projectId, name);
    const refText = at === -1 ? 'production' : ref.slice(at + 1);
    const row = await resolveRef(registry, prompt, refText);
    return {
      name,
      version: row.version,
      sha: row.sha,
      label: parseRef(refText).kind === 'label' ? refText : null,
      content: parsePromptContent(JSON.parse(row.content)),
      variant: 'base',
      rolloutId: null,
      shadow: null,
    };
  };

  return async (
    actor: Actor,
    ref: string,
    unitKey: string | null,
    tenant: string | null = null,
    context: EvaluationContext | null = null,
  ): Promise<GatewayResolution> => {
    const pending = snapshots.entry(actor, ALL);
    const entry = 'then' in pending ? await pending : pending;
    const snapshot = snapshotOf(entry);
    const options = context === null ? { unitKey } : { unitKey, context };
    const served = resolveFromSnapshot(snapshot, ref, options) ?? (await fromRegistry(actor, ref));
    if (tenant === null) return { ...served, tenant: null };
    const effective = resolveTenant(snapshot, served, tenant);
    return { ...served, content: effective.content, tenant: effective };
  };
};

export type GatewayResolver = ReturnType<typeof createGatewayResolver>;
