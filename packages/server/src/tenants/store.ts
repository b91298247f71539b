import type { TxScope } from '../storage/transaction.js';

/** One version of a tenant's override of a prompt (append-only; the newest is current). */
export interface OverrideRow {
  readonly id: number;
  readonly projectId: number;
  readonly promptId: number;
  readonly tenant: string;
  readonly version: number;
  readonly sha: string;
  /** The normalized override as JSON text. */
  readonly content: string;
  /** The label whose resolutions for this tenant it serves. */
  readonly label: string;
  /** The base version it is pinned to, or null when it follows the label. */
  readonly baseSha: string | null;
  readonly author: string;
  readonly message: string;
  readonly createdAt: string;
}

export type NewOverride = Omit<OverrideRow, 'id'>;

export interface TenantReads {
  /** The newest version of (prompt, tenant)'s override. */
  currentOverride(promptId: number, tenant: string): Promise<OverrideRow | undefined>;
  getOverrideVersion(promptId: number, tenant: string, version: number): Promise<OverrideRow | undefined>;
  /** Every version, newest first. */
  overrideHistory(promptId: number, tenant: string, limit: number): Promise<OverrideRow[]>;
  /** The current override of every tenant of a prompt, by tenant. */
  currentOverrides(promptId: number): Promise<OverrideRow[]>;
  /** The current override of every tenant of every prompt of a project (the snapshot), with the prompt's name. */
  projectOverrides(projectId: number): Promise<(OverrideRow & { readonly name: string })[]>;
}

export interface TenantTx extends TenantReads {
  insertOverride(row: NewOverride): Promise<OverrideRow>;
}

export interface TenantStore extends TenantReads {
  inTransaction(scope: TxScope): TenantTx;
}
