import type { AuditEntry } from '@promptops/core';
import type { Actor } from '../context.js';
import type { AuditRow } from '../registry/store.js';
import type { RegistryReads } from '../registry/store.js';

export const toAuditEntry = (row: AuditRow): AuditEntry => ({
  seq: row.seq,
  at: row.at,
  actor: row.actor,
  action: row.action,
  target: row.target,
  data: JSON.parse(row.data) as Record<string, unknown>,
  prevHash: row.prevHash,
  hash: row.hash,
});

export interface AuditPage {
  readonly limit: number;
  /** Oldest first after this seq (the default order). */
  readonly after?: number;
  /** Newest first, below `before` when given (the dashboard reads the log this way). */
  readonly order?: 'asc' | 'desc';
  readonly before?: number;
  readonly actor?: string;
  readonly prompt?: string;
}

export type AuditService = ReturnType<typeof createAuditService>;

export const createAuditService = ({ registry }: { readonly registry: RegistryReads }) => ({
  /** `next` is the cursor for the following page in the same order (`after`, or `before` when newest first). */
  async list(actor: Actor, page: AuditPage): Promise<{ entries: AuditEntry[]; next: number | null }> {
    const rows = await registry.listAudit(actor.projectId, {
      limit: page.limit,
      ...(page.after === undefined ? {} : { afterSeq: page.after }),
      ...(page.order === 'desc' ? { newestFirst: true } : {}),
      ...(page.before === undefined ? {} : { beforeSeq: page.before }),
      ...(page.actor === undefined ? {} : { actor: page.actor }),
      ...(page.prompt === undefined ? {} : { prompt: page.prompt }),
    });
    const last = rows[rows.length - 1];
    return { entries: rows.map(toAuditEntry), next: rows.length === page.limit && last ? last.seq : null };
  },
});
