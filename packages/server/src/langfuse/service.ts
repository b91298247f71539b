import {
  LANGFUSE_DEFAULT_LABEL,
  LANGFUSE_LATEST,
  PromptopsError,
  fromLangfuse,
  isPromptopsError,
  langfuseCommitMessage,
  langfuseConfigOf,
  parseLangfuseCommit,
  toLangfusePrompt,
  type LangfusePrompt,
  type LangfusePromptMeta,
} from '@promptops/core';
import { roleAllows } from '../auth/permissions.js';
import type { Actor } from '../context.js';
import type { LabelService } from '../labels/service.js';
import type { PromptService } from '../prompts/service.js';

export interface LangfuseCreateInput {
  readonly name: string;
  readonly type?: 'text' | 'chat';
  readonly prompt: unknown;
  readonly config?: unknown;
  readonly labels?: readonly string[];
  readonly tags?: readonly string[];
  readonly commitMessage?: string | null;
}

export interface LangfuseListQuery {
  readonly name?: string;
  readonly label?: string;
  readonly tag?: string;
  readonly page: number;
  readonly limit: number;
  readonly fromUpdatedAt?: string;
  readonly toUpdatedAt?: string;
}

export interface LangfuseList {
  readonly data: LangfusePromptMeta[];
  readonly meta: { page: number; limit: number; totalItems: number; totalPages: number };
}

export type LangfuseService = ReturnType<typeof createLangfuseService>;

/**
 * Langfuse's prompt API over the prompt and label services: a Langfuse version is a promptops version
 * (same number), a Langfuse label a promptops label. Tags are the prompt's, kept as a commit trailer of
 * the newest version (core's `langfuseCommitMessage`).
 */
export const createLangfuseService = (prompts: PromptService, labels: LabelService) => {
  const headOf = async (actor: Actor, name: string) => {
    try {
      return await prompts.get(actor, name);
    } catch (error) {
      if (isPromptopsError(error) && error.kind === 'not_found') return undefined;
      throw error;
    }
  };
  const tagsAt = async (actor: Actor, name: string, head: number): Promise<string[]> =>
    parseLangfuseCommit((await prompts.show(actor, name, `v${head}`)).message).tags;

  const get = async (
    actor: Actor,
    name: string,
    query: { label?: string; version?: number },
  ): Promise<LangfusePrompt> => {
    const ref = query.version !== undefined ? `v${query.version}` : (query.label ?? LANGFUSE_DEFAULT_LABEL);
    const [record, head] = await Promise.all([prompts.show(actor, name, ref), prompts.get(actor, name)]);
    // Labels from the uncached read: after a create, this request's stamp predates its own moves.
    const labels = head.labels.filter((l) => l.sha === record.sha).map((l) => l.label);
    return toLangfusePrompt({ ...record, labels, tags: await tagsAt(actor, name, head.version) });
  };

  return {
    get,

    async list(actor: Actor, query: LangfuseListQuery): Promise<LangfuseList> {
      const all = (await prompts.list(actor))
        .filter((p) => query.name === undefined || p.name === query.name)
        .filter((p) => query.label === undefined || p.labels[query.label] !== undefined)
        .filter((p) => query.fromUpdatedAt === undefined || p.updatedAt >= query.fromUpdatedAt)
        .filter((p) => query.toUpdatedAt === undefined || p.updatedAt < query.toUpdatedAt)
        .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      const rows = await Promise.all(
        all.map(async (p): Promise<LangfusePromptMeta> => {
          const head = await prompts.show(actor, p.name, `v${p.version}`);
          return {
            name: p.name,
            type: head.content.type,
            versions: Array.from({ length: p.version }, (_, index) => index + 1),
            labels: Object.keys(p.labels).sort(),
            tags: parseLangfuseCommit(head.message).tags,
            lastUpdatedAt: p.updatedAt,
            lastConfig: langfuseConfigOf(head.content),
          };
        }),
      );
      const matching = rows.filter((row) => query.tag === undefined || row.tags.includes(query.tag));
      const start = (query.page - 1) * query.limit;
      return {
        data: matching.slice(start, start + query.limit),
        meta: {
          page: query.page,
          limit: query.limit,
          totalItems: matching.length,
          totalPages: Math.ceil(matching.length / query.limit),
        },
      };
    },

    /** Pushes the version on the head, then moves its labels (a deployer's right, checked before anything is written). */
    async create(actor: Actor, input: LangfuseCreateInput): Promise<LangfusePrompt> {
      const content = fromLangfuse(input);
      const moves = [...new Set(input.labels ?? [])].filter((label) => label !== LANGFUSE_LATEST);
      if (moves.length > 0 && !roleAllows(actor.role, 'labels:write')) {
        throw new PromptopsError(
          'forbidden',
          'forbidden',
          `the key's role '${actor.role}' may not move labels (${moves.join(', ')}): that is a deployer's`,
          { fix: 'create the version without labels, or use a deployer key' },
        );
      }
      const head = await headOf(actor, input.name);
      const tags = input.tags ?? (head === undefined ? [] : await tagsAt(actor, input.name, head.version));
      const pushed = await prompts.push(actor, input.name, {
        content,
        parent: head?.sha ?? null,
        message: langfuseCommitMessage({ commitMessage: input.commitMessage ?? null, tags }),
      });
      for (const label of moves) {
        await labels.promote(actor, input.name, label, {
          ref: `v${pushed.version}`,
          reason: 'labelled by POST /api/public/v2/prompts',
        });
      }
      return get(actor, input.name, { version: pushed.version });
    },
  };
};
