import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStorage, type RawSqlAccess, type Stores } from '../../src/app/stores.js';
import type { NewTrace } from '../../src/traces/store.js';
import { DIALECTS, freshDbUrl } from '../support/registry.js';

/** The trace store's contract (traces/store.ts: rows in, queries out) on both databases. */

const row = (eventId: string, startedAtMs: number, overrides: Partial<NewTrace> = {}): NewTrace => ({
  eventId,
  traceId: null,
  spanId: null,
  parentSpanId: null,
  promptName: 'greeter',
  promptVersion: 1,
  promptSha: 'c'.repeat(64),
  effectiveSha: null,
  label: 'production',
  tenant: null,
  rolloutId: null,
  rolloutArm: null,
  releaseSha: null,
  variables: null,
  output: 'hi',
  model: null,
  provider: null,
  latencyMs: 10,
  inputTokens: 1,
  outputTokens: 2,
  cost: 0.5,
  status: 'ok',
  error: null,
  attributes: null,
  startedAtMs,
  ...overrides,
});

describe.each(DIALECTS)('trace storage contract (%s)', (dialect) => {
  let storage: Stores & RawSqlAccess;
  let url: string;
  let cleanup: () => void;
  let projectId: number;
  const T0 = Date.UTC(2025, 0, 1);

  beforeAll(async () => {
    ({ url, cleanup } = await freshDbUrl(dialect));
    storage = await createStorage(url);
    projectId = (await storage.transaction((tx) => tx.registry.createProject('acme', new Date(T0).toISOString()))).id;
  });
  afterAll(async () => {
    await storage.close();
    cleanup();
  });

  it('inserts a batch of any size in one call and reports duplicates, also within the batch', async () => {
    const batch = Array.from({ length: 1234 }, (_, i) => row(`e-${i}`, T0 + i));
    const first = await storage.traces.insertTraces(projectId, [...batch, row('e-0', T0)], T0);
    expect(first.accepted).toHaveLength(1234);
    expect(first.duplicates).toEqual(['e-0']);
    const again = await storage.traces.insertTraces(projectId, batch.slice(0, 3), T0);
    expect(again).toEqual({ accepted: [], duplicates: ['e-0', 'e-1', 'e-2'] });
    expect(await storage.traces.insertTraces(projectId, [], T0)).toEqual({ accepted: [], duplicates: [] });
  });

  // PostgreSQL only: two SQLite connections in one process would block each other's thread in busy_timeout
  // (the registry's contract covers two SQLite processes on one file).
  if (dialect === 'postgres')
    it('two storages racing on the same event ids store each once', async () => {
      const other = await createStorage(url);
      try {
        const batch = Array.from({ length: 300 }, (_, i) => row(`race-${i}`, T0 - 86_400_000 + i));
        const [a, b] = await Promise.all([
          storage.traces.insertTraces(projectId, batch, T0),
          other.traces.insertTraces(projectId, batch, T0),
        ]);
        expect(a.accepted.length + b.accepted.length).toBe(300);
        expect(a.duplicates.length + b.duplicates.length).toBe(300);
      } finally {
        await other.close();
      }
    });

  it('reads back what was written, pages newest first and counts metrics per bucket', async () => {
    const stored = await storage.traces.getTrace(projectId, 'e-5');
    expect(stored).toMatchObject({
      eventId: 'e-5',
      projectId,
      startedAtMs: T0 + 5,
      createdAtMs: T0,
      latencyMs: 10,
      cost: 0.5,
      status: 'ok',
    });
    const page = await storage.traces.queryTraces(projectId, { promptName: 'greeter', untilMs: T0 + 10 }, { limit: 4 });
    expect(page.map((r) => r.eventId)).toEqual(['e-9', 'e-8', 'e-7', 'e-6']);
    const last = page.at(-1)!;
    const next = await storage.traces.queryTraces(
      projectId,
      { promptName: 'greeter', untilMs: T0 + 10 },
      { limit: 4, after: { startedAtMs: last.startedAtMs, id: last.id } },
    );
    expect(next.map((r) => r.eventId)).toEqual(['e-5', 'e-4', 'e-3', 'e-2']);
    const metrics = await storage.traces.traceMetrics(projectId, {
      promptName: 'greeter',
      by: 'sha',
      sinceMs: T0,
      untilMs: T0 + 1000,
      bucketMs: 500,
      maxLatencySamples: 100,
    });
    expect(metrics.map((m) => [m.bucketStartMs - T0, m.count, m.inputTokens])).toEqual([
      [0, 500, 500],
      [500, 500, 500],
    ]);
    // Above the cap, a 1-in-k sample of latencies is read, not every row.
    expect(metrics.reduce((n, m) => n + m.latencies.length, 0)).toBeLessThanOrEqual(100);
  });

  it('scores reference an existing trace; retention deletes in bounded batches, scores with their traces', async () => {
    expect(
      await storage.traces.insertScore(projectId, {
        eventId: 'missing',
        name: 'f',
        kind: 'thumbs',
        value: 1,
        stringValue: null,
        comment: null,
        actor: 'a',
        createdAtMs: T0,
      }),
    ).toBeUndefined();
    const score = await storage.traces.insertScore(projectId, {
      eventId: 'e-1',
      name: 'f',
      kind: 'thumbs',
      value: 0,
      stringValue: null,
      comment: 'no',
      actor: 'a',
      createdAtMs: T0,
    });
    expect(score).toMatchObject({ eventId: 'e-1', kind: 'thumbs', value: 0, comment: 'no' });
    expect(await storage.traces.listScores(projectId, 'e-1')).toHaveLength(1);
    const races = dialect === 'postgres' ? 300 : 0;
    expect(await storage.traces.deleteTracesBefore(T0 + 100, 60 + races)).toBe(60 + races);
    expect(await storage.traces.deleteTracesBefore(T0 + 100, 60)).toBe(40);
    expect(await storage.traces.deleteTracesBefore(T0 + 100, 60)).toBe(0);
    expect(await storage.traces.getTrace(projectId, 'e-1')).toBeUndefined();
    expect(await storage.traces.getTrace(projectId, 'e-100')).toBeDefined();
    expect(await storage.rawSql('SELECT count(*) AS n FROM trace_scores')).toEqual([{ n: 0 }]);
  });
});
