import type { DeploymentKind } from '@promptops/core';

/**
 * The registry's store: projects, prompts, their versions, labels and deployments, and each project's
 * audit log, whose newest seq is the stamp read caches are validated against. Used by the prompts,
 * labels, audit and changes features. `kysely-store.ts` implements it for both databases.
 *
 * Rows use the domain's words; times are ISO-8601 UTC strings; ids are integers.
 * Versions, deployments and audit entries are append-only, enforced by triggers in both databases.
 */

export interface ProjectRow {
  readonly id: number;
  readonly name: string;
  readonly createdAt: string;
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

/** A label with the content of the version it points at (what an SDK snapshot holds). */
export interface LabeledVersionRow extends LabelRow {
  /** The canonical JSON of the target version's content. */
  readonly content: string;
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
  /** HMAC of the hash with the server's audit key; null when written without one. */
  readonly mac: string | null;
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

/** Audit log page. A prompt's entries are those whose target is `NAME`, `NAME@vN` or `NAME:label`. */
export interface AuditQuery {
  readonly afterSeq?: number;
  readonly limit: number;
  readonly newestFirst?: boolean;
  readonly beforeSeq?: number;
  readonly actor?: string;
  readonly prompt?: string;
}

export interface RegistryReads {
  getProject(id: number): Promise<ProjectRow | undefined>;
  getProjectByName(name: string): Promise<ProjectRow | undefined>;
  countProjects(): Promise<number>;
  /** Every project, by id. */
  listProjects(): Promise<ProjectRow[]>;

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

  /** Oldest first (`afterSeq` exclusive), or newest first below `beforeSeq`; optionally one actor's, one prompt's. */
  listAudit(projectId: number, options: AuditQuery): Promise<AuditRow[]>;
  /** The project's newest audit seq, 0 when its log is empty. */
  latestAuditSeq(projectId: number): Promise<number>;
  /**
   * Every label of the project's prompts (only those named, when `names` is given) with its version's
   * content, ordered by (name, label), and the project's newest audit seq, read in one consistent read:
   * every label move the cursor covers is in the labels and none after it is.
   */
  readLabelSnapshot(
    projectId: number,
    options: { names?: readonly string[] },
  ): Promise<{ cursor: number; labels: LabeledVersionRow[] }>;
}

/**
 * Writes; only inside `transaction`. A transaction that changes keys, labels, versions, reviews or evals must also
 * `appendAudit`: the project's newest audit seq is the stamp that read caches are validated against.
 */
export interface RegistryTx extends RegistryReads {
  createProject(name: string, createdAt: string): Promise<ProjectRow>;

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
   * hash and computes this entry's hash (core's `auditHash`), and its HMAC when the storage was opened
   * with an `auditMac`.
   */
  appendAudit(entry: NewAuditEntry): Promise<AuditRow>;
}

/** How `latestAuditSeqSoon` answers: the stamp, or the error of reading it. */
export type StampCallback = (error: Error | null, stamp: number) => void;

/** Authenticates a new audit entry's hash with a key the database never sees (the server's audit key). */
export type AuditMac = (projectId: number, hash: string) => string;

/** The registry's reads outside a transaction, and what it announces after one commits. */
export interface RegistryStore extends RegistryReads {
  /**
   * Calls `listener` with the project id after each transaction that appended to that project's audit
   * log commits (never after a rollback). In-process only: it lets this process push its own changes
   * at once; other processes learn of them by reading the audit log. Returns the unsubscribe.
   */
  onAuditCommitted(listener: (projectId: number) => void): () => void;
  /**
   * `latestAuditSeq` for the read hot path, where the database allows it (a SQLite file): answered by
   * callback, without a promise, from a read that starts after the call, on a read-only connection of its
   * own (so never inside another caller's open transaction). Calls made in the same turn of the event loop
   * share one read. Undefined elsewhere.
   */
  readonly latestAuditSeqSoon?: (projectId: number, callback: StampCallback) => void;
}
