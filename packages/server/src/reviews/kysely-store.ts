import type { ChangeRequestStatus, ReviewEventKind, ReviewRole, RolloutConfig } from '@promptops/core';
import type { Kysely, Selectable } from 'kysely';
import type { Database, ReviewDatabase } from '../storage/schema.js';
import type { TxScope } from '../storage/transaction.js';
import type {
  ChangeRequestFilter,
  ChangeRequestRow,
  NewChangeRequest,
  OwnersRow,
  PolicyRow,
  ReviewEventRow,
  ReviewStore,
  ReviewTx,
  TeamRow,
} from './store.js';

type Db = Kysely<Database & ReviewDatabase>;
type ChangeRequestSelect = Selectable<ReviewDatabase['change_requests']> & { name: string };

const list = <T>(text: string): T[] => JSON.parse(text) as T[];

const toPolicy = (row: Selectable<ReviewDatabase['label_policies']>): PolicyRow => ({
  projectId: row.project_id,
  label: row.label,
  pattern: row.pattern,
  protected: Number(row.protected) === 1,
  approvals: row.approvals,
  minRole: row.min_role as ReviewRole,
  owners: list<string>(row.owners),
  codeOwners: Number(row.code_owners) === 1,
  suites: list<{ suite: string; passRate?: number }>(row.suites),
  authorMayApprove: Number(row.author_may_approve) === 1,
  noDrift: list<string>(row.no_drift),
  tenantSelfService: Number(row.tenant_self_service) === 1,
  updatedAt: row.updated_at,
  updatedBy: row.updated_by,
});

const toChangeRequest = (row: ChangeRequestSelect): ChangeRequestRow => ({
  id: row.id,
  projectId: row.project_id,
  promptId: row.prompt_id,
  name: row.name,
  label: row.label,
  status: row.status as ChangeRequestStatus,
  author: row.author,
  message: row.message,
  sha: row.sha,
  version: row.version,
  baseSha: row.base_sha,
  baseVersion: row.base_version,
  createdAt: row.created_at,
  updatedAt: row.updated_at,
  deploymentId: row.deployment_id,
  rollout: row.rollout === null ? null : (JSON.parse(row.rollout) as RolloutConfig),
  rolloutId: row.rollout_id,
});

const toEvent = (row: Selectable<ReviewDatabase['review_events']>): ReviewEventRow => ({
  id: row.id,
  changeRequestId: row.change_request_id,
  kind: row.kind as ReviewEventKind,
  actor: row.actor,
  sha: row.sha,
  comment: row.comment,
  at: row.at,
});

/** The review queries on one connection: the pool's (reads only, as typed) or a transaction's. */
const reviewQueries = (database: Kysely<Database>): ReviewTx => {
  const db: Db = database.withTables<ReviewDatabase>();
  const changeRequests = () =>
    db
      .selectFrom('change_requests')
      .innerJoin('prompts', 'prompts.id', 'change_requests.prompt_id')
      .selectAll('change_requests')
      .select('prompts.name');

  return {
    async listPolicies(projectId, label) {
      const rows = await db
        .selectFrom('label_policies')
        .selectAll()
        .where('project_id', '=', projectId)
        .$if(label !== undefined, (query) => query.where('label', '=', label ?? ''))
        .orderBy('label')
        .orderBy('pattern')
        .execute();
      return rows.map(toPolicy);
    },

    async listOwners(projectId) {
      const rows = await db
        .selectFrom('code_owners')
        .selectAll()
        .where('project_id', '=', projectId)
        .orderBy('pattern')
        .execute();
      return rows.map((row): OwnersRow => ({
        projectId: row.project_id,
        pattern: row.pattern,
        owners: list<string>(row.owners),
        updatedAt: row.updated_at,
        updatedBy: row.updated_by,
      }));
    },

    async listTeams(projectId) {
      const rows = await db
        .selectFrom('teams')
        .selectAll()
        .where('project_id', '=', projectId)
        .orderBy('team')
        .execute();
      return rows.map((row): TeamRow => ({
        projectId: row.project_id,
        team: row.team,
        members: list<string>(row.members),
        updatedAt: row.updated_at,
        updatedBy: row.updated_by,
      }));
    },

    async getChangeRequest(projectId, id) {
      const row = await changeRequests()
        .where('change_requests.project_id', '=', projectId)
        .where('change_requests.id', '=', id)
        .executeTakeFirst();
      return row && toChangeRequest(row);
    },

    async listChangeRequests(projectId, filter: ChangeRequestFilter) {
      const { status, promptId, label, beforeId } = filter;
      const rows = await changeRequests()
        .where('change_requests.project_id', '=', projectId)
        .$if(status !== undefined, (q) => q.where('change_requests.status', '=', status ?? 'open'))
        .$if(promptId !== undefined, (q) => q.where('change_requests.prompt_id', '=', promptId ?? 0))
        .$if(label !== undefined, (q) => q.where('change_requests.label', '=', label ?? ''))
        .$if(beforeId !== undefined, (q) => q.where('change_requests.id', '<', beforeId ?? 0))
        .orderBy('change_requests.id', 'desc')
        .limit(filter.limit)
        .execute();
      return rows.map(toChangeRequest);
    },

    async listReviewEvents(changeRequestId) {
      const rows = await db
        .selectFrom('review_events')
        .selectAll()
        .where('change_request_id', '=', changeRequestId)
        .orderBy('id')
        .execute();
      return rows.map(toEvent);
    },

    async listProjectReviewEvents(projectId, afterId, limit) {
      const rows = await db
        .selectFrom('review_events')
        .innerJoin('change_requests', 'change_requests.id', 'review_events.change_request_id')
        .selectAll('review_events')
        .where('change_requests.project_id', '=', projectId)
        .where('review_events.id', '>', afterId)
        .orderBy('review_events.id')
        .limit(limit)
        .execute();
      return rows.map(toEvent);
    },

    async listMergedChangeRequests(promptId) {
      const rows = await changeRequests()
        .where('change_requests.prompt_id', '=', promptId)
        .where('change_requests.status', '=', 'merged')
        .orderBy('change_requests.id')
        .execute();
      return rows.map(toChangeRequest);
    },

    async upsertPolicy(row) {
      const values = {
        project_id: row.projectId,
        label: row.label,
        pattern: row.pattern,
        protected: row.protected ? 1 : 0,
        approvals: row.approvals,
        min_role: row.minRole,
        owners: JSON.stringify(row.owners),
        code_owners: row.codeOwners ? 1 : 0,
        suites: JSON.stringify(row.suites),
        author_may_approve: row.authorMayApprove ? 1 : 0,
        no_drift: JSON.stringify(row.noDrift),
        tenant_self_service: row.tenantSelfService === true ? 1 : 0,
        updated_at: row.updatedAt,
        updated_by: row.updatedBy,
      };
      const { project_id: _p, label: _l, pattern: _pattern, ...changes } = values;
      await db
        .insertInto('label_policies')
        .values(values)
        .onConflict((conflict) => conflict.columns(['project_id', 'label', 'pattern']).doUpdateSet(changes))
        .execute();
    },

    async deletePolicy(projectId, label, pattern) {
      const result = await db
        .deleteFrom('label_policies')
        .where('project_id', '=', projectId)
        .where('label', '=', label)
        .where('pattern', '=', pattern)
        .executeTakeFirst();
      return Number(result.numDeletedRows) > 0;
    },

    async upsertOwners(row) {
      const changes = { owners: JSON.stringify(row.owners), updated_at: row.updatedAt, updated_by: row.updatedBy };
      await db
        .insertInto('code_owners')
        .values({ project_id: row.projectId, pattern: row.pattern, ...changes })
        .onConflict((conflict) => conflict.columns(['project_id', 'pattern']).doUpdateSet(changes))
        .execute();
    },

    async deleteOwners(projectId, pattern) {
      const result = await db
        .deleteFrom('code_owners')
        .where('project_id', '=', projectId)
        .where('pattern', '=', pattern)
        .executeTakeFirst();
      return Number(result.numDeletedRows) > 0;
    },

    async upsertTeam(row) {
      const changes = { members: JSON.stringify(row.members), updated_at: row.updatedAt, updated_by: row.updatedBy };
      await db
        .insertInto('teams')
        .values({ project_id: row.projectId, team: row.team, ...changes })
        .onConflict((conflict) => conflict.columns(['project_id', 'team']).doUpdateSet(changes))
        .execute();
    },

    async deleteTeam(projectId, team) {
      const result = await db
        .deleteFrom('teams')
        .where('project_id', '=', projectId)
        .where('team', '=', team)
        .executeTakeFirst();
      return Number(result.numDeletedRows) > 0;
    },

    async insertChangeRequest(row: NewChangeRequest) {
      const { id } = await db
        .insertInto('change_requests')
        .values({
          project_id: row.projectId,
          prompt_id: row.promptId,
          label: row.label,
          status: 'open',
          author: row.author,
          message: row.message,
          sha: row.sha,
          version: row.version,
          base_sha: row.baseSha,
          base_version: row.baseVersion,
          created_at: row.createdAt,
          updated_at: row.createdAt,
          deployment_id: null,
          rollout: row.rollout === null ? null : JSON.stringify(row.rollout),
          rollout_id: null,
        })
        .returning('id')
        .executeTakeFirstOrThrow();
      const created = await changeRequests().where('change_requests.id', '=', id).executeTakeFirstOrThrow();
      return toChangeRequest(created);
    },

    async updateChangeRequest(projectId, id, patch) {
      await db
        .updateTable('change_requests')
        .set({
          updated_at: patch.updatedAt,
          ...(patch.status === undefined ? {} : { status: patch.status }),
          ...(patch.sha === undefined ? {} : { sha: patch.sha }),
          ...(patch.version === undefined ? {} : { version: patch.version }),
          ...(patch.baseSha === undefined ? {} : { base_sha: patch.baseSha }),
          ...(patch.baseVersion === undefined ? {} : { base_version: patch.baseVersion }),
          ...(patch.deploymentId === undefined ? {} : { deployment_id: patch.deploymentId }),
          ...(patch.rolloutId === undefined ? {} : { rollout_id: patch.rolloutId }),
        })
        .where('project_id', '=', projectId)
        .where('id', '=', id)
        .execute();
    },

    async insertReviewEvent(row) {
      const inserted = await db
        .insertInto('review_events')
        .values({
          change_request_id: row.changeRequestId,
          kind: row.kind,
          actor: row.actor,
          sha: row.sha,
          comment: row.comment,
          at: row.at,
        })
        .returningAll()
        .executeTakeFirstOrThrow();
      return toEvent(inserted);
    },
  };
};

/** The review store over Kysely, for both databases, and its writer for one transaction. */
export const createReviewStore = (db: Kysely<Database>): ReviewStore & { inTransaction(scope: TxScope): ReviewTx } => ({
  ...reviewQueries(db),
  inTransaction: (scope) => reviewQueries(scope.db),
});
