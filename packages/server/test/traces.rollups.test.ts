import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeLatencySketchBinary, latencySketchOf, type MetricsGroupBy } from '@promptops/core';
import { createStorage, type RawSqlAccess, type Stores } from '../src/app/stores.js';
import type { MetricsBucketRow, MetricsQuery, NewTrace } from '../src/traces/store.js';
import { compareMetrics, verifyMetrics } from '../src/traces/metrics-verify.js';
import { startRetention } from '../src/traces/retention.js';
import { DIALECTS, freshDbUrl } from './support/registry.js';

/**
 * Metrics rollups kept at insert, against both answers they must match: a model of every event
 * ever accepted (the rollups keep counting traces retention deleted), and the raw scan of the rows still
 * stored. Random streams: out-of-order times, duplicates re-sent, scores posted later (also for missing or
 * deleted traces), retention deleting the oldest rows. Costs and score values are multiples of 1/1024, so
 * their sums are exact in any order and compare exactly; latency percentiles compare within the sketch's
 * documented error.
 */

// Two tenants per prompt get rows of their own; the rest share `other` (the grouping never sees it).
process.env['PROMPTOPS_ROLLUP_MAX_TENANTS'] = '2';

/**
 * Two spans: a recent one, whose inserts write minute rows and leave hours to the fold (run at random
 * points), and one 60 days back, beyond the fold's horizon, whose inserts write hour rows directly.
 */
const T0 = Math.floor((Date.now() - 86_400_000) / 3_600_000) * 3_600_000;
const OLD0 = T0 - 60 * 86_400_000;
const SPAN_MS = 3 * 3_600_000;
const MINUTE = 60_000;
const HOUR = 3_600_000;
const SHAS = ['a'.repeat(64), 'b'.repeat(64)];

interface Event {
  readonly id: string;
  readonly trace: NewTrace;
}

const dyadic = (max: number) => fc.integer({ min: 0, max: max * 1024 }).map((n) => n / 1024);

const anyEventArb = fc.record({
  n: fc.integer({ min: 0, max: 299 }),
  prompt: fc.constantFrom('p1', 'p2', null),
  sha: fc.constantFrom(SHAS[0]!, SHAS[1]!, null),
  label: fc.constantFrom('production', 'staging', null),
  tenant: fc.constantFrom('acme', 'globex', 'initech', 'umbrella', null),
  arm: fc.constantFrom('control', 'candidate', null),
  at: fc.integer({ min: 0, max: SPAN_MS - 1 }),
  old: fc.boolean(),
  latency: fc.option(fc.oneof(fc.integer({ min: 0, max: 5000 }), dyadic(3000)), { nil: null }),
  input: fc.option(fc.integer({ min: 0, max: 1000 }), { nil: null }),
  output: fc.option(fc.integer({ min: 0, max: 1000 }), { nil: null }),
  cost: fc.option(dyadic(2), { nil: null }),
  error: fc.boolean(),
});

// Half the events share one key and hour, so stored sketches pass 32 values and answer from their bins.
const eventArb = fc.oneof(
  anyEventArb,
  anyEventArb.map((e) => ({
    ...e,
    prompt: 'p1' as const,
    sha: SHAS[0]!,
    label: 'production' as const,
    tenant: 'acme' as const,
    arm: 'control' as const,
    at: e.at % HOUR,
    old: false,
  })),
);

type EventInput = typeof eventArb extends fc.Arbitrary<infer T> ? T : never;

const toEvent = (e: EventInput): Event => ({
  id: `e${e.n}`,
  trace: {
    eventId: `e${e.n}`,
    traceId: null,
    spanId: null,
    parentSpanId: null,
    promptName: e.prompt,
    promptVersion: null,
    promptSha: e.sha,
    effectiveSha: e.sha,
    label: e.label,
    tenant: e.tenant,
    rolloutId: e.arm === null ? null : 'r1',
    rolloutArm: e.arm,
    releaseSha: null,
    variables: null,
    output: null,
    model: null,
    provider: null,
    latencyMs: e.latency,
    inputTokens: e.input,
    outputTokens: e.output,
    cost: e.cost,
    status: e.error ? 'error' : 'ok',
    error: null,
    attributes: null,
    startedAtMs: (e.old ? OLD0 : T0) + e.at,
  },
});

const actionArb = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant('ingest' as const),
      events: fc.array(eventArb, { maxLength: 80, size: 'max' }),
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('resend' as const), batch: fc.nat() }) },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('score' as const),
      n: fc.integer({ min: 0, max: 299 }),
      score: fc.oneof(
        fc.record({
          kind: fc.constant('thumbs' as const),
          value: fc.constantFrom(0, 1),
          name: fc.constant('feedback'),
        }),
        fc.record({
          kind: fc.constant('numeric' as const),
          value: dyadic(1),
          name: fc.constantFrom('helpful', 'tone'),
        }),
        fc.record({ kind: fc.constant('label' as const), value: fc.constant(null), name: fc.constant('label') }),
      ),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant('retention' as const), at: fc.integer({ min: 0, max: SPAN_MS }) }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('fold' as const) }) },
);

const anyQueryArb = fc.record({
  by: fc.constantFrom<MetricsGroupBy>('sha', 'label', 'arm'),
  prompt: fc.constantFrom('p1', 'p2'),
  since: fc.integer({ min: -HOUR, max: SPAN_MS }),
  length: fc.integer({ min: 1, max: SPAN_MS + HOUR }),
  bucketMs: fc.constantFrom(MINUTE, 5 * MINUTE, HOUR, 2 * HOUR),
  old: fc.boolean(),
});

// Half the queries read the hot hour whole (from a sketch past its exact values).
const queryArb = fc.oneof(
  anyQueryArb,
  anyQueryArb.map((q) => ({ ...q, prompt: 'p1' as const, since: -(q.since % HOUR), bucketMs: HOUR, old: false })),
);

/** One accepted insert of an event (an id deleted by retention and sent again is accepted again). */
interface Stored {
  readonly trace: NewTrace;
  readonly scores: { kind: string; value: number | null }[];
}

/** What the metrics must say about the events a model holds, as the raw scan would compute it. */
const modelMetrics = (stored: Iterable<Stored>, query: MetricsQuery): MetricsBucketRow[] => {
  const column = { sha: 'promptSha', label: 'label', arm: 'rolloutArm' } as const;
  const groups = new Map<string, MetricsBucketRow & { latencies: number[] }>();
  for (const { trace, scores } of stored) {
    if (trace.promptName !== query.promptName) continue;
    if (trace.startedAtMs < query.sinceMs || trace.startedAtMs >= query.untilMs) continue;
    const key = trace[column[query.by]];
    const bucketStartMs = Math.floor(trace.startedAtMs / query.bucketMs) * query.bucketMs;
    const id = `${key}|${bucketStartMs}`;
    const g = groups.get(id) ?? {
      key,
      bucketStartMs,
      count: 0,
      errors: 0,
      inputTokens: 0,
      outputTokens: 0,
      cost: 0,
      latencies: [],
      latency: latencySketchOf([]),
      scoreSum: 0,
      scoreMean: null,
      scoreCount: 0,
      thumbsUp: 0,
      thumbsDown: 0,
    };
    groups.set(id, {
      ...g,
      count: g.count + 1,
      errors: g.errors + (trace.status === 'error' ? 1 : 0),
      inputTokens: g.inputTokens + (trace.inputTokens ?? 0),
      outputTokens: g.outputTokens + (trace.outputTokens ?? 0),
      cost: g.cost + (trace.cost ?? 0),
      latencies: trace.latencyMs === null ? g.latencies : [...g.latencies, trace.latencyMs],
      scoreSum: g.scoreSum + scores.reduce((s, x) => s + (x.kind === 'label' ? 0 : (x.value ?? 0)), 0),
      scoreCount: g.scoreCount + scores.filter((x) => x.kind !== 'label').length,
      thumbsUp: g.thumbsUp + scores.filter((x) => x.kind === 'thumbs' && x.value === 1).length,
      thumbsDown: g.thumbsDown + scores.filter((x) => x.kind === 'thumbs' && x.value === 0).length,
    });
  }
  return [...groups.values()].map((g) => ({ ...g, latency: latencySketchOf(g.latencies, Infinity) }));
};

const expectMatch = (rollups: MetricsBucketRow[], expected: MetricsBucketRow[], what: string): void => {
  const verdict = compareMetrics(rollups, expected);
  expect(verdict.mismatches, what).toEqual([]);
};

describe.each([...DIALECTS, 'sqlite-memory'] as const)('metrics rollups (%s)', (dialect) => {
  let storage: Stores & RawSqlAccess;
  let url: string;
  let cleanup: () => void;
  let projects = 0;

  beforeAll(async () => {
    ({ url, cleanup } = await freshDbUrl(dialect));
    storage = await createStorage(url);
  });
  afterAll(async () => {
    await storage.close();
    cleanup();
  });

  it(
    'answer as the model of every accepted event and as the raw scan of the rows still stored',
    { timeout: 600_000 },
    async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.array(actionArb, { minLength: 1, maxLength: 12 }),
          fc.array(queryArb, { minLength: 1, maxLength: 4 }),
          async (actions, queries) => {
            projects += 1;
            const projectId = (
              await storage.transaction((tx) => tx.registry.createProject(`p${projects}`, new Date(T0).toISOString()))
            ).id;
            // The model: every accepted insert, and the ones retention has not deleted, by event id.
            const everAccepted: Stored[] = [];
            const live = new Map<string, Stored>();
            const batches: NewTrace[][] = [];
            let cutoff = Number.NEGATIVE_INFINITY;
            for (const action of actions) {
              if (action.kind === 'ingest' || action.kind === 'resend') {
                const batch =
                  action.kind === 'ingest'
                    ? action.events.map((e) => toEvent(e).trace)
                    : (batches[action.batch % Math.max(1, batches.length)] ?? []);
                if (action.kind === 'ingest') batches.push(batch);
                const result = await storage.traces.insertTraces(projectId, batch, T0);
                for (const id of result.accepted) {
                  expect(live.has(id)).toBe(false);
                  const stored = { trace: batch.find((t) => t.eventId === id)!, scores: [] };
                  everAccepted.push(stored);
                  live.set(id, stored);
                }
                for (const id of result.duplicates) expect(live.has(id)).toBe(true);
              } else if (action.kind === 'score') {
                const id = `e${action.n}`;
                const row = await storage.traces.insertScore(projectId, {
                  eventId: id,
                  name: action.score.name,
                  kind: action.score.kind,
                  value: action.score.value,
                  stringValue: action.score.kind === 'label' ? 'rude' : null,
                  comment: null,
                  actor: 'test',
                  createdAtMs: T0,
                });
                expect(row !== undefined).toBe(live.has(id));
                live.get(id)?.scores.push(action.score);
              } else if (action.kind === 'fold') {
                await storage.traces.foldTraceRollups(Date.now(), 1000);
              } else {
                cutoff = Math.max(cutoff, T0 + action.at);
                await storage.traces.deleteTracesBefore(T0 + action.at, 1_000_000);
                for (const [id, { trace }] of live) if (trace.startedAtMs < T0 + action.at) live.delete(id);
              }
            }
            const stillStored = [...live.values()];
            for (const q of queries) {
              const query: MetricsQuery = {
                promptName: q.prompt,
                by: q.by,
                sinceMs: (q.old ? OLD0 : T0) + q.since,
                untilMs: (q.old ? OLD0 : T0) + q.since + q.length,
                bucketMs: q.bucketMs,
                maxLatencySamples: Number.MAX_SAFE_INTEGER,
              };
              // Against the model, whole minutes: the partial minutes at a window's edges are read from the raw
              // rows, which retention may have deleted.
              const whole = {
                ...query,
                sinceMs: Math.ceil(query.sinceMs / MINUTE) * MINUTE,
                untilMs: Math.floor(query.untilMs / MINUTE) * MINUTE,
              };
              if (whole.sinceMs < whole.untilMs)
                expectMatch(
                  await storage.traces.traceMetrics(projectId, { ...whole, source: 'rollups' }),
                  modelMetrics(everAccepted, whole),
                  `model ${JSON.stringify(q)}`,
                );
              // The raw scan, where retention left the rows: from the last cutoff on.
              const kept = { ...query, sinceMs: Math.max(query.sinceMs, cutoff) };
              if (kept.sinceMs < kept.untilMs) {
                expectMatch(
                  await storage.traces.traceMetrics(projectId, { ...kept, source: 'rollups' }),
                  await storage.traces.traceMetrics(projectId, { ...kept, source: 'raw' }),
                  `raw ${JSON.stringify(q)}`,
                );
                expectMatch(
                  await storage.traces.traceMetrics(projectId, { ...kept, source: 'raw' }),
                  modelMetrics(stillStored, kept),
                  `raw vs model ${JSON.stringify(q)}`,
                );
              }
            }
          },
        ),
        // No shrinking: each run is a database's worth of work, and a failure prints its whole case.
        // ROLLUP_PROPERTY_RUNS runs more (a deeper local check).
        {
          numRuns: Number(process.env['ROLLUP_PROPERTY_RUNS'] ?? (dialect === 'postgres' ? 40 : 60)),
          endOnFailure: true,
        },
      );
    },
  );

  it('gives a prompt at most the configured number of tenants of their own; the rest share `other`', async () => {
    const projectId = (
      await storage.transaction((tx) => tx.registry.createProject('tenants', new Date(T0).toISOString()))
    ).id;
    const batch = ['acme', 'globex', 'initech', 'umbrella', 'acme'].map((tenant, i): NewTrace => ({
      ...toEvent({ ...sample, n: i }).trace,
      eventId: `t${i}`,
      tenant,
      promptName: 'p1',
    }));
    await storage.traces.insertTraces(projectId, batch, T0);
    await storage.traces.foldTraceRollups(Date.now(), 100);
    const rows = await storage.rawSql(
      `SELECT s.tenant, sum(r.count) AS n FROM trace_rollups r JOIN trace_rollup_series s ON s.id = r.series_id
       WHERE r.project_id = ${projectId} AND r.grain_ms = ${HOUR} GROUP BY s.tenant ORDER BY s.tenant`,
    );
    expect(rows.map((r) => [r['tenant'], Number(r['n'])])).toEqual([
      ['acme', 2],
      ['globex', 1],
      ['other', 2],
    ]);
    // A score for a trace of a tenant without rows of its own lands in `other` too.
    await storage.traces.insertScore(projectId, {
      eventId: 't3',
      name: 'feedback',
      kind: 'thumbs',
      value: 1,
      stringValue: null,
      comment: null,
      actor: 'test',
      createdAtMs: T0,
    });
    // The score marked the hour again: the fold brings it to the hour row too.
    await storage.traces.foldTraceRollups(Date.now(), 100);
    const other = await storage.rawSql(
      `SELECT sum(r.thumbs_up) AS up FROM trace_rollups r JOIN trace_rollup_series s ON s.id = r.series_id
       WHERE r.project_id = ${projectId} AND s.tenant = 'other'`,
    );
    expect(Number(other[0]!['up'])).toBe(2); // one per grain
  });

  it('retention deletes raw traces on its schedule and keeps the rollups longer, each grain its own', async () => {
    const projectId = (await storage.transaction((tx) => tx.registry.createProject('kept', new Date(T0).toISOString())))
      .id;
    const at = (n: number, startedAtMs: number): NewTrace => ({
      ...toEvent({ ...sample, n }).trace,
      eventId: `kept-${n}`,
      startedAtMs,
    });
    // 45 days back: past the traces' 30 days and the minutes' 35, within the hours' 400.
    const old = Math.floor((Date.now() - 45 * 86_400_000) / HOUR) * HOUR;
    await storage.traces.insertTraces(projectId, [at(1, old + 1000), at(2, old + 2000), at(3, T0 + 1000)], T0);
    await storage.traces.foldTraceRollups(Date.now(), 100);
    const count = async (table: string) =>
      Number((await storage.rawSql(`SELECT count(*) AS n FROM ${table} WHERE project_id = ${projectId}`))[0]!['n']);
    const metrics = (sinceMs: number) =>
      storage.traces.traceMetrics(projectId, {
        promptName: 'p1',
        by: 'sha',
        sinceMs,
        untilMs: sinceMs + HOUR,
        bucketMs: HOUR,
        maxLatencySamples: 1000,
      });
    expect((await metrics(old)).map((r) => r.count)).toEqual([2]);

    const run = (rollupDays: number) =>
      startRetention(storage.traces, {
        days: 30,
        minuteRollupDays: 35,
        rollupDays,
        firstRunMs: 3_600_000,
        backfillFirstRunMs: 3_600_000,
      });
    const job = run(400);
    await job.runOnce();
    await job.stop();
    expect(await storage.traces.getTrace(projectId, 'kept-1')).toBeUndefined();
    expect(await storage.traces.getTrace(projectId, 'kept-3')).toBeDefined();
    // The old hour's minutes are gone, its hour and group rows kept: the metrics still count it.
    const minutes = Number(
      (
        await storage.rawSql(
          `SELECT count(*) AS n FROM trace_rollups WHERE project_id = ${projectId} AND grain_ms = 60000 AND bucket_ms < ${T0}`,
        )
      )[0]!['n'],
    );
    expect(minutes).toBe(0);
    expect((await metrics(old)).map((r) => r.count)).toEqual([2]);
    expect((await metrics(T0)).map((r) => r.count)).toEqual([1]);

    const shorter = run(40);
    await shorter.runOnce();
    await shorter.stop();
    expect(await metrics(old)).toEqual([]);
    expect((await metrics(T0)).map((r) => r.count)).toEqual([1]);
    expect(await count('trace_rollup_groups')).toBe(3); // the recent hour's sha, label and arm rows
  });

  it('verifyMetrics finds a rollup row changed behind its back', async () => {
    const projectId = (
      await storage.transaction((tx) => tx.registry.createProject('verify', new Date(T0).toISOString()))
    ).id;
    await storage.traces.insertTraces(
      projectId,
      Array.from({ length: 50 }, (_, i) => ({
        ...toEvent({ ...sample, n: i }).trace,
        eventId: `v${i}`,
        latencyMs: 100 + i,
      })),
      T0,
    );
    await storage.traces.foldTraceRollups(Date.now(), 100);
    const query = { promptName: 'p1', by: 'sha' as const, sinceMs: T0 - HOUR, untilMs: T0 + SPAN_MS, bucketMs: HOUR };
    const clean = await verifyMetrics(storage.traces, projectId, query);
    expect(clean).toMatchObject({ ok: true, mismatches: [] });
    expect(clean.buckets).toBeGreaterThan(0);
    // What an hourly chart reads: the hour's group rows (the fold made them).
    await storage.rawSql(
      `UPDATE trace_rollup_groups SET count = count + 1 WHERE project_id = ${projectId} AND group_by = 'sha'`,
    );
    const tampered = await verifyMetrics(storage.traces, projectId, query);
    expect(tampered.ok).toBe(false);
    expect(tampered.mismatches[0]).toMatchObject({ field: 'count', rollups: 51, raw: 50 });
  });
});

const sample = {
  n: 0,
  prompt: 'p1' as const,
  sha: SHAS[0]!,
  label: 'production' as const,
  tenant: 'acme' as const,
  arm: 'control' as const,
  at: 1234,
  latency: 100,
  input: 1,
  output: 2,
  cost: 0.5,
  error: false,
  old: false,
};

// Several writers of one prompt at once (replicas, or the small-body path beside the writer thread): each
// merges the stored sketches it read, so they must take turns. PostgreSQL only: SQLite's writers always do.
describe('metrics rollups on PostgreSQL', () => {
  it('concurrent writers of one prompt lose no latency', async () => {
    const { url, cleanup } = await freshDbUrl('postgres');
    const storage = await createStorage(url);
    const projectId = (
      await storage.transaction((tx) => tx.registry.createProject('racers', new Date(T0).toISOString()))
    ).id;
    const others = [await createStorage(url), await createStorage(url)];
    try {
      const batch = (writer: number, round: number) =>
        Array.from({ length: 100 }, (_, i) => ({
          ...toEvent({ ...sample, n: i, at: (i % 3) * 60_000 }).trace,
          eventId: `race-${writer}-${round}-${i}`,
          latencyMs: 100 + i,
        }));
      await Promise.all(
        [storage, ...others].map(async (writer, w) => {
          for (let round = 0; round < 10; round += 1) await writer.traces.insertTraces(projectId, batch(w, round), T0);
        }),
      );
      const rows = await storage.rawSql(`SELECT count, latency FROM trace_rollups WHERE project_id = ${projectId}`);
      expect(rows.length).toBeGreaterThan(0);
      for (const row of rows)
        expect(decodeLatencySketchBinary(row['latency'] as Uint8Array).count).toBe(Number(row['count']));
      expect(rows.reduce((n, row) => n + Number(row['count']), 0)).toBe(3 * 10 * 100);
    } finally {
      for (const writer of [storage, ...others]) await writer.close();
      cleanup();
    }
  });
});
