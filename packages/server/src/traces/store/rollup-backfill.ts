import { sql, type Kysely } from 'kysely';
import type { SqlDialect } from '../../storage/dialect.js';
import type { TraceRollupStatus } from '../store.js';
import type { Database } from '../../storage/schema.js';
import type { RollupEvent, RollupScore } from './rollup-deltas.js';
import { applyRollups, kyselyRollupSql, type RollupCache } from './rollups.js';

/**
 * The backfill of the traces stored before the rollups existed (migration 0007 recorded their last id and
 * their scores' last id). One step: in one transaction, the next `limit` traces after the watermark, with
 * their scores up to that score id (later scores were added when posted), are added to the rollups and the
 * watermark moves past them. A crash rolls the step back whole; the next step starts from the stored
 * watermark. PostgreSQL: the state row is locked FOR UPDATE, so replicas take turns; SQLite: BEGIN
 * IMMEDIATE. Each step is one short write transaction, so ingestion waits for at most one.
 */

interface State {
  trace_until: number;
  score_until: number;
  trace_done: number;
}

const readState = async (db: Kysely<Database>, lock: boolean): Promise<State | undefined> => {
  const result = await sql<State>`select trace_until, score_until, trace_done from trace_rollup_backfill where id = 1 ${
    lock ? sql`for update` : sql``
  }`.execute(db);
  const row = result.rows[0];
  return (
    row && {
      trace_until: Number(row.trace_until),
      score_until: Number(row.score_until),
      trace_done: Number(row.trace_done),
    }
  );
};

export const rollupStatus = async (db: Kysely<Database>, enabled: boolean): Promise<TraceRollupStatus> => {
  const state = await readState(db, false);
  const until = state?.trace_until ?? 0;
  const done = state?.trace_done ?? 0;
  return { enabled, backfilled: done >= until, backfillUntil: until, backfillDone: done };
};

interface TraceDims {
  id: number;
  project_id: number;
  prompt_name: string | null;
  prompt_sha: string | null;
  effective_sha: string | null;
  label: string | null;
  tenant: string | null;
  rollout_id: string | null;
  rollout_arm: string | null;
  status: string;
  latency_ms: number | null;
  input_tokens: number | null;
  output_tokens: number | null;
  cost: number | null;
  started_at_ms: number;
}

/** The trace columns a rollup event is made of. */
export const TRACE_DIM_COLUMNS = sql.raw(
  'id, project_id, prompt_name, prompt_sha, effective_sha, label, tenant, rollout_id, rollout_arm, status, latency_ms, input_tokens, output_tokens, cost, started_at_ms',
);

/** A stored trace as a rollup event (`counted`: the trace itself is added, not only its scores). */
export const rollupEventOfTrace = (
  row: TraceDims & { prompt_name: string },
  counted: boolean,
  scores: readonly RollupScore[],
): RollupEvent => ({
  projectId: Number(row.project_id),
  promptName: row.prompt_name,
  promptSha: row.prompt_sha ?? '',
  effectiveSha: row.effective_sha ?? '',
  label: row.label ?? '',
  tenant: row.tenant ?? '',
  rolloutId: row.rollout_id ?? '',
  rolloutArm: row.rollout_arm ?? '',
  startedAtMs: Number(row.started_at_ms),
  counted,
  error: row.status === 'error',
  latencyMs: row.latency_ms === null ? null : Number(row.latency_ms),
  inputTokens: row.input_tokens === null ? null : Number(row.input_tokens),
  outputTokens: row.output_tokens === null ? null : Number(row.output_tokens),
  cost: row.cost === null ? null : Number(row.cost),
  scores,
});

export const readTraceDims = async (db: Kysely<Database>, traceRowId: number): Promise<TraceDims | undefined> =>
  (await sql<TraceDims>`select ${TRACE_DIM_COLUMNS} from traces where id = ${traceRowId}`.execute(db)).rows[0];

export const backfillStep = (
  db: Kysely<Database>,
  dialect: SqlDialect,
  tenants: RollupCache,
  limit: number,
): Promise<{ done: boolean; traces: number }> =>
  dialect.writeTransaction(db, async (trx) => {
    const state = await readState(trx, dialect.locksRows);
    if (state === undefined || state.trace_done >= state.trace_until) return { done: true, traces: 0 };
    const traces = (
      await sql<TraceDims>`select ${TRACE_DIM_COLUMNS} from traces
        where id > ${state.trace_done} and id <= ${state.trace_until} order by id limit ${limit}`.execute(trx)
    ).rows;
    const last = traces.length < limit ? state.trace_until : Number(traces.at(-1)!.id);
    const scores = (
      await sql<{ trace_row_id: number; name: string; kind: string; value: number | null }>`
        select trace_row_id, name, kind, value from trace_scores
        where trace_row_id > ${state.trace_done} and trace_row_id <= ${last} and id <= ${state.score_until}
          and kind in ('thumbs', 'numeric')
        order by id`.execute(trx)
    ).rows;
    const byTrace = new Map<number, RollupScore[]>();
    for (const score of scores) {
      const id = Number(score.trace_row_id);
      const list = byTrace.get(id) ?? [];
      list.push({ name: score.name, kind: score.kind, value: score.value === null ? null : Number(score.value) });
      byTrace.set(id, list);
    }
    const events: RollupEvent[] = [];
    for (const trace of traces) {
      if (trace.prompt_name === null) continue;
      events.push(
        rollupEventOfTrace(trace as TraceDims & { prompt_name: string }, true, byTrace.get(Number(trace.id)) ?? []),
      );
    }
    try {
      await applyRollups(kyselyRollupSql(trx as Kysely<unknown>, dialect), tenants, events);
    } catch (error) {
      tenants.forget();
      throw error;
    }
    await sql`update trace_rollup_backfill set trace_done = ${last} where id = 1`.execute(trx);
    return { done: last >= state.trace_until, traces: traces.length };
  });
