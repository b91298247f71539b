import type { AuditEntry } from '@promptops/core';
import type { Actor } from '../context.js';
import type { AuditRow, Storage } from '../storage/port.js';

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

export type AuditService = ReturnType<typeof createAuditService>;

export const createAuditService = (storage: Storage) => ({
  async list(actor: Actor, page: { after?: number; limit: number }): Promise<{ entries: AuditEntry[]; next: number | null }> {
    const rows = await storage.listAudit(actor.projectId, {
      limit: page.limit,
      ...(page.after === undefined ? {} : { afterSeq: page.after }),
    });
    const last = rows[rows.length - 1];
    return { entries: rows.map(toAuditEntry), next: rows.length === page.limit && last ? last.seq : null };
  },
});
