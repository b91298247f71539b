import { auditHash, canonicalJson, GENESIS_HASH, PromptopsError } from '@promptops/core';
import type { DeploymentKind } from '@promptops/core';
import { sql } from 'kysely';
import type { CompiledQuery, Kysely, Selectable } from 'kysely';
import type { SqlDialect } from '../storage/dialect.js';
import type {
  AuditLogTable,
  Database,
  DeploymentsTable,
  LabelsTable,
  ProjectsTable,
  PromptsTable,
  VersionsTable,
} from '../storage/schema.js';
import { SqliteStampReader } from '../storage/sqlite-stamp-reader.js';
import { translated } from '../storage/storage-errors.js';
import type { TxScope } from '../storage/transaction.js';
import type {
  AuditMac,
  AuditQuery,
  AuditRow,
  DeploymentRow,
  LabeledVersionRow,
  LabelRow,
  NewAuditEntry,
  NewDeployment,
  NewVersion,
  Page,
  ProjectRow,
  PromptRow,
  RegistryReads,
  RegistryStore,
  RegistryTx,
  VersionRow,
} from './store.js';

/**
 * The registry store over Kysely, for both SQLite and PostgreSQL: shared SQL, with the dialect object
 * saying whether rows can be locked.
 */

const toProject = (row: Selectable<ProjectsTable>): ProjectRow => ({
  id: row.id,
  name: row.name,
  createdAt: row.created_at,
});

const toPrompt = (row: Selectable<PromptsTable>): PromptRow => ({
  id: row.id,
  projectId: row.project_id,
  name: row.name,
  headVersion: row.head_version,
  headSha: row.head_sha,
  createdAt: row.created_at,
  updatedAt: row.updated_at,
});

type Named<T> = Selectable<T> & { name: string };

const toVersion = (row: Named<VersionsTable>): VersionRow => ({
  projectId: row.project_id,
  promptId: row.prompt_id,
  name: row.name,
  version: row.version,
  sha: row.sha,
  content: row.content,
  parentSha: row.parent_sha,
  author: row.author,
  message: row.message,
  createdAt: row.created_at,
});

const toLabel = (row: Named<LabelsTable>): LabelRow => ({
  promptId: row.prompt_id,
  name: row.name,
  label: row.label,
  sha: row.sha,
  version: row.version,
  updatedAt: row.updated_at,
  updatedBy: row.updated_by,
});

const toDeployment = (row: Named<DeploymentsTable>): DeploymentRow => ({
  id: row.id,
  projectId: row.project_id,
  promptId: row.prompt_id,
  name: row.name,
  label: row.label,
  fromSha: row.from_sha,
  fromVersion: row.from_version,
  toSha: row.to_sha,
  toVersion: row.to_version,
  kind: row.kind as DeploymentKind,
  actor: row.actor,
  reason: row.reason,
  createdAt: row.created_at,
});

const toAudit = (row: Selectable<AuditLogTable>): AuditRow => ({
  projectId: row.project_id,
  seq: row.seq,
  at: row.at,
  actor: row.actor,
  action: row.action,
  target: row.target,
  data: row.data,
  prevHash: row.prev_hash,
  hash: row.hash,
  mac: row.mac,
});

class KyselyReads implements RegistryReads {
  constructor(protected readonly db: Kysely<Database>) {}

  async getProject(id: number): Promise<ProjectRow | undefined> {
    const row = await this.db.selectFrom('projects').selectAll().where('id', '=', id).executeTakeFirst();
    return row && toProject(row);
  }

  async getProjectByName(name: string): Promise<ProjectRow | undefined> {
    const row = await this.db.selectFrom('projects').selectAll().where('name', '=', name).executeTakeFirst();
    return row && toProject(row);
  }

  async countProjects(): Promise<number> {
    const row = await this.db
      .selectFrom('projects')
      .select(sql<number>`cast(count(*) as integer)`.as('count'))
      .executeTakeFirstOrThrow();
    return Number(row.count);
  }

  async listProjects(): Promise<ProjectRow[]> {
    const rows = await this.db.selectFrom('projects').selectAll().orderBy('id').execute();
    return rows.map(toProject);
  }

  async listPrompts(projectId: number): Promise<PromptRow[]> {
    const rows = await this.db
      .selectFrom('prompts')
      .selectAll()
      .where('project_id', '=', projectId)
      .orderBy('name')
      .execute();
    return rows.map(toPrompt);
  }

  async getPrompt(projectId: number, name: string): Promise<PromptRow | undefined> {
    const row = await this.db
      .selectFrom('prompts')
      .selectAll()
      .where('project_id', '=', projectId)
      .where('name', '=', name)
      .executeTakeFirst();
    return row && toPrompt(row);
  }

  /** Versions with their prompt's name. */
  protected versions() {
    return this.db
      .selectFrom('versions')
      .innerJoin('prompts', 'prompts.id', 'versions.prompt_id')
      .selectAll('versions')
      .select('prompts.name');
  }

  async listVersions(promptId: number, page: Page): Promise<VersionRow[]> {
    const { before } = page;
    const rows = await this.versions()
      .where('versions.prompt_id', '=', promptId)
      .$if(before !== undefined, (query) => query.where('versions.version', '<', before ?? 0))
      .orderBy('versions.version', 'desc')
      .limit(page.limit)
      .execute();
    return rows.map(toVersion);
  }

  async getVersionByNumber(promptId: number, version: number): Promise<VersionRow | undefined> {
    const row = await this.versions()
      .where('versions.prompt_id', '=', promptId)
      .where('versions.version', '=', version)
      .executeTakeFirst();
    return row && toVersion(row);
  }

  async getVersionBySha(promptId: number, sha: string): Promise<VersionRow | undefined> {
    const row = await this.versions()
      .where('versions.prompt_id', '=', promptId)
      .where('versions.sha', '=', sha)
      .executeTakeFirst();
    return row && toVersion(row);
  }

  async findVersionsByShaPrefix(promptId: number, prefix: string, limit: number): Promise<VersionRow[]> {
    // substr, not LIKE: a prefix is matched literally (no wildcards to escape) and alike in both dialects.
    // The scan stays within one prompt's versions, which the primary key already narrows to.
    const rows = await this.versions()
      .where('versions.prompt_id', '=', promptId)
      .where(sql<string>`substr(versions.sha, 1, ${prefix.length})`, '=', prefix)
      .orderBy('versions.version')
      .limit(limit)
      .execute();
    return rows.map(toVersion);
  }

  async *streamVersions(projectId: number, batchSize: number): AsyncIterable<VersionRow[]> {
    // Keyset pagination on (prompt_id, version): each batch is one indexed range scan, however deep.
    let after: { promptId: number; version: number } | undefined;
    for (;;) {
      const cursor = after;
      const rows = await this.versions()
        .where('versions.project_id', '=', projectId)
        .$if(cursor !== undefined, (query) =>
          query.where((eb) =>
            eb(
              eb.refTuple('versions.prompt_id', 'versions.version'),
              '>',
              eb.tuple(cursor?.promptId ?? 0, cursor?.version ?? 0),
            ),
          ),
        )
        .orderBy('versions.prompt_id')
        .orderBy('versions.version')
        .limit(batchSize)
        .execute();
      if (rows.length > 0) yield rows.map(toVersion);
      const last = rows.at(-1);
      if (last === undefined || rows.length < batchSize) return;
      after = { promptId: last.prompt_id, version: last.version };
    }
  }

  protected labels() {
    return this.db
      .selectFrom('labels')
      .innerJoin('prompts', 'prompts.id', 'labels.prompt_id')
      .selectAll('labels')
      .select('prompts.name');
  }

  async listLabels(promptId: number): Promise<LabelRow[]> {
    const rows = await this.labels().where('labels.prompt_id', '=', promptId).orderBy('labels.label').execute();
    return rows.map(toLabel);
  }

  async getLabel(promptId: number, label: string): Promise<LabelRow | undefined> {
    const row = await this.labels()
      .where('labels.prompt_id', '=', promptId)
      .where('labels.label', '=', label)
      .executeTakeFirst();
    return row && toLabel(row);
  }

  protected deployments() {
    return this.db
      .selectFrom('deployments')
      .innerJoin('prompts', 'prompts.id', 'deployments.prompt_id')
      .selectAll('deployments')
      .select('prompts.name');
  }

  async listDeployments(promptId: number, options: { label?: string }): Promise<DeploymentRow[]> {
    const { label } = options;
    const rows = await this.deployments()
      .where('deployments.prompt_id', '=', promptId)
      .$if(label !== undefined, (query) => query.where('deployments.label', '=', label ?? ''))
      .orderBy('deployments.id')
      .execute();
    return rows.map(toDeployment);
  }

  async listAudit(projectId: number, options: AuditQuery): Promise<AuditRow[]> {
    const { actor, prompt, beforeSeq } = options;
    const rows = await this.db
      .selectFrom('audit_log')
      .selectAll()
      .where('project_id', '=', projectId)
      .where('seq', '>', options.afterSeq ?? 0)
      .$if(beforeSeq !== undefined, (query) => query.where('seq', '<', beforeSeq ?? 0))
      .$if(actor !== undefined, (query) => query.where('actor', '=', actor ?? ''))
      // Prompt names never contain '@' or ':', so these prefixes cannot match another prompt's entries.
      .$if(prompt !== undefined, (query) =>
        query.where((eb) =>
          eb.or([
            eb('target', '=', prompt ?? ''),
            eb(sql<string>`substr(target, 1, ${(prompt ?? '').length + 1})`, 'in', [`${prompt}@`, `${prompt}:`]),
          ]),
        ),
      )
      .orderBy('seq', options.newestFirst === true ? 'desc' : 'asc')
      .limit(options.limit)
      .execute();
    return rows.map(toAudit);
  }

  /** The newest seq of a project's chain, as a scalar subquery (the primary key makes it an index probe). */
  private latestSeqQuery(projectId: number) {
    return this.db
      .selectFrom('audit_log')
      .select(sql<number>`coalesce(max(seq), 0)`.as('cursor'))
      .where('project_id', '=', projectId);
  }

  /** Compiled once: the change stamp is read on every authenticated request. */
  #latestSeqCompiled: CompiledQuery<{ cursor: number }> | undefined;

  async latestAuditSeq(projectId: number): Promise<number> {
    this.#latestSeqCompiled ??= this.latestSeqQuery(0).compile();
    const compiled: CompiledQuery<{ cursor: number }> = { ...this.#latestSeqCompiled, parameters: [projectId] };
    const result = await this.db.executeQuery(compiled);
    return Number(result.rows[0]?.cursor ?? 0);
  }

  async readLabelSnapshot(
    projectId: number,
    options: { names?: readonly string[] },
  ): Promise<{ cursor: number; labels: LabeledVersionRow[] }> {
    const { names } = options;
    if (names !== undefined && names.length === 0) return { cursor: await this.latestAuditSeq(projectId), labels: [] };
    // One statement, so one snapshot in both databases (PostgreSQL READ COMMITTED takes one per statement;
    // SQLite reads a statement from one WAL snapshot): a label move commits with its audit entry, so the
    // cursor and the labels always agree. The left join keeps the cursor row when there are no labels.
    const labeled = this.db
      .selectFrom('labels')
      .innerJoin('prompts', 'prompts.id', 'labels.prompt_id')
      .innerJoin('versions', (join) =>
        join.onRef('versions.prompt_id', '=', 'labels.prompt_id').onRef('versions.sha', '=', 'labels.sha'),
      )
      .selectAll('labels')
      .select(['prompts.name', 'versions.content'])
      .where('prompts.project_id', '=', projectId)
      .$if(names !== undefined, (query) => query.where('prompts.name', 'in', names ?? []));
    const rows = await this.db
      .selectFrom(this.latestSeqQuery(projectId).as('head'))
      .leftJoin(labeled.as('l'), (join) => join.onTrue())
      .selectAll()
      .orderBy('l.name')
      .orderBy('l.label')
      .execute();
    const labels: LabeledVersionRow[] = [];
    for (const row of rows) {
      if (row.prompt_id === null || row.name === null || row.content === null) continue;
      labels.push({ ...toLabel(row as Named<LabelsTable>), content: row.content });
    }
    return { cursor: Number(rows[0]?.cursor ?? 0), labels };
  }
}

/** The reads and writes, bound to one open transaction (`db` is the transaction's connection). */
class KyselyTx extends KyselyReads implements RegistryTx {
  /** Projects whose audit log this transaction appended to, announced once it commits. */
  readonly #audited = new Set<number>();

  constructor(
    private readonly scope: TxScope,
    private readonly dialect: SqlDialect,
    private readonly auditMac: AuditMac | undefined,
    private readonly announce: (projectId: number) => void,
  ) {
    super(scope.db);
  }

  /** Row locks exist on PostgreSQL only; on SQLite, BEGIN IMMEDIATE already made this the only writer. */
  private get locksRows(): boolean {
    return this.dialect.locksRows;
  }

  createProject(name: string, createdAt: string): Promise<ProjectRow> {
    return translated(async () => {
      const row = await this.db
        .insertInto('projects')
        .values({ name, created_at: createdAt })
        .returningAll()
        .executeTakeFirstOrThrow();
      return toProject(row);
    });
  }

  lockPrompt(projectId: number, name: string, at: string): Promise<PromptRow> {
    // FOR NO KEY UPDATE serializes lockers like FOR UPDATE but, unlike it, does not block other
    // transactions' foreign-key checks against the row (which would invite deadlocks).
    const selectLocked = () =>
      this.db
        .selectFrom('prompts')
        .selectAll()
        .where('project_id', '=', projectId)
        .where('name', '=', name)
        .$if(this.locksRows, (query) => query.forNoKeyUpdate())
        .executeTakeFirst();
    return translated(async () => {
      const existing = await selectLocked();
      if (existing !== undefined) return toPrompt(existing);
      // A concurrent creator's uncommitted row makes this insert wait for its commit, then do nothing;
      // the select after it then queues for the lock. (Selecting first spares the identity sequence.)
      await this.db
        .insertInto('prompts')
        .values({ project_id: projectId, name, head_version: 0, head_sha: null, created_at: at, updated_at: at })
        .onConflict((conflict) => conflict.columns(['project_id', 'name']).doNothing())
        .execute();
      const created = await selectLocked();
      if (created === undefined) throw new Error(`prompt ${name} vanished right after its insert`);
      return toPrompt(created);
    });
  }

  insertVersion(version: NewVersion): Promise<VersionRow> {
    return translated(async () => {
      await this.db
        .insertInto('versions')
        .values({
          project_id: version.projectId,
          prompt_id: version.promptId,
          version: version.version,
          sha: version.sha,
          content: version.content,
          parent_sha: version.parentSha,
          author: version.author,
          message: version.message,
          created_at: version.createdAt,
        })
        .execute();
      const row = await this.getVersionByNumber(version.promptId, version.version);
      if (row === undefined) throw new Error(`version ${version.version} vanished right after its insert`);
      return row;
    });
  }

  async setPromptHead(promptId: number, version: number, sha: string, at: string): Promise<void> {
    await this.db
      .updateTable('prompts')
      .set({ head_version: version, head_sha: sha, updated_at: at })
      .where('id', '=', promptId)
      .execute();
  }

  setLabel(label: {
    promptId: number;
    label: string;
    sha: string;
    version: number;
    updatedAt: string;
    updatedBy: string;
  }): Promise<void> {
    return translated(async () => {
      await this.db
        .insertInto('labels')
        .values({
          prompt_id: label.promptId,
          label: label.label,
          sha: label.sha,
          version: label.version,
          updated_at: label.updatedAt,
          updated_by: label.updatedBy,
        })
        .onConflict((conflict) =>
          conflict.columns(['prompt_id', 'label']).doUpdateSet((eb) => ({
            sha: eb.ref('excluded.sha'),
            version: eb.ref('excluded.version'),
            updated_at: eb.ref('excluded.updated_at'),
            updated_by: eb.ref('excluded.updated_by'),
          })),
        )
        .execute();
    });
  }

  insertDeployment(deployment: NewDeployment): Promise<DeploymentRow> {
    return translated(async () => {
      const { id } = await this.db
        .insertInto('deployments')
        .values({
          project_id: deployment.projectId,
          prompt_id: deployment.promptId,
          label: deployment.label,
          from_sha: deployment.fromSha,
          from_version: deployment.fromVersion,
          to_sha: deployment.toSha,
          to_version: deployment.toVersion,
          kind: deployment.kind,
          actor: deployment.actor,
          reason: deployment.reason,
          created_at: deployment.createdAt,
        })
        .returning('id')
        .executeTakeFirstOrThrow();
      const row = await this.deployments().where('deployments.id', '=', id).executeTakeFirstOrThrow();
      return toDeployment(row);
    });
  }

  appendAudit(entry: NewAuditEntry): Promise<AuditRow> {
    return translated(async () => {
      // The project row guards its chain: appenders queue on it, so each reads the true last entry.
      // (Lock order for callers that also push: lockPrompt first, then appendAudit.)
      await this.db
        .selectFrom('projects')
        .select('id')
        .where('id', '=', entry.projectId)
        .$if(this.locksRows, (query) => query.forNoKeyUpdate())
        .executeTakeFirstOrThrow(
          () => new PromptopsError('not_found', 'project_not_found', `project ${entry.projectId} does not exist`),
        );
      const last = await this.db
        .selectFrom('audit_log')
        .select(['seq', 'hash'])
        .where('project_id', '=', entry.projectId)
        .orderBy('seq', 'desc')
        .limit(1)
        .executeTakeFirst();

      // Hash what will be read back: the stored text, parsed, so `verify` recomputes the same hash.
      const dataText = canonicalJson(entry.data);
      const data = JSON.parse(dataText) as Record<string, unknown>;
      const seq = (last?.seq ?? 0) + 1;
      const prevHash = last?.hash ?? GENESIS_HASH;
      const { at, actor, action, target } = entry;
      const hash = auditHash({ seq, at, actor, action, target, data, prevHash });
      const mac = this.auditMac?.(entry.projectId, hash) ?? null;

      const row = {
        project_id: entry.projectId,
        seq,
        at,
        actor,
        action,
        target,
        data: dataText,
        prev_hash: prevHash,
        hash,
        mac,
      };
      await this.db.insertInto('audit_log').values(row).execute();
      if (!this.#audited.has(entry.projectId)) {
        this.#audited.add(entry.projectId);
        this.scope.afterCommit(() => this.announce(entry.projectId));
      }
      return toAudit(row);
    });
  }
}

/** The registry store's options: a SQLite file gets a stamp reader; `auditMac` seals every audit entry. */
export interface RegistryStoreOptions {
  readonly sqliteFile?: string;
  readonly auditMac?: AuditMac;
}

class KyselyRegistryStore extends KyselyReads implements RegistryStore {
  readonly #auditListeners = new Set<(projectId: number) => void>();
  readonly #stampReader: SqliteStampReader | undefined;
  readonly latestAuditSeqSoon?: NonNullable<RegistryStore['latestAuditSeqSoon']>;

  constructor(
    db: Kysely<Database>,
    private readonly dialect: SqlDialect,
    private readonly options: RegistryStoreOptions,
  ) {
    super(db);
    if (options.sqliteFile !== undefined) {
      const reader = new SqliteStampReader(options.sqliteFile);
      this.#stampReader = reader;
      this.latestAuditSeqSoon = (projectId, callback) => reader.readSoon(projectId, callback);
    }
  }

  onAuditCommitted(listener: (projectId: number) => void): () => void {
    // A wrapper per call, so the same function subscribed twice is also unsubscribed one at a time.
    const entry = (projectId: number): void => listener(projectId);
    this.#auditListeners.add(entry);
    return () => {
      this.#auditListeners.delete(entry);
    };
  }

  readonly #announce = (projectId: number): void => {
    for (const listener of this.#auditListeners) {
      try {
        listener(projectId);
      } catch {
        // A listener's failure is its own; the commit stands and the caller gets its result.
      }
    }
  };

  inTransaction(scope: TxScope): RegistryTx {
    return new KyselyTx(scope, this.dialect, this.options.auditMac, this.#announce);
  }

  close(): void {
    this.#stampReader?.close();
  }
}

/** The registry store over Kysely, its writer for one transaction, and `close` for its stamp reader. */
export const createRegistryStore = (
  db: Kysely<Database>,
  dialect: SqlDialect,
  options: RegistryStoreOptions = {},
): RegistryStore & { inTransaction(scope: TxScope): RegistryTx; close(): void } =>
  new KyselyRegistryStore(db, dialect, options);
