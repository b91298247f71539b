import { CompiledQuery, sql } from 'kysely';
import type { Kysely, Selectable } from 'kysely';
import { batchEvents, encodeIngestResult, parseJsonBody, validateAllEvents } from '../traces/ingest-body.js';
import type {
  Dialect,
  MetricsBucketRow,
  MetricsQuery,
  NewScore,
  NewTrace,
  ScoreKind,
  ScoreRow,
  TraceCursor,
  TraceFilter,
  TraceRow,
  TraceStatus,
  TraceStore,
} from './port.js';
import type { Database, TraceScoresTable, TracesTable } from './schema.js';
import { TraceWriterUnavailableError, type TraceWriter } from './trace-writer.js';
import { insertInChunks, rowParams, splitInserted } from './trace-row-params.js';
import { writeTransaction } from './write-transaction.js';

/**
 * The trace half of the storage port, shared by both dialects like the registry half. The ingest insert
 * is the one hot write: a worker thread does it when there is one (trace-writer.ts: PostgreSQL and SQLite
 * files); here, in process, for a SQLite memory database, which has no second connection, and for
 * PostgreSQL's bodies of a few events (`postgresBodyIngest`). All bypass the query builder (fixed SQL texts
 * per statement size) and tell duplicates by `ON CONFLICT DO NOTHING`.
 */

const toTrace = (row: Selectable<TracesTable>): TraceRow => ({
  id: Number(row.id),
  projectId: row.project_id,
  eventId: row.event_id,
  traceId: row.trace_id,
  spanId: row.span_id,
  parentSpanId: row.parent_span_id,
  promptName: row.prompt_name,
  promptVersion: row.prompt_version,
  promptSha: row.prompt_sha,
  effectiveSha: row.effective_sha,
  label: row.label,
  tenant: row.tenant,
  rolloutId: row.rollout_id,
  rolloutArm: row.rollout_arm,
  releaseSha: row.release_sha,
  variables: row.variables,
  output: row.output,
  model: row.model,
  provider: row.provider,
  latencyMs: row.latency_ms,
  inputTokens: row.input_tokens,
  outputTokens: row.output_tokens,
  cost: row.cost,
  status: row.status as TraceStatus,
  error: row.error,
  attributes: row.attributes,
  startedAtMs: Number(row.started_at_ms),
  createdAtMs: Number(row.created_at_ms),
});

const toScore = (row: Selectable<TraceScoresTable>): ScoreRow => ({
  id: Number(row.id),
  projectId: row.project_id,
  eventId: row.event_id,
  name: row.name,
  kind: row.kind as ScoreKind,
  value: row.value,
  stringValue: row.string_value,
  comment: row.comment,
  actor: row.actor,
  createdAtMs: Number(row.created_at_ms),
});

const GROUP_COLUMNS = { sha: 'prompt_sha', label: 'label', arm: 'rollout_arm' } as const;

/**
 * Inserts traces through `executor` (the pool, or a transaction the caller opened) in statements of the
 * given sizes (insertInChunks' own unless told), and tells accepted from duplicate ids, in order.
 */
const insertWith = async (
  executor: Kysely<Database>,
  dialect: Dialect,
  projectId: number,
  traces: readonly NewTrace[],
  createdAtMs: number,
  sizes?: readonly number[],
): Promise<{ accepted: string[]; duplicates: string[] }> => {
  const inserted = await insertInChunks(
    dialect,
    traces.map((trace) => rowParams(projectId, trace, createdAtMs)),
    async (_size, text, values) =>
      (await executor.executeQuery<{ event_id: string }>(CompiledQuery.raw(text, values))).rows,
    sizes,
  );
  return splitInserted(
    traces.map((trace) => trace.eventId),
    inserted,
  );
};

/**
 * PostgreSQL: a body this small (an SDK's flush of a few calls) with at most this many events is parsed,
 * validated and inserted on the main thread, as one statement on its pool (atomic on its own: no BEGIN and
 * COMMIT), instead of two hops to the writer thread and back. The work this adds to the main thread is
 * bounded (~0.1 ms at most), and so is its share of the pool, which prompt resolution needs too: beyond
 * MAX_SMALL_IN_FLIGHT bodies at once, the rest go to the writer. SQLite keeps every body on the writer: its
 * main connection would wait for the writer's lock.
 */
export const SMALL_BODY_BYTES = 16 * 1024;
const SMALL_BATCH_EVENTS = 20;
const MAX_SMALL_IN_FLIGHT = 2;

/** `ingestTraceBody` with the small-body path of PostgreSQL in front of the writer thread's. */
const postgresBodyIngest = (db: Kysely<Database>, writer: TraceWriter): NonNullable<TraceStore['ingestTraceBody']> => {
  let inFlight = 0;
  return async (projectId, body, nowMs, createdAtMs) => {
    if (body.byteLength > SMALL_BODY_BYTES || inFlight >= MAX_SMALL_IN_FLIGHT)
      return writer.ingestBody(projectId, body, nowMs, createdAtMs);
    const events = batchEvents(parseJsonBody(body));
    if (events.length > SMALL_BATCH_EVENTS) return writer.ingestBody(projectId, body, nowMs, createdAtMs);
    const batch = validateAllEvents(events, nowMs);
    inFlight += 1;
    try {
      const { accepted, duplicates } = await insertWith(db, 'postgres', projectId, batch.rows, createdAtMs, [
        batch.rows.length,
      ]);
      return encodeIngestResult({
        accepted,
        duplicates,
        rejected: batch.rejected,
        droppedAttributes: batch.droppedAttributes,
      });
    } catch (error) {
      // Only the database can fail here (the batch is valid): a 503, as when the writer thread's insert fails.
      throw new TraceWriterUnavailableError(
        `the trace insert failed: ${error instanceof Error ? error.message : String(error)}`,
      );
    } finally {
      inFlight -= 1;
    }
  };
};

/** `writer`: SQLite files and PostgreSQL insert on a worker thread (trace-writer.ts). */
export const createTraceStore = (db: Kysely<Database>, dialect: Dialect, writer?: TraceWriter): TraceStore => ({
  ...(writer === undefined
    ? {}
    : {
        ingestTraceBody:
          dialect === 'postgres'
            ? postgresBodyIngest(db, writer)
            : (projectId, body, nowMs, createdAtMs) => writer.ingestBody(projectId, body, nowMs, createdAtMs),
      }),
  async insertTraces(projectId, traces, createdAtMs) {
    if (writer !== undefined) return writer.insert(projectId, traces, createdAtMs);
    if (traces.length === 0) return { accepted: [], duplicates: [] };
    return writeTransaction(db, dialect, (trx) => insertWith(trx, dialect, projectId, traces, createdAtMs));
  },

  async queryTraces(projectId, filter: TraceFilter, page: { limit: number; after?: TraceCursor }) {
    const { after, limit } = page;
    const f = filter;
    const prefix = f.shaPrefix;
    const rows = await db
      .selectFrom('traces')
      .selectAll()
      .where('project_id', '=', projectId)
      .$if(f.promptName !== undefined, (q) => q.where('prompt_name', '=', f.promptName ?? ''))
      .$if(f.promptVersion !== undefined, (q) => q.where('prompt_version', '=', f.promptVersion ?? 0))
      // A hex prefix as a range ('g' sorts after every hex digit), so the sha index serves it.
      .$if(prefix !== undefined && prefix.length === 64, (q) => q.where('prompt_sha', '=', prefix ?? ''))
      .$if(prefix !== undefined && prefix.length < 64, (q) =>
        q.where('prompt_sha', '>=', prefix ?? '').where('prompt_sha', '<', `${prefix ?? ''}g`),
      )
      .$if(f.label !== undefined, (q) => q.where('label', '=', f.label ?? ''))
      .$if(f.tenant !== undefined, (q) => q.where('tenant', '=', f.tenant ?? ''))
      .$if(f.rolloutArm !== undefined, (q) => q.where('rollout_arm', '=', f.rolloutArm ?? ''))
      .$if(f.status !== undefined, (q) => q.where('status', '=', f.status ?? 'ok'))
      .$if(f.sinceMs !== undefined, (q) => q.where('started_at_ms', '>=', f.sinceMs ?? 0))
      .$if(f.untilMs !== undefined, (q) => q.where('started_at_ms', '<', f.untilMs ?? 0))
      .$if(after !== undefined, (q) =>
        q.where((eb) => eb(eb.refTuple('started_at_ms', 'id'), '<', eb.tuple(after?.startedAtMs ?? 0, after?.id ?? 0))),
      )
      .orderBy('started_at_ms', 'desc')
      .orderBy('id', 'desc')
      .limit(limit)
      .execute();
    return rows.map(toTrace);
  },

  async getTrace(projectId, eventId) {
    const row = await db
      .selectFrom('traces')
      .selectAll()
      .where('project_id', '=', projectId)
      .where('event_id', '=', eventId)
      .executeTakeFirst();
    return row && toTrace(row);
  },

  async insertScore(projectId, score: NewScore) {
    // One statement: the trace cannot vanish (retention) between finding it and referencing it.
    const result = await sql<Selectable<TraceScoresTable>>`
      insert into trace_scores (project_id, trace_row_id, event_id, name, kind, value, string_value, comment, actor, created_at_ms)
      select project_id, id, event_id, ${score.name}, ${score.kind}, ${score.value}, ${score.stringValue}, ${score.comment}, ${score.actor}, ${score.createdAtMs}
      from traces where project_id = ${projectId} and event_id = ${score.eventId}
      returning *`.execute(db);
    const row = result.rows[0];
    return row && toScore(row);
  },

  async listScores(projectId, eventId) {
    const rows = await db
      .selectFrom('trace_scores as s')
      .innerJoin('traces as t', 't.id', 's.trace_row_id')
      .selectAll('s')
      .where('t.project_id', '=', projectId)
      .where('t.event_id', '=', eventId)
      .orderBy('s.id')
      .execute();
    return rows.map(toScore);
  },

  async traceMetrics(projectId, query: MetricsQuery) {
    const column = GROUP_COLUMNS[query.by];
    // The bucket width is a validated integer, inlined as a literal: PostgreSQL must see the same
    // expression in SELECT and GROUP BY, which two bound parameters would not be.
    const bucket = sql<number>`cast(started_at_ms / ${sql.lit(query.bucketMs)} as bigint)`;
    const inWindow = sql`project_id = ${projectId} and prompt_name = ${query.promptName} and started_at_ms >= ${query.sinceMs} and started_at_ms < ${query.untilMs}`;
    const key = sql.ref(column);

    const aggregates = await sql<{
      key: string | null;
      bucket: number;
      count: number;
      errors: number;
      input_tokens: number;
      output_tokens: number;
      cost: number;
    }>`
      select ${key} as key, ${bucket} as bucket, count(*) as count,
        sum(case when status = 'error' then 1 else 0 end) as errors,
        coalesce(sum(input_tokens), 0) as input_tokens, coalesce(sum(output_tokens), 0) as output_tokens,
        coalesce(sum(cost), 0) as cost
      from traces where ${inWindow} group by 1, 2`.execute(db);

    const scores = await sql<{
      key: string | null;
      bucket: number;
      mean: number | null;
      n: number;
      up: number;
      down: number;
    }>`
      select t.${key} as key, cast(t.started_at_ms / ${sql.lit(query.bucketMs)} as bigint) as bucket,
        avg(s.value) as mean, count(s.value) as n,
        sum(case when s.kind = 'thumbs' and s.value >= 1 then 1 else 0 end) as up,
        sum(case when s.kind = 'thumbs' and s.value < 1 then 1 else 0 end) as down
      from trace_scores s inner join traces t on t.id = s.trace_row_id
      where t.project_id = ${projectId} and t.prompt_name = ${query.promptName}
        and t.started_at_ms >= ${query.sinceMs} and t.started_at_ms < ${query.untilMs}
        and s.kind in ('thumbs', 'numeric')
      group by 1, 2`.execute(db);

    // Percentiles are computed by the caller from the latencies; the read is bounded by sampling
    // every k-th row id when the window holds more rows than the cap.
    const total = aggregates.rows.reduce((sum, row) => sum + Number(row.count), 0);
    const every = Math.max(1, Math.ceil(total / Math.max(1, query.maxLatencySamples)));
    const latencies = await sql<{ key: string | null; bucket: number; latency_ms: number }>`
      select ${key} as key, ${bucket} as bucket, latency_ms from traces
      where ${inWindow} and latency_ms is not null ${every > 1 ? sql`and id % ${sql.lit(every)} = 0` : sql``}`.execute(
      db,
    );

    const groups = new Map<
      string,
      { key: string | null; bucket: number } & Omit<MetricsBucketRow, 'key' | 'bucketStartMs'>
    >();
    const slot = (key: string | null, bucketIndex: number) => {
      const id = `${key ?? ''}\u0000${bucketIndex}`;
      let group = groups.get(id);
      if (group === undefined) {
        group = {
          key,
          bucket: bucketIndex,
          count: 0,
          errors: 0,
          inputTokens: 0,
          outputTokens: 0,
          cost: 0,
          latencies: [],
          scoreMean: null,
          scoreCount: 0,
          thumbsUp: 0,
          thumbsDown: 0,
        };
        groups.set(id, group);
      }
      return group;
    };
    for (const row of aggregates.rows) {
      Object.assign(slot(row.key, Number(row.bucket)), {
        count: Number(row.count),
        errors: Number(row.errors),
        inputTokens: Number(row.input_tokens),
        outputTokens: Number(row.output_tokens),
        cost: Number(row.cost),
      });
    }
    for (const row of scores.rows) {
      Object.assign(slot(row.key, Number(row.bucket)), {
        scoreMean: row.mean === null ? null : Number(row.mean),
        scoreCount: Number(row.n),
        thumbsUp: Number(row.up),
        thumbsDown: Number(row.down),
      });
    }
    for (const row of latencies.rows) slot(row.key, Number(row.bucket)).latencies.push(Number(row.latency_ms));
    return [...groups.values()]
      .map(({ key: k, bucket: b, ...rest }) => ({ key: k, bucketStartMs: b * query.bucketMs, ...rest }))
      .sort((a, b) => a.bucketStartMs - b.bucketStartMs || String(a.key).localeCompare(String(b.key)));
  },

  async deleteTracesBefore(cutoffMs, limit) {
    // Per project, so the (project_id, started_at_ms) index finds the oldest rows; one short statement each.
    const projects = await db.selectFrom('projects').select('id').orderBy('id').execute();
    let deleted = 0;
    for (const { id } of projects) {
      if (deleted >= limit) break;
      const result = await sql`
        delete from traces where id in (
          select id from traces where project_id = ${id} and started_at_ms < ${cutoffMs}
          order by started_at_ms limit ${limit - deleted})`.execute(db);
      deleted += Number(result.numAffectedRows ?? 0);
    }
    return deleted;
  },
});
