import {
  DEPLOYMENT_KINDS,
  LATEST_LABEL,
  PromptopsError,
  type DeploymentKind,
  type LabelChangeEvent,
  type LabelRulesChangeEvent,
  type SnapshotLabelRule,
  type OverrideChangeEvent,
  type PromptContent,
  type PromptOverride,
  type RolloutChangeEvent,
  type SnapshotRollout,
  type TargetingRule,
} from '@promptops/core';
import { BoundedCache } from '../bounded-cache.js';
import type { AuditRow, RegistryReads } from '../registry/store.js';

/**
 * Change events are read from the audit log: it is durable, ordered per project, written in the same
 * transaction as every label move, and shared by all replicas, so its `seq` is the event id everywhere.
 */

export type { LabelChangeEvent, LabelRulesChangeEvent, OverrideChangeEvent, RolloutChangeEvent };

export type ChangeEvent = LabelChangeEvent | RolloutChangeEvent | OverrideChangeEvent | LabelRulesChangeEvent;

export interface ChangePage {
  readonly events: ChangeEvent[];
  /** The last audit seq read (past entries that make no event too), or `afterSeq` when none was. */
  readonly cursor: number;
  /** The page was full: more entries may follow right away. */
  readonly more: boolean;
}

export interface ChangeReader {
  latestSeq(projectId: number): Promise<number>;
  /** Up to `limit` audit entries after `afterSeq`, as events. */
  readAfter(projectId: number, afterSeq: number, limit: number): Promise<ChangePage>;
  /** A version's parsed content; versions are immutable, so it is cached. */
  contentOf(projectId: number, promptId: number, sha: string, text?: string): Promise<PromptContent>;
}

const CACHE_SIZE = 2000;
/** Characters of version content the content cache may hold in all (versions go up to ~1 Mi each). */
const CONTENT_CACHE_CHARS = 32 * 1024 * 1024;

interface LabelMove {
  readonly name: string;
  readonly label: string;
  readonly sha: string;
  readonly version: number;
  readonly kind: DeploymentKind;
}

const isKind = (value: unknown): value is DeploymentKind => DEPLOYMENT_KINDS.includes(value as DeploymentKind);

/** The label move an audit entry records, if any. Anything else (or a malformed entry) moves no label. */
export const labelMoveOf = (row: AuditRow): LabelMove | undefined => {
  const data = JSON.parse(row.data) as Record<string, unknown>;
  const name = data['name'];
  if (typeof name !== 'string') return undefined;
  if (row.action === 'version.created') {
    // Every new version moves `latest` to itself, recorded as a `push` deployment.
    const { sha, version } = data;
    if (typeof sha !== 'string' || typeof version !== 'number') return undefined;
    return { name, label: LATEST_LABEL, sha, version, kind: 'push' };
  }
  if (row.action === 'label.moved' || row.action === 'label.rolled_back' || row.action === 'label.forced') {
    const { label, toSha, toVersion, kind } = data;
    if (typeof label !== 'string' || typeof toSha !== 'string' || typeof toVersion !== 'number' || !isKind(kind)) {
      return undefined;
    }
    return { name, label, sha: toSha, version: toVersion, kind };
  }
  return undefined;
};

const ROLLOUT_ACTIONS = new Set([
  'rollout.started',
  'rollout.stepped',
  'rollout.paused',
  'rollout.resumed',
  'rollout.aborted',
  'rollout.completed',
  'rollout.rules_set',
  'rollout.killed',
]);

interface RolloutChange {
  readonly name: string;
  readonly label: string;
  /** Null when the label has no active rollout any more. */
  readonly rollout: (Omit<SnapshotRollout, 'candidate'> & { candidateSha: string; candidateVersion: number }) | null;
}

/** The rollout change an audit entry records (rollouts/records.ts writes the data), if any. */
export const rolloutChangeOf = (row: AuditRow): RolloutChange | undefined => {
  if (!ROLLOUT_ACTIONS.has(row.action)) return undefined;
  const data = JSON.parse(row.data) as Record<string, unknown>;
  const { name, label, rolloutId, salt, mode, state, ramp, candidateSha, candidateVersion, rules, killed } = data;
  if (typeof name !== 'string' || typeof label !== 'string') return undefined;
  if (state !== 'running' && state !== 'paused') return { name, label, rollout: null };
  if (
    typeof rolloutId !== 'string' ||
    typeof salt !== 'string' ||
    (mode !== 'shadow' && mode !== 'split') ||
    typeof ramp !== 'number' ||
    typeof candidateSha !== 'string' ||
    typeof candidateVersion !== 'number'
  ) {
    return undefined;
  }
  const targeting = {
    ...(Array.isArray(rules) ? { rules: rules as TargetingRule[] } : {}),
    ...(killed === true ? { killed } : {}),
  };
  return {
    name,
    label,
    rollout: { id: rolloutId, salt, mode, state, ramp, candidateSha, candidateVersion, ...targeting },
  };
};

interface LabelRulesChange {
  readonly name: string;
  readonly label: string;
  /** As stored (labels/rules.ts): a served version by number and sha; null when cleared. */
  readonly rules: readonly { serve: { label?: string; version?: number; sha?: string } }[] | null;
}

/** The label rules an audit entry records (labels/rules.ts writes the data), if any. */
export const labelRulesChangeOf = (row: AuditRow): LabelRulesChange | undefined => {
  if (row.action !== 'label.rules_set') return undefined;
  const { name, label, rules } = JSON.parse(row.data) as Record<string, unknown>;
  if (typeof name !== 'string' || typeof label !== 'string' || !(rules === null || Array.isArray(rules))) {
    return undefined;
  }
  return { name, label, rules: rules as LabelRulesChange['rules'] };
};

interface OverrideChange {
  readonly name: string;
  readonly tenant: string;
  readonly version: number;
  readonly sha: string;
  readonly label: string;
  readonly override: PromptOverride;
  /** The pinned base version's sha, or null: it follows the label. */
  readonly baseSha: string | null;
}

const OVERRIDE_ACTIONS = new Set(['override.set', 'override.rolled_back']);

/** The tenant override an audit entry records (tenants/service.ts writes the data), if any. */
export const overrideChangeOf = (row: AuditRow): OverrideChange | undefined => {
  if (!OVERRIDE_ACTIONS.has(row.action)) return undefined;
  const data = JSON.parse(row.data) as Record<string, unknown>;
  const { name, tenant, version, sha, label, override, baseSha } = data;
  if (
    typeof name !== 'string' ||
    typeof tenant !== 'string' ||
    typeof version !== 'number' ||
    typeof sha !== 'string' ||
    typeof label !== 'string' ||
    typeof override !== 'object' ||
    override === null ||
    (baseSha !== null && typeof baseSha !== 'string')
  ) {
    return undefined;
  }
  return { name, tenant, version, sha, label, override: override as PromptOverride, baseSha };
};

export const createChangeReader = (registry: RegistryReads): ChangeReader => {
  // Prompt ids never change once a prompt has a version; versions never change at all.
  const promptIds = new BoundedCache<string, number>(CACHE_SIZE);
  const contents = new BoundedCache<string, PromptContent>(CACHE_SIZE, CONTENT_CACHE_CHARS);
  /** Version numbers by prompt id and sha, for a pinned override's base. */
  const numbers = new BoundedCache<string, number>(CACHE_SIZE);

  const contentOf = async (projectId: number, promptId: number, sha: string, text?: string): Promise<PromptContent> => {
    const key = `${promptId}:${sha}`;
    const cached = contents.get(key);
    if (cached) return cached;
    const stored = text ?? (await registry.getVersionBySha(promptId, sha))?.content;
    if (stored === undefined) {
      throw new PromptopsError(
        'internal',
        'version_missing',
        `project ${projectId}: the audit log names version ${sha} of prompt ${promptId}, which is not stored`,
        {
          fix: 'run promptops verify',
        },
      );
    }
    const content = JSON.parse(stored) as PromptContent;
    contents.set(key, content, stored.length);
    return content;
  };

  const promptIdOf = async (projectId: number, name: string): Promise<number> => {
    const key = `${projectId}\u0000${name}`;
    const cached = promptIds.get(key);
    if (cached !== undefined) return cached;
    const prompt = await registry.getPrompt(projectId, name);
    if (!prompt) {
      throw new PromptopsError(
        'internal',
        'prompt_missing',
        `project ${projectId}: the audit log names prompt '${name}', which is not stored`,
        {
          fix: 'run promptops verify',
        },
      );
    }
    promptIds.set(key, prompt.id);
    return prompt.id;
  };

  /** A version by sha (number and content), for an override pinned to it. */
  const versionOf = async (projectId: number, promptId: number, sha: string) => {
    const key = `${promptId}:${sha}`;
    let version = numbers.get(key);
    let text: string | undefined;
    if (version === undefined) {
      const row = await registry.getVersionBySha(promptId, sha);
      if (row !== undefined) {
        version = row.version;
        text = row.content;
        numbers.set(key, version);
      }
    }
    // contentOf refuses a version that is not stored, naming it.
    const content = await contentOf(projectId, promptId, sha, text);
    return { version: version ?? 0, sha, content };
  };

  const overrideEvent = async (
    projectId: number,
    seq: number,
    change: OverrideChange,
  ): Promise<OverrideChangeEvent> => {
    const { name, tenant, version, sha, label, override, baseSha } = change;
    const base = baseSha === null ? null : await versionOf(projectId, await promptIdOf(projectId, name), baseSha);
    return { type: 'override', seq, name, tenant, override: { version, sha, label, override, base } };
  };

  /** A served version carries its content, as in the snapshot. */
  const labelRulesEvent = async (
    projectId: number,
    seq: number,
    { name, label, rules }: LabelRulesChange,
  ): Promise<LabelRulesChangeEvent> => {
    if (rules === null) return { type: 'label_rules', seq, name, label, rules: null };
    const promptId = await promptIdOf(projectId, name);
    const full: SnapshotLabelRule[] = [];
    for (const { serve, ...rest } of rules) {
      if (serve.sha === undefined) {
        full.push({ ...rest, serve } as SnapshotLabelRule);
        continue;
      }
      const content = await contentOf(projectId, promptId, serve.sha);
      full.push({
        ...rest,
        serve: { version: { version: serve.version ?? 0, sha: serve.sha, content } },
      } as SnapshotLabelRule);
    }
    return { type: 'label_rules', seq, name, label, rules: full };
  };

  return {
    latestSeq: (projectId) => registry.latestAuditSeq(projectId),
    contentOf,

    async readAfter(projectId, afterSeq, limit) {
      const rows = await registry.listAudit(projectId, { afterSeq, limit });
      const events: ChangeEvent[] = [];
      for (const row of rows) {
        const change = rolloutChangeOf(row);
        if (change !== undefined) {
          const { name, label, rollout } = change;
          if (rollout === null) {
            events.push({ type: 'rollout', seq: row.seq, name, label, rollout: null });
            continue;
          }
          const { candidateSha, candidateVersion, ...rest } = rollout;
          const content = await contentOf(projectId, await promptIdOf(projectId, name), candidateSha);
          const candidate = { version: candidateVersion, sha: candidateSha, content };
          events.push({ type: 'rollout', seq: row.seq, name, label, rollout: { ...rest, candidate } });
          continue;
        }
        const ruled = labelRulesChangeOf(row);
        if (ruled !== undefined) {
          events.push(await labelRulesEvent(projectId, row.seq, ruled));
          continue;
        }
        const override = overrideChangeOf(row);
        if (override !== undefined) {
          events.push(await overrideEvent(projectId, row.seq, override));
          continue;
        }
        const move = labelMoveOf(row);
        if (move === undefined) continue;
        const content = await contentOf(projectId, await promptIdOf(projectId, move.name), move.sha);
        events.push({ type: 'label', seq: row.seq, ...move, content });
      }
      return { events, cursor: rows.at(-1)?.seq ?? afterSeq, more: rows.length === limit };
    },
  };
};
