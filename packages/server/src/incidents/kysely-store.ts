import { sql, type Generated, type Kysely, type Selectable } from 'kysely';
import type { Database } from '../storage/schema.js';
import type { TxScope } from '../storage/transaction.js';
import type { IncidentEventRow, IncidentRow, IncidentStore, IncidentTx, MonitorRow, VersionWindow } from './store.js';

/** The tables of migration 0014, as Kysely sees them. */
export type IncidentTables = {
  monitors: {
    id: Generated<number>;
    project_id: number;
    prompt_id: number;
    prompt_name: string;
    label: string;
    config: string;
    created_by: string;
    created_at: string;
    last_fired_at: string | null;
    last_looked_at: string | null;
    last_reason: string | null;
  };
  incidents: {
    id: Generated<number>;
    project_id: number;
    prompt_id: number;
    prompt_name: string;
    label: string;
    title: string;
    state: string;
    monitor_id: number | null;
    bad_sha: string | null;
    introduced_deployment_id: number | null;
    detection: string | null;
    opened_by: string;
    opened_at: string;
    updated_at: string;
  };
  incident_events: {
    id: Generated<number>;
    incident_id: number;
    project_id: number;
    at: string;
    kind: string;
    actor: string;
    data: string | null;
  };
};

type Db = Kysely<Database & IncidentTables>;

const toMonitor = (row: Selectable<IncidentTables['monitors']>): MonitorRow => ({
  id: Number(row.id),
  projectId: Number(row.project_id),
  promptId: Number(row.prompt_id),
  promptName: row.prompt_name,
  label: row.label,
  config: row.config,
  createdBy: row.created_by,
  createdAt: row.created_at,
  lastFiredAt: row.last_fired_at,
  lastLookedAt: row.last_looked_at,
  lastReason: row.last_reason,
});

const toIncident = (row: Selectable<IncidentTables['incidents']>): IncidentRow => ({
  id: Number(row.id),
  projectId: Number(row.project_id),
  promptId: Number(row.prompt_id),
  promptName: row.prompt_name,
  label: row.label,
  title: row.title,
  state: row.state as IncidentRow['state'],
  monitorId: row.monitor_id === null ? null : Number(row.monitor_id),
  badSha: row.bad_sha,
  introducedDeploymentId: row.introduced_deployment_id === null ? null : Number(row.introduced_deployment_id),
  detection: row.detection,
  openedBy: row.opened_by,
  openedAt: row.opened_at,
  updatedAt: row.updated_at,
});

const writes = (database: Kysely<Database>): IncidentTx => {
  const db: Db = database.withTables<IncidentTables>();
  return {
    async insertMonitor(row) {
      const inserted = await db
        .insertInto('monitors')
        .values({
          project_id: row.projectId,
          prompt_id: row.promptId,
          prompt_name: row.promptName,
          label: row.label,
          config: row.config,
          created_by: row.createdBy,
          created_at: row.createdAt,
          last_fired_at: null,
          last_looked_at: null,
          last_reason: null,
        })
        .returningAll()
        .executeTakeFirstOrThrow();
      return toMonitor(inserted);
    },
    async deleteMonitor(projectId, id) {
      const result = await db
        .deleteFrom('monitors')
        .where('project_id', '=', projectId)
        .where('id', '=', id)
        .executeTakeFirst();
      return Number(result.numDeletedRows) > 0;
    },
    async recordLook(id, look) {
      await db
        .updateTable('monitors')
        .set({
          last_looked_at: look.at,
          last_reason: look.reason,
          ...(look.fired ? { last_fired_at: look.at } : {}),
        })
        .where('id', '=', id)
        .execute();
    },
    async insertIncident(row) {
      const inserted = await db
        .insertInto('incidents')
        .values({
          project_id: row.projectId,
          prompt_id: row.promptId,
          prompt_name: row.promptName,
          label: row.label,
          title: row.title,
          state: row.state,
          monitor_id: row.monitorId,
          bad_sha: row.badSha,
          introduced_deployment_id: row.introducedDeploymentId,
          detection: row.detection,
          opened_by: row.openedBy,
          opened_at: row.openedAt,
          updated_at: row.openedAt,
        })
        .returningAll()
        .executeTakeFirstOrThrow();
      return toIncident(inserted);
    },
    async setIncidentState(id, state, at) {
      await db.updateTable('incidents').set({ state, updated_at: at }).where('id', '=', id).execute();
    },
    async appendIncidentEvent(projectId, event) {
      await db
        .insertInto('incident_events')
        .values({
          incident_id: event.incidentId,
          project_id: projectId,
          at: event.at,
          kind: event.kind,
          actor: event.actor,
          data: event.data,
        })
        .execute();
    },
  };
};

export const createIncidentStore = (
  database: Kysely<Database>,
): IncidentStore & { inTransaction(scope: TxScope): IncidentTx } => {
  const db: Db = database.withTables<IncidentTables>();
  return {
    async listMonitors(projectId, promptId) {
      let query = db.selectFrom('monitors').selectAll().where('project_id', '=', projectId);
      if (promptId !== undefined) query = query.where('prompt_id', '=', promptId);
      return (await query.orderBy('id').execute()).map(toMonitor);
    },
    async allMonitors() {
      return (await db.selectFrom('monitors').selectAll().orderBy('id').execute()).map(toMonitor);
    },
    async getMonitor(projectId, id) {
      const row = await db
        .selectFrom('monitors')
        .selectAll()
        .where('project_id', '=', projectId)
        .where('id', '=', id)
        .executeTakeFirst();
      return row === undefined ? undefined : toMonitor(row);
    },
    async listIncidents(projectId, options = {}) {
      let query = db.selectFrom('incidents').selectAll().where('project_id', '=', projectId);
      if (options.state !== undefined) query = query.where('state', '=', options.state);
      return (await query.orderBy('id', 'desc').execute()).map(toIncident);
    },
    async getIncident(projectId, id) {
      const row = await db
        .selectFrom('incidents')
        .selectAll()
        .where('project_id', '=', projectId)
        .where('id', '=', id)
        .executeTakeFirst();
      return row === undefined ? undefined : toIncident(row);
    },
    async activeIncident(projectId, promptId, label) {
      const row = await db
        .selectFrom('incidents')
        .selectAll()
        .where('project_id', '=', projectId)
        .where('prompt_id', '=', promptId)
        .where('label', '=', label)
        .where('state', '!=', 'resolved')
        .orderBy('id', 'desc')
        .executeTakeFirst();
      return row === undefined ? undefined : toIncident(row);
    },
    async listIncidentEvents(projectId, incidentId) {
      const rows = await db
        .selectFrom('incident_events')
        .selectAll()
        .where('project_id', '=', projectId)
        .where('incident_id', '=', incidentId)
        .orderBy('id')
        .execute();
      return rows.map((row): IncidentEventRow => ({
        id: Number(row.id),
        incidentId: Number(row.incident_id),
        at: row.at,
        kind: row.kind,
        actor: row.actor,
        data: row.data,
      }));
    },
    // Raw trace rows rather than rollups, as the rollouts' figures: the tests need sums of squares.
    async versionWindow(projectId, query): Promise<VersionWindow> {
      const window = sql`t.project_id = ${projectId} and t.prompt_sha = ${query.sha} and t.prompt_name = ${query.promptName}
        and t.created_at_ms >= ${query.fromMs} and t.created_at_ms < ${query.toMs} and t.shadow_of is null
        ${query.label === undefined ? sql`` : sql`and t.label = ${query.label}`}`;
      const calls = await sql<{
        n: number;
        first: number | null;
        errors: number | null;
        lat_n: number;
        lat_sum: number;
        lat_sq: number;
      }>`
        select count(*) as n, min(t.created_at_ms) as first, sum(case when t.status = 'error' then 1 else 0 end) as errors,
          count(t.latency_ms) as lat_n, coalesce(sum(t.latency_ms), 0) as lat_sum,
          coalesce(sum(t.latency_ms * t.latency_ms), 0) as lat_sq
        from traces t where ${window}`.execute(database);
      const scores = await sql<{ kind: string; n: number; total: number; sq: number; down: number | null }>`
        select s.kind as kind, count(s.value) as n, coalesce(sum(s.value), 0) as total,
          coalesce(sum(s.value * s.value), 0) as sq, sum(case when s.value < 1 then 1 else 0 end) as down
        from trace_scores s inner join traces t on t.id = s.trace_row_id
        where ${window} and s.kind in ('numeric', 'thumbs') and s.value is not null
        group by s.kind`.execute(database);
      const c = calls.rows[0];
      const numeric = scores.rows.find((row) => row.kind === 'numeric');
      const thumbs = scores.rows.find((row) => row.kind === 'thumbs');
      const n = Number(c?.n ?? 0);
      return {
        calls: n,
        firstAtMs: c?.first == null ? null : Number(c.first),
        errors: { count: n, events: Number(c?.errors ?? 0) },
        latency: { count: Number(c?.lat_n ?? 0), sum: Number(c?.lat_sum ?? 0), sumOfSquares: Number(c?.lat_sq ?? 0) },
        score: {
          count: Number(numeric?.n ?? 0),
          sum: Number(numeric?.total ?? 0),
          sumOfSquares: Number(numeric?.sq ?? 0),
        },
        thumbsDown: { count: Number(thumbs?.n ?? 0), events: Number(thumbs?.down ?? 0) },
      };
    },
    async labelCalls(projectId, query) {
      const result = await sql<{ n: number }>`select count(*) as n from traces t
        where t.project_id = ${projectId} and t.prompt_name = ${query.promptName} and t.label = ${query.label}
          and t.created_at_ms >= ${query.fromMs} and t.created_at_ms < ${query.toMs} and t.shadow_of is null`.execute(
        database,
      );
      return Number(result.rows[0]?.n ?? 0);
    },
    inTransaction: (scope) => writes(scope.db),
  };
};
