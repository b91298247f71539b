import type { ArmPair, MeanStats, ProportionStats } from '@promptops/core';
import { sql, type Kysely } from 'kysely';
import type { Database } from '../../storage/schema.js';
import type { RolloutOutputRow, RolloutTraceFigures, ShadowPairRows, ShadowSide, TraceStatus } from '../store.js';

/**
 * A rollout's figures from its traces, read by the time the server received them (`created_at_ms`, the
 * server's clock, as the rollout's step times are), through the (project, rollout, received) index: two
 * grouped reads per look, whatever the window. Units are distinct `rollout_unit` hashes (calls without
 * one counted apart), for the sample-ratio check. Raw rows rather than the rollups: the guardrails need sums
 * of squares, which the rollups do not keep, and the rollout's own traces are few next to the project's.
 */

type Arm = 'baseline' | 'candidate';

const pair = <T>(make: () => T): { baseline: T; candidate: T } => ({ baseline: make(), candidate: make() });
const isArm = (value: unknown): value is Arm => value === 'baseline' || value === 'candidate';

export const rolloutFigures = async (
  db: Kysely<Database>,
  projectId: number,
  rolloutId: string,
  sinceMs: number,
): Promise<RolloutTraceFigures> => {
  const window = sql`t.project_id = ${projectId} and t.rollout_id = ${rolloutId} and t.created_at_ms >= ${sinceMs}
    and t.rollout_arm in ('baseline', 'candidate')`;
  const calls = await sql<{
    arm: string;
    n: number;
    units: number;
    unitless: number;
    errors: number;
    lat_n: number;
    lat_sum: number;
    lat_sq: number;
  }>`
    select t.rollout_arm as arm, count(*) as n, count(distinct t.rollout_unit) as units,
      sum(case when t.rollout_unit is null then 1 else 0 end) as unitless,
      sum(case when t.status = 'error' then 1 else 0 end) as errors,
      count(t.latency_ms) as lat_n, coalesce(sum(t.latency_ms), 0) as lat_sum,
      coalesce(sum(t.latency_ms * t.latency_ms), 0) as lat_sq
    from traces t where ${window} group by t.rollout_arm`.execute(db);
  const scores = await sql<{ arm: string; kind: string; n: number; total: number; sq: number; down: number }>`
    select t.rollout_arm as arm, s.kind as kind, count(s.value) as n, coalesce(sum(s.value), 0) as total,
      coalesce(sum(s.value * s.value), 0) as sq, sum(case when s.value < 1 then 1 else 0 end) as down
    from trace_scores s inner join traces t on t.id = s.trace_row_id
    where ${window} and s.kind in ('numeric', 'thumbs') and s.value is not null
    group by t.rollout_arm, s.kind`.execute(db);

  const requests = pair(() => 0);
  const units = pair(() => 0);
  const unitless = pair(() => 0);
  const errorRate = pair<ProportionStats>(() => ({ count: 0, events: 0 }));
  const latency = pair<MeanStats>(() => ({ count: 0, sum: 0, sumOfSquares: 0 }));
  const score = pair<MeanStats>(() => ({ count: 0, sum: 0, sumOfSquares: 0 }));
  const thumbsDown = pair<ProportionStats>(() => ({ count: 0, events: 0 }));
  for (const row of calls.rows) {
    if (!isArm(row.arm)) continue;
    requests[row.arm] = Number(row.n);
    units[row.arm] = Number(row.units);
    unitless[row.arm] = Number(row.unitless);
    errorRate[row.arm] = { count: Number(row.n), events: Number(row.errors) };
    latency[row.arm] = { count: Number(row.lat_n), sum: Number(row.lat_sum), sumOfSquares: Number(row.lat_sq) };
  }
  for (const row of scores.rows) {
    if (!isArm(row.arm)) continue;
    if (row.kind === 'numeric') {
      score[row.arm] = { count: Number(row.n), sum: Number(row.total), sumOfSquares: Number(row.sq) };
    } else {
      thumbsDown[row.arm] = { count: Number(row.n), events: Number(row.down) };
    }
  }
  return {
    requests: requests as ArmPair<number>,
    units: units as ArmPair<number>,
    unitless: unitless as ArmPair<number>,
    metrics: { error_rate: errorRate, latency, score, thumbs_down_rate: thumbsDown },
  };
};

/**
 * Shadow traces (`shadow_of` set) of the rollout joined to the baseline trace each names; with a window,
 * those whose shadow trace was received in [sinceMs, untilMs).
 */
export const shadowPairRows = async (
  db: Kysely<Database>,
  projectId: number,
  rolloutId: string,
  limit: number,
  window: { readonly sinceMs?: number; readonly untilMs?: number } = {},
): Promise<ShadowPairRows> => {
  const since = window.sinceMs === undefined ? sql`` : sql` and c.created_at_ms >= ${window.sinceMs}`;
  const until = window.untilMs === undefined ? sql`` : sql` and c.created_at_ms < ${window.untilMs}`;
  const joined = sql`from traces c inner join traces b on b.project_id = c.project_id and b.event_id = c.shadow_of
    where c.project_id = ${projectId} and c.rollout_id = ${rolloutId} and c.shadow_of is not null${since}${until}`;
  const counted = await sql<{ n: number }>`select count(*) as n ${joined}`.execute(db);
  const rows = await sql<{
    started: number;
    variables: string | null;
    b_id: string;
    b_output: string | null;
    b_status: string;
    b_latency: number | null;
    b_tokens: number | null;
    c_id: string;
    c_output: string | null;
    c_status: string;
    c_latency: number | null;
    c_tokens: number | null;
  }>`
    select b.started_at_ms as started, b.variables as variables, b.event_id as b_id, b.output as b_output, b.status as b_status, b.latency_ms as b_latency,
      b.output_tokens as b_tokens, c.event_id as c_id, c.output as c_output, c.status as c_status, c.latency_ms as c_latency,
      c.output_tokens as c_tokens
    ${joined} order by c.created_at_ms desc, c.id desc limit ${limit}`.execute(db);
  const side = (
    id: string,
    output: string | null,
    status: string,
    latency: number | null,
    tokens: number | null,
  ): ShadowSide => ({
    id,
    output,
    status: status as TraceStatus,
    latencyMs: latency === null ? null : Number(latency),
    outputTokens: tokens === null ? null : Number(tokens),
  });
  return {
    count: Number(counted.rows[0]?.n ?? 0),
    pairs: rows.rows.map((row) => ({
      at: new Date(Number(row.started)).toISOString(),
      variables: row.variables === null ? null : (JSON.parse(row.variables) as Record<string, unknown>),
      baseline: side(row.b_id, row.b_output, row.b_status, row.b_latency, row.b_tokens),
      candidate: side(row.c_id, row.c_output, row.c_status, row.c_latency, row.c_tokens),
    })),
  };
};

/**
 * The rollout's calls since `sinceMs` with their outputs and variables (newest `limit`): the live assertions'
 * input. A shadow call ran on its baseline call's variables, read from there when it stores none.
 */
export const rolloutOutputRows = async (
  db: Kysely<Database>,
  projectId: number,
  rolloutId: string,
  sinceMs: number,
  limit: number,
): Promise<RolloutOutputRow[]> => {
  const rows = await sql<{ id: string; arm: string; output: string | null; variables: string | null }>`
    select t.event_id as id, t.rollout_arm as arm, t.output as output, coalesce(t.variables, b.variables) as variables
    from traces t left join traces b on b.project_id = t.project_id and b.event_id = t.shadow_of
    where t.project_id = ${projectId} and t.rollout_id = ${rolloutId} and t.created_at_ms >= ${sinceMs}
      and t.rollout_arm in ('baseline', 'candidate')
    order by t.created_at_ms desc, t.id desc limit ${limit}`.execute(db);
  return rows.rows.flatMap((row) =>
    isArm(row.arm)
      ? [
          {
            id: row.id,
            arm: row.arm,
            output: row.output,
            variables: row.variables === null ? null : (JSON.parse(row.variables) as Record<string, unknown>),
          },
        ]
      : [],
  );
};
