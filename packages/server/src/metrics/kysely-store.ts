import type { Kysely } from 'kysely';
import type { Database, EvalTables, RolloutTables } from '../storage/schema.js';
import type { CountRow, MetricsReads, SeriesRow } from './store.js';

type Db = Kysely<Database & EvalTables & RolloutTables>;

const MINUTE_MS = 60_000;

const counts = (rows: { project: string; key: string | null; count: number | string | bigint }[]): CountRow[] =>
  rows.map((row) => ({ project: row.project, key: row.key ?? '', count: Number(row.count) }));

/** The scrape's reads in Kysely, for both databases: grouped counts, no row is returned one by one. */
export const createMetricsStore = (database: Kysely<Database>): MetricsReads => {
  const db = database as unknown as Db;
  return {
    async evalRuns(projectId) {
      let query = db
        .selectFrom('eval_runs')
        .innerJoin('projects', 'projects.id', 'eval_runs.project_id')
        .select((eb) => ['projects.name as project', eb.val('').as('key'), eb.fn.countAll().as('count')])
        .groupBy('projects.name');
      if (projectId !== undefined) query = query.where('eval_runs.project_id', '=', projectId);
      return counts(await query.execute());
    },

    async rolloutsByState(projectId) {
      let query = db
        .selectFrom('rollouts')
        .innerJoin('projects', 'projects.id', 'rollouts.project_id')
        .select((eb) => ['projects.name as project', 'rollouts.state as key', eb.fn.countAll().as('count')])
        .groupBy(['projects.name', 'rollouts.state']);
      if (projectId !== undefined) query = query.where('rollouts.project_id', '=', projectId);
      return counts(await query.execute());
    },

    async labelMovesByKind(projectId) {
      let query = db
        .selectFrom('deployments')
        .innerJoin('projects', 'projects.id', 'deployments.project_id')
        .select((eb) => ['projects.name as project', 'deployments.kind as key', eb.fn.countAll().as('count')])
        .groupBy(['projects.name', 'deployments.kind']);
      if (projectId !== undefined) query = query.where('deployments.project_id', '=', projectId);
      return counts(await query.execute());
    },

    async seriesSince(projectId, sinceMs) {
      let query = db
        .selectFrom('trace_rollups as r')
        .innerJoin('trace_rollup_series as s', 's.id', 'r.series_id')
        .innerJoin('projects', 'projects.id', 'r.project_id')
        .select((eb) => [
          'projects.name as project',
          's.prompt_name as prompt',
          's.label as label',
          's.prompt_sha as promptSha',
          's.effective_sha as effectiveSha',
          eb.fn.sum<number | string>('r.count').as('calls'),
          eb.fn.sum<number | string>('r.errors').as('errors'),
        ])
        .where('r.grain_ms', '=', MINUTE_MS)
        .where('r.bucket_ms', '>=', Math.floor(sinceMs / MINUTE_MS) * MINUTE_MS)
        .groupBy(['projects.name', 's.prompt_name', 's.label', 's.prompt_sha', 's.effective_sha']);
      if (projectId !== undefined) query = query.where('r.project_id', '=', projectId);
      // The sha that served: the effective one when it differs from the requested one ('' when it does not).
      const merged = new Map<string, SeriesRow>();
      for (const row of await query.execute()) {
        const sha = row.effectiveSha === '' ? row.promptSha : row.effectiveSha;
        const key = JSON.stringify([row.project, row.prompt, row.label, sha]);
        const before = merged.get(key);
        merged.set(key, {
          project: row.project,
          prompt: row.prompt,
          label: row.label,
          sha,
          calls: (before?.calls ?? 0) + Number(row.calls),
          errors: (before?.errors ?? 0) + Number(row.errors),
        });
      }
      return [...merged.values()].sort((a, b) => b.calls - a.calls);
    },
  };
};
