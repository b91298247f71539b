import {
  LATEST_LABEL,
  PromptopsError,
  canonicalJson,
  diffPrompts,
  promptSha,
  shortSha,
  validatePromptContent,
  type DiffResult,
  type PromptContent,
  type PromptDetail,
  type PromptListItem,
  type PushResult,
  type VersionPage,
  type VersionRecord,
  type VersionRecordWithLabels,
  type VersionSummary,
} from '@promptops/core';
import type { Actor, Clock } from '../context.js';
import { BoundedCache } from '../bounded-cache.js';
import type { LabelRow, PromptRow, RegistryStore, RegistryTx, VersionRow } from '../registry/store.js';
import type { Transaction } from '../storage/transaction.js';
import { unknownPrompt } from './errors.js';
import { toLabelRecord, toVersionRecord, toVersionSummary } from './mappers.js';
import { resolveRef } from './resolve-ref.js';

export interface PushInput {
  readonly content: unknown;
  /** The head the author built on: the prompt's current head sha, or null for a new prompt. */
  readonly parent: string | null;
  readonly message?: string;
}

const MAX_MESSAGE_LENGTH = 2000;

export type PromptService = ReturnType<typeof createPromptService>;

const CACHE_SIZE = 2000;
/** Characters of version content the caches below may hold in all (versions go up to ~1 Mi each). */
const CONTENT_CACHE_CHARS = 32 * 1024 * 1024;

/** The stores the prompt service uses. */
export interface PromptStores {
  readonly registry: RegistryStore;
  readonly transaction: Transaction<{ readonly registry: RegistryTx }>;
}

export const createPromptService = ({ registry, transaction }: PromptStores, clock: Clock) => {
  const requirePrompt = async (actor: Actor, name: string): Promise<PromptRow> => {
    const prompt = await registry.getPrompt(actor.projectId, name);
    if (!prompt || prompt.headSha === null) throw await unknownPrompt(registry, actor.projectId, name);
    return prompt;
  };

  // The read hot path (a version by label) touches the database only for what can change: the labels.
  // A prompt's id never changes once it has a version, and versions are immutable, so both are cached.
  const promptIds = new BoundedCache<string, Pick<PromptRow, 'id' | 'name' | 'headVersion'>>(CACHE_SIZE);
  const versions = new BoundedCache<string, { row: VersionRow; record: VersionRecord }>(
    CACHE_SIZE,
    CONTENT_CACHE_CHARS,
  );
  const promptHandle = async (actor: Actor, name: string): Promise<Pick<PromptRow, 'id' | 'name' | 'headVersion'>> => {
    const key = `${actor.projectId}\u0000${name}`;
    const cached = promptIds.get(key);
    if (cached) return cached;
    const prompt = await requirePrompt(actor, name);
    promptIds.set(key, { id: prompt.id, name: prompt.name, headVersion: prompt.headVersion });
    return prompt;
  };
  const cachedVersion = async (promptId: number, sha: string): Promise<VersionRow | undefined> => {
    const key = `${promptId}:${sha}`;
    const hit = versions.get(key);
    if (hit) return hit.row;
    const row = await registry.getVersionBySha(promptId, sha);
    if (row) versions.set(key, { row, record: toVersionRecord(row) }, row.content.length);
    return row;
  };
  // Labels move, so they are cached only together with the project stamp they were read at.
  const labelCache = new BoundedCache<number, { stamp: number; labels: LabelRow[] }>(CACHE_SIZE);
  const labelsAt = async (promptId: number, stamp: number): Promise<LabelRow[]> => {
    const hit = labelCache.get(promptId);
    if (hit !== undefined && hit.stamp === stamp) return hit.labels;
    const labels = await registry.listLabels(promptId);
    labelCache.set(promptId, { stamp, labels });
    return labels;
  };
  // The read hot path's answer, serialized once per (prompt, ref) and change stamp: a label can move and
  // the version's label list can change only with the stamp.
  const shownJson = new BoundedCache<string, { stamp: number; json: string }>(CACHE_SIZE, CONTENT_CACHE_CHARS);
  const recordOf = (row: VersionRow): VersionRecord =>
    versions.get(`${row.promptId}:${row.sha}`)?.record ?? toVersionRecord(row);

  /** Inserts the version, moves `latest`, and audits it; the caller holds the prompt lock. */
  const appendVersion = async (
    tx: RegistryTx,
    actor: Actor,
    prompt: PromptRow,
    content: PromptContent,
    sha: string,
    message: string,
  ): Promise<VersionSummary> => {
    const at = clock.now().toISOString();
    const version = prompt.headVersion + 1;
    const row = await tx.insertVersion({
      projectId: actor.projectId,
      promptId: prompt.id,
      version,
      sha,
      content: canonicalJson(content),
      parentSha: prompt.headSha,
      author: actor.name,
      message,
      createdAt: at,
    });
    await tx.setPromptHead(prompt.id, version, sha, at);
    const previous = await tx.getLabel(prompt.id, LATEST_LABEL);
    await tx.setLabel({ promptId: prompt.id, label: LATEST_LABEL, sha, version, updatedAt: at, updatedBy: actor.name });
    const deployment = await tx.insertDeployment({
      projectId: actor.projectId,
      promptId: prompt.id,
      label: LATEST_LABEL,
      fromSha: previous?.sha ?? null,
      fromVersion: previous?.version ?? null,
      toSha: sha,
      toVersion: version,
      kind: 'push',
      actor: actor.name,
      reason: message,
      createdAt: at,
    });
    await tx.appendAudit({
      projectId: actor.projectId,
      at,
      actor: actor.name,
      action: 'version.created',
      target: `${prompt.name}@v${version}`,
      data: { name: prompt.name, version, sha, parentSha: prompt.headSha, message, deploymentId: deployment.id },
    });
    return toVersionSummary(row);
  };

  return {
    async push(actor: Actor, name: string, input: PushInput): Promise<PushResult> {
      const content = validatePromptContent(input.content, `prompt '${name}'`);
      if (content.name !== name) {
        throw new PromptopsError(
          'unprocessable',
          'name_mismatch',
          `content.name '${content.name}' differs from the prompt '${name}' in the path`,
          {
            fix: 'push the content to the path of its own name',
          },
        );
      }
      const message = (input.message ?? '').slice(0, MAX_MESSAGE_LENGTH);
      const sha = promptSha(content);
      return transaction(async ({ registry: tx }) => {
        const prompt = await tx.lockPrompt(actor.projectId, name, clock.now().toISOString());
        const existing = await tx.getVersionBySha(prompt.id, sha);
        if (existing) return { created: false, ...toVersionSummary(existing) };
        if (input.parent !== prompt.headSha) {
          const head = prompt.headSha === null ? null : { version: prompt.headVersion, sha: prompt.headSha };
          throw new PromptopsError(
            'conflict',
            'stale_parent',
            head === null
              ? `prompt '${name}' has no versions yet, but the push names parent ${input.parent}`
              : `prompt '${name}' moved on: its head is now v${head.version} (${shortSha(head.sha)}), but the push names parent ${input.parent === null ? 'none' : shortSha(input.parent)}`,
            { fix: 'pull the head, merge your change into it, and push again', details: { head } },
          );
        }
        return { created: true, ...(await appendVersion(tx, actor, prompt, content, sha, message)) };
      });
    },

    async list(actor: Actor): Promise<PromptListItem[]> {
      const prompts = (await registry.listPrompts(actor.projectId)).filter((p) => p.headSha !== null);
      return Promise.all(
        prompts.map(async (prompt) => {
          const labels = await registry.listLabels(prompt.id);
          return {
            name: prompt.name,
            version: prompt.headVersion,
            sha: prompt.headSha ?? '',
            updatedAt: prompt.updatedAt,
            labels: Object.fromEntries(
              labels.map((l) => [
                l.label,
                { version: l.version, sha: l.sha, updatedAt: l.updatedAt, updatedBy: l.updatedBy },
              ]),
            ),
          };
        }),
      );
    },

    async get(actor: Actor, name: string): Promise<PromptDetail> {
      const prompt = await requirePrompt(actor, name);
      const labels = await registry.listLabels(prompt.id);
      return {
        name: prompt.name,
        version: prompt.headVersion,
        sha: prompt.headSha ?? '',
        createdAt: prompt.createdAt,
        updatedAt: prompt.updatedAt,
        labels: labels.map(toLabelRecord),
      };
    },

    async log(actor: Actor, name: string, page: { limit: number; before?: number }): Promise<VersionPage> {
      const prompt = await requirePrompt(actor, name);
      const [rows, labels] = await Promise.all([
        registry.listVersions(prompt.id, page),
        registry.listLabels(prompt.id),
      ]);
      const versions = rows.map((row) => ({
        ...toVersionSummary(row),
        labels: labels.filter((l) => l.sha === row.sha).map((l) => l.label),
      }));
      const last = rows[rows.length - 1];
      return { versions, nextBefore: rows.length === page.limit && last && last.version > 1 ? last.version : null };
    },

    async show(actor: Actor, name: string, ref: string): Promise<VersionRecordWithLabels> {
      const prompt = await promptHandle(actor, name);
      const labels = await labelsAt(prompt.id, actor.stamp);
      const row = await resolveRef(registry, prompt, ref, labels, cachedVersion);
      return { ...recordOf(row), labels: labels.filter((l) => l.sha === row.sha).map((l) => l.label) };
    },

    /**
     * `show` as JSON text, kept while the project's stamp is unchanged: synchronous when cached (the read
     * hot path), a promise otherwise.
     */
    showJson(actor: Actor, name: string, ref: string): string | Promise<string> {
      const key = `${actor.projectId}\u0000${name}\u0000${ref}`;
      const hit = shownJson.get(key);
      if (hit !== undefined && hit.stamp === actor.stamp) return hit.json;
      return this.show(actor, name, ref).then((record) => {
        const json = JSON.stringify(record);
        shownJson.set(key, { stamp: actor.stamp, json }, json.length);
        return json;
      });
    },

    async diff(actor: Actor, name: string, from: string, to: string): Promise<DiffResult> {
      const prompt = await requirePrompt(actor, name);
      const [a, b] = await Promise.all([resolveRef(registry, prompt, from), resolveRef(registry, prompt, to)]);
      const left = toVersionRecord(a);
      const right = toVersionRecord(b);
      const diff = diffPrompts(left.content, right.content, {
        from: `${name}@v${a.version} (${shortSha(a.sha)})`,
        to: `${name}@v${b.version} (${shortSha(b.sha)})`,
      });
      return { from: toVersionSummary(a), to: toVersionSummary(b), diff };
    },
  };
};
