import type { DeploymentKind } from '@promptops/core';

/**
 * The storage port. The registry service talks only to this interface; two adapters implement it
 * (SQLite, the embedded default, and PostgreSQL, for several replicas) and one contract suite
 * (`test/storage.contract.test.ts`) runs against both. Nothing of either database leaks upward.
 *
 * Rows use the domain's words; times are ISO-8601 UTC strings; ids are integers.
 * Versions, deployments and audit entries are append-only, enforced by triggers in both databases.
 */

export type Dialect = 'sqlite' | 'postgres';

export const ROLES = ['viewer', 'editor', 'reviewer', 'deployer', 'admin'] as const;
export type Role = (typeof ROLES)[number];

export interface ProjectRow {
  readonly id: number;
  readonly name: string;
  readonly createdAt: string;
}

export interface ApiKeyRow {
  readonly id: number;
  readonly projectId: number;
  /** Public, non-secret lookup part of the key (`po_<keyId>_<secret>`). */
  readonly keyId: string;
  /** sha256 hex of the whole key; the key itself is never stored. */
  readonly hash: string;
  readonly role: Role;
  readonly name: string;
  readonly createdBy: string;
  readonly createdAt: string;
  readonly lastUsedAt: string | null;
  readonly revokedAt: string | null;
}

export interface PromptRow {
  readonly id: number;
  readonly projectId: number;
  readonly name: string;
  /** 0 and null before the first version is inserted. */
  readonly headVersion: number;
  readonly headSha: string | null;
  readonly createdAt: string;
  readonly updatedAt: string;
}

export interface VersionRow {
  readonly projectId: number;
  readonly promptId: number;
  readonly name: string;
  readonly version: number;
  readonly sha: string;
  /** The canonical JSON of the content, exactly as hashed. */
  readonly content: string;
  readonly parentSha: string | null;
  readonly author: string;
  readonly message: string;
  readonly createdAt: string;
}

export interface LabelRow {
  readonly promptId: number;
  readonly name: string;
  readonly label: string;
  readonly sha: string;
  readonly version: number;
  readonly updatedAt: string;
  readonly updatedBy: string;
}

export interface DeploymentRow {
  readonly id: number;
  readonly projectId: number;
  readonly promptId: number;
  readonly name: string;
  readonly label: string;
  readonly fromSha: string | null;
  readonly fromVersion: number | null;
  readonly toSha: string;
  readonly toVersion: number;
  readonly kind: DeploymentKind;
  readonly actor: string;
  readonly reason: string;
  readonly createdAt: string;
}

export interface AuditRow {
  readonly projectId: number;
  readonly seq: number;
  readonly at: string;
  readonly actor: string;
  readonly action: string;
  readonly target: string;
  /** JSON object text. */
  readonly data: string;
  readonly prevHash: string;
  readonly hash: string;
}

export interface NewVersion {
  readonly projectId: number;
  readonly promptId: number;
  readonly version: number;
  readonly sha: string;
  readonly content: string;
  readonly parentSha: string | null;
  readonly author: string;
  readonly message: string;
  readonly createdAt: string;
}

export interface NewDeployment {
  readonly projectId: number;
  readonly promptId: number;
  readonly label: string;
  readonly fromSha: string | null;
  readonly fromVersion: number | null;
  readonly toSha: string;
  readonly toVersion: number;
  readonly kind: DeploymentKind;
  readonly actor: string;
  readonly reason: string;
  readonly createdAt: string;
}

export interface NewAuditEntry {
  readonly projectId: number;
  readonly at: string;
  readonly actor: string;
  readonly action: string;
  readonly target: string;
  readonly data: Readonly<Record<string, unknown>>;
}

export interface Page {
  readonly limit: number;
  /** Exclusive upper bound of the sort key (version number, deployment id, audit seq). */
  readonly before?: number;
}

/** Reads, available both outside and inside a transaction. */
export interface RegistryReads {
  getProject(id: number): Promise<ProjectRow | undefined>;
  getProjectByName(name: string): Promise<ProjectRow | undefined>;
  countProjects(): Promise<number>;

  findApiKey(keyId: string): Promise<ApiKeyRow | undefined>;
  listApiKeys(projectId: number): Promise<ApiKeyRow[]>;

  listPrompts(projectId: number): Promise<PromptRow[]>;
  getPrompt(projectId: number, name: string): Promise<PromptRow | undefined>;

  /** Newest first. */
  listVersions(promptId: number, page: Page): Promise<VersionRow[]>;
  getVersionByNumber(promptId: number, version: number): Promise<VersionRow | undefined>;
  getVersionBySha(promptId: number, sha: string): Promise<VersionRow | undefined>;
  /** At most `limit` versions whose sha starts with `prefix` (to detect ambiguity, ask for 2). */
  findVersionsByShaPrefix(promptId: number, prefix: string, limit: number): Promise<VersionRow[]>;
  /** Every version of a project in (prompt id, version) order, for `verify`. */
  streamVersions(projectId: number, batchSize: number): AsyncIterable<VersionRow[]>;

  listLabels(promptId: number): Promise<LabelRow[]>;
  getLabel(promptId: number, label: string): Promise<LabelRow | undefined>;

  /** Oldest first unless paging (then newest first below `before`). */
  listDeployments(promptId: number, options: { label?: string }): Promise<DeploymentRow[]>;

  /** Oldest first; `afterSeq` exclusive. */
  listAudit(projectId: number, options: { afterSeq?: number; limit: number }): Promise<AuditRow[]>;
}

/** Writes; only inside `transaction`. */
export interface RegistryTx extends RegistryReads {
  createProject(name: string, createdAt: string): Promise<ProjectRow>;
  insertApiKey(key: Omit<ApiKeyRow, 'id' | 'lastUsedAt' | 'revokedAt'>): Promise<ApiKeyRow>;
  revokeApiKey(projectId: number, keyId: string, at: string): Promise<boolean>;

  /**
   * Returns the prompt row, creating it (head 0) when missing, and holds a write lock on it until the
   * transaction ends, so concurrent pushes and label moves on one prompt serialize (also across
   * server processes sharing one PostgreSQL).
   */
  lockPrompt(projectId: number, name: string, at: string): Promise<PromptRow>;
  insertVersion(version: NewVersion): Promise<VersionRow>;
  setPromptHead(promptId: number, version: number, sha: string, at: string): Promise<void>;
  /** Upsert of the movable pointer. */
  setLabel(label: {
    promptId: number;
    label: string;
    sha: string;
    version: number;
    updatedAt: string;
    updatedBy: string;
  }): Promise<void>;
  insertDeployment(deployment: NewDeployment): Promise<DeploymentRow>;
  /**
   * Appends to the project's hash chain: locks the chain head, assigns the next seq, links the previous
   * hash and computes this entry's hash (core's `auditHash`).
   */
  appendAudit(entry: NewAuditEntry): Promise<AuditRow>;
}

export interface Storage extends RegistryReads {
  readonly dialect: Dialect;
  /** Applies pending migrations; safe to call from several processes at once. */
  migrate(): Promise<void>;
  /**
   * Runs `fn` in one transaction (SQLite: BEGIN IMMEDIATE; PostgreSQL: READ COMMITTED with row locks).
   * Rolls back on any throw and rethrows it.
   */
  transaction<T>(fn: (tx: RegistryTx) => Promise<T>): Promise<T>;
  /** Best-effort, outside any transaction: records when a key was last used. */
  touchApiKey(keyId: string, at: string): Promise<void>;
  close(): Promise<void>;
}
