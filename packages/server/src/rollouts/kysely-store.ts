import type { RolloutConfig, RolloutMode, RolloutState, TargetingRule } from '@promptops/core';
import type { Kysely, Selectable } from 'kysely';
import type { SqlDialect } from '../storage/dialect.js';
import type { Database, RolloutTables } from '../storage/schema.js';
import type { TxScope } from '../storage/transaction.js';
import type {
  DecisionAction,
  RolloutDecisionRow,
  RolloutReads,
  RolloutRow,
  RolloutStore,
  RolloutTx,
  SnapshotRolloutRow,
} from './store.js';

type Db = Kysely<Database & RolloutTables>;
type RolloutSelect = Selectable<RolloutTables['rollouts']> & { name: string };

const ACTIVE: readonly RolloutState[] = ['draft', 'running', 'paused'];

const toRollout = (row: RolloutSelect): RolloutRow => ({
  id: row.id,
  projectId: row.project_id,
  promptId: row.prompt_id,
  name: row.name,
  label: row.label,
  mode: row.mode as RolloutMode,
  baselineSha: row.baseline_sha,
  candidateSha: row.candidate_sha,
  candidateVersion: row.candidate_version,
  salt: row.salt,
  config: JSON.parse(row.config) as RolloutConfig,
  state: row.state as RolloutState,
  stepIndex: row.step_index,
  stepStartedAt: row.step_started_at,
  reason: row.reason,
  createdBy: row.created_by,
  createdAt: row.created_at,
  updatedAt: row.updated_at,
  endedAt: row.ended_at,
  rules: row.rules === null ? null : (JSON.parse(row.rules) as TargetingRule[]),
  killed: row.killed === 1,
});

const toDecision = (row: Selectable<RolloutTables['rollout_decisions']>): RolloutDecisionRow => ({
  id: row.id,
  rolloutId: row.rollout_id,
  projectId: row.project_id,
  at: row.at,
  action: row.action as DecisionAction,
  actor: row.actor,
  reason: row.reason,
  figures: row.figures === null ? null : (JSON.parse(row.figures) as unknown),
});

const reads = (db: Db): RolloutReads => {
  const rollouts = () =>
    db
      .selectFrom('rollouts')
      .innerJoin('prompts', 'prompts.id', 'rollouts.prompt_id')
      .selectAll('rollouts')
      .select('prompts.name');
  return {
    async getRollout(projectId, id) {
      const row = await rollouts()
        .where('rollouts.project_id', '=', projectId)
        .where('rollouts.id', '=', id)
        .executeTakeFirst();
      return row && toRollout(row);
    },

    async listRollouts(projectId, filter) {
      const rows = await rollouts()
        .where('rollouts.project_id', '=', projectId)
        .$if(filter.promptId !== undefined, (q) => q.where('rollouts.prompt_id', '=', filter.promptId!))
        .$if(filter.label !== undefined, (q) => q.where('rollouts.label', '=', filter.label!))
        .$if(filter.state !== undefined, (q) => q.where('rollouts.state', '=', filter.state!))
        .orderBy('rollouts.created_at', 'desc')
        .orderBy('rollouts.id', 'desc')
        .limit(filter.limit)
        .execute();
      return rows.map(toRollout);
    },

    async activeRollout(projectId, promptId, label) {
      const row = await rollouts()
        .where('rollouts.project_id', '=', projectId)
        .where('rollouts.prompt_id', '=', promptId)
        .where('rollouts.label', '=', label)
        .where('rollouts.state', 'in', ACTIVE)
        .executeTakeFirst();
      return row && toRollout(row);
    },

    async snapshotRollouts(projectId) {
      const rows = await rollouts()
        .innerJoin('versions', (join) =>
          join
            .onRef('versions.prompt_id', '=', 'rollouts.prompt_id')
            .onRef('versions.sha', '=', 'rollouts.candidate_sha'),
        )
        .select('versions.content as candidate_content')
        .where('rollouts.project_id', '=', projectId)
        .where('rollouts.state', 'in', ['running', 'paused'])
        .orderBy('prompts.name')
        .orderBy('rollouts.label')
        .execute();
      return rows.map((row): SnapshotRolloutRow => ({ ...toRollout(row), candidateContent: row.candidate_content }));
    },

    async runningRollouts() {
      const rows = await rollouts().where('rollouts.state', '=', 'running').orderBy('rollouts.created_at').execute();
      return rows.map(toRollout);
    },

    async listDecisions(projectId, rolloutId) {
      const rows = await db
        .selectFrom('rollout_decisions')
        .selectAll()
        .where('project_id', '=', projectId)
        .where('rollout_id', '=', rolloutId)
        .orderBy('id')
        .execute();
      return rows.map(toDecision);
    },
  };
};

const writes = (db: Db, dialect: SqlDialect): RolloutTx => {
  const read = reads(db);
  return {
    ...read,

    async lockRollout(projectId, id) {
      if (dialect.locksRows) {
        await db
          .selectFrom('rollouts')
          .select('id')
          .where('project_id', '=', projectId)
          .where('id', '=', id)
          .forUpdate()
          .execute();
      }
      return read.getRollout(projectId, id);
    },

    async insertRollout(row) {
      await db
        .insertInto('rollouts')
        .values({
          id: row.id,
          project_id: row.projectId,
          prompt_id: row.promptId,
          label: row.label,
          mode: row.mode,
          baseline_sha: row.baselineSha,
          candidate_sha: row.candidateSha,
          candidate_version: row.candidateVersion,
          salt: row.salt,
          config: JSON.stringify(row.config),
          state: row.state,
          step_index: row.stepIndex,
          step_started_at: row.stepStartedAt,
          reason: row.reason,
          created_by: row.createdBy,
          created_at: row.createdAt,
          updated_at: row.createdAt,
          ended_at: null,
        })
        .execute();
      return (await read.getRollout(row.projectId, row.id))!;
    },

    async updateRollout(projectId, id, patch) {
      await db
        .updateTable('rollouts')
        .set({
          updated_at: patch.updatedAt,
          ...(patch.state === undefined ? {} : { state: patch.state }),
          ...(patch.stepIndex === undefined ? {} : { step_index: patch.stepIndex }),
          ...(patch.stepStartedAt === undefined ? {} : { step_started_at: patch.stepStartedAt }),
          ...(patch.reason === undefined ? {} : { reason: patch.reason }),
          ...(patch.endedAt === undefined ? {} : { ended_at: patch.endedAt }),
          ...(patch.rules === undefined ? {} : { rules: patch.rules === null ? null : JSON.stringify(patch.rules) }),
          ...(patch.killed === undefined ? {} : { killed: patch.killed ? 1 : 0 }),
        })
        .where('project_id', '=', projectId)
        .where('id', '=', id)
        .execute();
      return (await read.getRollout(projectId, id))!;
    },

    async insertDecision(row) {
      const inserted = await db
        .insertInto('rollout_decisions')
        .values({
          rollout_id: row.rolloutId,
          project_id: row.projectId,
          at: row.at,
          action: row.action,
          actor: row.actor,
          reason: row.reason,
          figures: row.figures === null ? null : JSON.stringify(row.figures),
        })
        .returningAll()
        .executeTakeFirstOrThrow();
      return toDecision(inserted);
    },
  };
};

/** The rollout store over Kysely, for both databases, and its writer for one transaction. */
export const createRolloutStore = (database: Kysely<Database>, dialect: SqlDialect): RolloutStore => {
  const db = database as unknown as Db;
  return {
    ...reads(db),
    inTransaction: (scope: TxScope) => writes(scope.db as unknown as Db, dialect),
  };
};
