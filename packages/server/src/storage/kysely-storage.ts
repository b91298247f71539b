import { auditHash, canonicalJson, GENESIS_HASH, PromptopsError } from '@promptops/core';
import type { DeploymentKind } from '@promptops/core';
import { sql } from 'kysely';
import type { CompiledQuery, Kysely, Selectable } from 'kysely';
import { createAccessReads, createAccessWrites } from './access-store.js';
import type { AccessReads, AccessTx } from './access-port.js';
import { dialectNamed } from './dialect.js';
import { migrateToLatest } from './migrations/index.js';
import { createTraceStore, type TraceStoreHandle } from '../traces/store/index.js';
import type { RollupOptions } from '../traces/store/rollups.js';
import { SqliteStampReader } from './sqlite-stamp-reader.js';
import { toStorageError, translated } from './storage-errors.js';
import { writeTransaction } from './write-transaction.js';
import { createEvalStore, createEvalWrites } from './eval-store.js';
import type { EvalStore, EvalTx } from './eval-port.js';
import { createReviewStore } from './review-store.js';
import type { ReviewTx } from './review-port.js';
import type {
  ApiKeyRow,
  AuditQuery,
  AuditRow,
  DeploymentRow,
  Dialect,
  LabeledVersionRow,
  LabelRow,
  NewAuditEntry,
  NewDeployment,
  NewVersion,
  Page,
  ProjectRow,
  PromptRow,
  RegistryReads,
  RegistryTx,
  Role,
  Storage,
  VersionRow,
} from './port.js';
import type { TraceStore } from '../traces/store.js';
import type {
  ApiKeysTable,
  AuditLogTable,
  Database,
  DeploymentsTable,
  LabelsTable,
  ProjectsTable,
  PromptsTable,
  VersionsTable,
} from './schema.js';

/**
 * The one implementation of the storage port, over Kysely, for both SQLite and PostgreSQL. The dialects
 * differ only in how a transaction starts and whether rows can be locked; everything else is shared SQL.
 */

/** Authenticates a new audit entry's hash with a key the database never sees (the server's audit key). */
export type AuditMac = (projectId: number, hash: string) => string;

/** Escape hatch for tests and DBA tooling (e.g. dropping the append-only triggers). Never for application code. */
export interface RawSqlAccess {
  /** Runs one SQL statement as is and returns its rows (none for statements that return none). */
  rawSql(statement: string): Promise<Record<string, unknown>[]>;
}

const toProject = (row: Selectable<ProjectsTable>): ProjectRow => ({
  id: row.id,
  name: row.name,
  createdAt: row.created_at,
});

const toApiKey = (row: Selectable<ApiKeysTable>): ApiKeyRow => ({
  id: row.id,
  projectId: row.project_id,
  keyId: row.key_id,
  hash: row.hash,
  role: row.role as Role,
  name: row.name,
  createdBy: row.created_by,
  createdAt: row.created_at,
  lastUsedAt: row.last_used_at,
  revokedAt: row.revoked_at,
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

// The access reads and writes live in access-store.ts and are mixed in (declaration merging below).
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging, @typescript-eslint/no-empty-object-type
interface KyselyReads extends AccessReads {}

// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
class KyselyReads implements RegistryReads {
  constructor(
    protected readonly db: Kysely<Database>,
    readonly dialect: Dialect,
  ) {
    Object.assign(this, createAccessReads(db));
  }

  #reviews: ReviewTx | undefined;
  /** The review store on this connection (its writes are typed away outside transactions). */
  get reviews(): ReviewTx {
    this.#reviews ??= createReviewStore(this.db);
    return this.#reviews;
  }

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

  async findApiKey(keyId: string): Promise<ApiKeyRow | undefined> {
    const row = await this.db.selectFrom('api_keys').selectAll().where('key_id', '=', keyId).executeTakeFirst();
    return row && toApiKey(row);
  }

  async listApiKeys(projectId: number): Promise<ApiKeyRow[]> {
    const rows = await this.db
      .selectFrom('api_keys')
      .selectAll()
      .where('project_id', '=', projectId)
      .orderBy('id')
      .execute();
    return rows.map(toApiKey);
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

// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging, @typescript-eslint/no-empty-object-type
interface KyselyTx extends Omit<AccessTx, keyof AccessReads> {}

/** The writes, bound to one open transaction (`db` is the transaction's connection). */
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
class KyselyTx extends KyselyReads implements RegistryTx {
  constructor(
    db: Kysely<Database>,
    dialect: Dialect,
    /** Projects whose audit log this transaction appended to, announced once it commits. */
    readonly audited: Set<number>,
    private readonly auditMac: AuditMac | undefined,
  ) {
    super(db, dialect);
    Object.assign(this, createAccessWrites(db, dialect));
  }

  #evals: EvalTx | undefined;
  /** Eval suite and run inserts on this transaction (eval-store.ts). */
  get evals(): EvalTx {
    this.#evals ??= createEvalWrites(this.db);
    return this.#evals;
  }

  /** Row locks exist on PostgreSQL only; on SQLite, BEGIN IMMEDIATE already made this the only writer. */
  private get locksRows(): boolean {
    return dialectNamed(this.dialect).locksRows;
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

  async revokeApiKey(projectId: number, keyId: string, at: string): Promise<boolean> {
    const result = await this.db
      .updateTable('api_keys')
      .set({ revoked_at: at })
      .where('project_id', '=', projectId)
      .where('key_id', '=', keyId)
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
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
      this.audited.add(entry.projectId);
      return toAudit(row);
    });
  }
}

export class KyselyStorage extends KyselyReads implements Storage, RawSqlAccess {
  readonly #auditListeners = new Set<(projectId: number) => void>();
  // Traces: the store, its writer thread and ingestion live in the traces feature (traces/store/index.ts).
  readonly #traces: TraceStoreHandle;
  readonly insertTraces: TraceStore['insertTraces'] = (...args) => this.#traces.insertTraces(...args);
  readonly queryTraces: TraceStore['queryTraces'] = (...args) => this.#traces.queryTraces(...args);
  readonly getTrace: TraceStore['getTrace'] = (...args) => this.#traces.getTrace(...args);
  readonly insertScore: TraceStore['insertScore'] = (...args) => this.#traces.insertScore(...args);
  readonly listScores: TraceStore['listScores'] = (...args) => this.#traces.listScores(...args);
  readonly traceMetrics: TraceStore['traceMetrics'] = (...args) => this.#traces.traceMetrics(...args);
  readonly deleteTracesBefore: TraceStore['deleteTracesBefore'] = (...args) => this.#traces.deleteTracesBefore(...args);
  readonly deleteRollupsBefore: TraceStore['deleteRollupsBefore'] = (...args) =>
    this.#traces.deleteRollupsBefore(...args);
  readonly backfillTraceRollups: TraceStore['backfillTraceRollups'] = (...args) =>
    this.#traces.backfillTraceRollups(...args);
  readonly foldTraceRollups: TraceStore['foldTraceRollups'] = (...args) => this.#traces.foldTraceRollups(...args);
  readonly traceRollupStatus: TraceStore['traceRollupStatus'] = () => this.#traces.traceRollupStatus();
  // Eval suites and runs: the SQL lives in eval-store.ts.
  readonly #evals: EvalStore;
  readonly listEvalSuites: EvalStore['listEvalSuites'] = (...args) => this.#evals.listEvalSuites(...args);
  readonly listEvalSuiteVersions: EvalStore['listEvalSuiteVersions'] = (...args) =>
    this.#evals.listEvalSuiteVersions(...args);
  readonly getEvalSuite: EvalStore['getEvalSuite'] = (...args) => this.#evals.getEvalSuite(...args);
  readonly latestEvalSuite: EvalStore['latestEvalSuite'] = (...args) => this.#evals.latestEvalSuite(...args);
  readonly listEvalSuitePrompts: EvalStore['listEvalSuitePrompts'] = (...args) =>
    this.#evals.listEvalSuitePrompts(...args);
  readonly listEvalRuns: EvalStore['listEvalRuns'] = (...args) => this.#evals.listEvalRuns(...args);
  readonly getEvalRun: EvalStore['getEvalRun'] = (...args) => this.#evals.getEvalRun(...args);
  readonly listEvalRunCases: EvalStore['listEvalRunCases'] = (...args) => this.#evals.listEvalRunCases(...args);
  readonly listEvalRunVerdicts: EvalStore['listEvalRunVerdicts'] = (...args) =>
    this.#evals.listEvalRunVerdicts(...args);
  readonly latestEvalRun: EvalStore['latestEvalRun'] = (...args) => this.#evals.latestEvalRun(...args);

  /**
   * `sqliteFile` (a SQLite file database) or `postgresUrl`: trace inserts then run on a worker thread with a
   * connection of its own (traces/ingest/writer.ts). `auditMac`: every appended audit entry carries its
   * HMAC. `rollups`: the metrics rollups' options (traces/store/rollups.ts), from the environment unless given.
   */
  constructor(
    db: Kysely<Database>,
    dialect: Dialect,
    options: {
      readonly sqliteFile?: string;
      readonly postgresUrl?: string;
      readonly auditMac?: AuditMac;
      readonly rollups?: RollupOptions;
    } = {},
  ) {
    super(db, dialect);
    this.#auditMac = options.auditMac;
    this.#traces = createTraceStore(db, dialect, {
      ...(options.sqliteFile === undefined ? {} : { sqliteFile: options.sqliteFile }),
      ...(options.postgresUrl === undefined ? {} : { postgresUrl: options.postgresUrl }),
      ...(options.rollups === undefined ? {} : { rollups: options.rollups }),
    });
    const { ingest } = this.#traces;
    this.ingestTraceBody = (...args) => ingest.ingestBody(...args);
    if (options.sqliteFile !== undefined) {
      this.#stampReader = new SqliteStampReader(options.sqliteFile);
      const reader = this.#stampReader;
      this.latestAuditSeqSoon = (projectId, callback) => reader.readSoon(projectId, callback);
    }
    this.#evals = createEvalStore(db);
  }

  readonly #stampReader: SqliteStampReader | undefined;
  readonly #auditMac: AuditMac | undefined;
  readonly ingestTraceBody: Storage['ingestTraceBody'];
  readonly latestAuditSeqSoon?: NonNullable<Storage['latestAuditSeqSoon']>;

  async migrate(): Promise<void> {
    await migrateToLatest(this.db, dialectNamed(this.dialect));
  }

  onAuditCommitted(listener: (projectId: number) => void): () => void {
    // A wrapper per call, so the same function subscribed twice is also unsubscribed one at a time.
    const entry = (projectId: number): void => listener(projectId);
    this.#auditListeners.add(entry);
    return () => {
      this.#auditListeners.delete(entry);
    };
  }

  async transaction<T>(fn: (tx: RegistryTx) => Promise<T>): Promise<T> {
    const audited = new Set<number>();
    const result = await this.#transaction(fn, audited);
    for (const projectId of audited) {
      for (const listener of this.#auditListeners) {
        try {
          listener(projectId);
        } catch {
          // A listener's failure is its own; the commit stands and the caller gets its result.
        }
      }
    }
    return result;
  }

  async #transaction<T>(fn: (tx: RegistryTx) => Promise<T>, audited: Set<number>): Promise<T> {
    try {
      return await writeTransaction(this.db, this.dialect, (db) =>
        fn(new KyselyTx(db, this.dialect, audited, this.#auditMac)),
      );
    } catch (error) {
      throw toStorageError(error);
    }
  }

  async touchApiKey(keyId: string, at: string): Promise<void> {
    await this.db.updateTable('api_keys').set({ last_used_at: at }).where('key_id', '=', keyId).execute();
  }

  async rawSql(statement: string): Promise<Record<string, unknown>[]> {
    const result = await sql.raw<Record<string, unknown>>(statement).execute(this.db);
    return result.rows;
  }

  async close(): Promise<void> {
    this.#stampReader?.close();
    await this.#traces.close();
    await this.db.destroy();
  }
}
