import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS, openTestRegistry, textContent, type TestRegistry } from './support/registry.js';
import { getJson, ingest, traceEvent } from './support/traces.js';

/**
 * Traces of a rollout: `rollout` and `shadowOf` taken from the ingest body and from OTLP attributes,
 * stored and returned; the list and `metrics` filtered by rollout and grouped by arm (raw rows and
 * rollups agree); and the per-arm figures the rollout scheduler decides on (`rolloutObservations`).
 */

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Loose = Record<string, any>;

const RO = 'ro_aaaaaaaaaaaa';
const OTHER = 'ro_bbbbbbbbbbbb';

describe.each(DIALECTS)('rollout traces (%s)', (dialect) => {
  let registry: TestRegistry;
  const T0 = Date.now() - 30 * 60_000;

  beforeAll(async () => {
    registry = await openTestRegistry(dialect);
    const response = await registry.app.inject({
      method: 'POST',
      url: '/api/v1/prompts/greeter/versions',
      headers: { authorization: `Bearer ${registry.keys.admin}` },
      payload: { content: textContent('greeter', 'Hello there'), parent: null },
    });
    expect(response.statusCode).toBe(201);
    // The rollout's traces: 10 baseline (1 error, latencies 100..190 ms), 5 candidate (2 errors, 200 ms),
    // one candidate shadow of b-0, and 3 traces of another rollout that must not count.
    const events = [
      ...Array.from({ length: 10 }, (_, i) =>
        traceEvent(`b-${i}`, {
          rollout: { id: RO, arm: 'baseline' },
          latencyMs: 100 + 10 * i,
          startedAt: T0 + i * 1000,
          ...(i === 0 ? { status: 'error', error: 'boom' } : {}),
        }),
      ),
      ...Array.from({ length: 5 }, (_, i) =>
        traceEvent(`c-${i}`, {
          rollout: { id: RO, arm: 'candidate' },
          latencyMs: 200,
          startedAt: T0 + i * 1000,
          ...(i < 2 ? { status: 'error', error: 'boom' } : {}),
        }),
      ),
      traceEvent('b-0-shadow', {
        rollout: { id: RO, arm: 'candidate' },
        shadowOf: 'b-0',
        latencyMs: 300,
        output: 'a different answer',
        startedAt: T0,
      }),
      ...Array.from({ length: 3 }, (_, i) =>
        traceEvent(`o-${i}`, { rollout: { id: OTHER, arm: 'candidate' }, latencyMs: 5, startedAt: T0 + i }),
      ),
    ];
    const ingested = await ingest(registry.app, registry.keys.editor, { events });
    expect(ingested.statusCode, ingested.body).toBe(200);
    expect(ingested.json<Loose>()['rejected']).toEqual([]);
    // Scores: numeric on b-1 (0.9) and c-2 (0.4); thumbs down on c-3, up on b-2.
    for (const [id, score] of [
      ['b-1', { kind: 'numeric', value: 0.9 }],
      ['c-2', { kind: 'numeric', value: 0.4 }],
      ['c-3', { kind: 'thumbs', value: 'down' }],
      ['b-2', { kind: 'thumbs', value: 'up' }],
    ] as const) {
      const scored = await registry.app.inject({
        method: 'POST',
        url: `/api/v1/traces/${id}/scores`,
        headers: { authorization: `Bearer ${registry.keys.editor}` },
        payload: score,
      });
      expect(scored.statusCode).toBe(201);
    }
  });
  afterAll(async () => {
    await registry.close();
  });

  it('stores and returns rollout and shadowOf; an invalid shadowOf is refused naming the field', async () => {
    const { body } = await getJson<Loose>(registry.app, registry.keys.viewer, '/api/v1/traces/b-0-shadow');
    expect(body['trace']).toMatchObject({ rollout: { id: RO, arm: 'candidate' }, shadowOf: 'b-0' });
    const plain = await getJson<Loose>(registry.app, registry.keys.viewer, '/api/v1/traces/b-1');
    expect(plain.body['trace']).toMatchObject({ rollout: { id: RO, arm: 'baseline' }, shadowOf: null });

    const bad = await ingest(registry.app, registry.keys.editor, {
      events: [traceEvent('bad-shadow', { shadowOf: 'has space' })],
    });
    expect(bad.json<Loose>()['rejected']).toEqual([
      expect.objectContaining({ id: 'bad-shadow', issues: [expect.objectContaining({ path: 'shadowOf' })] }),
    ]);
  });

  it('lists a rollout’s traces only', async () => {
    const { body } = await getJson<Loose>(
      registry.app,
      registry.keys.viewer,
      `/api/v1/traces?rollout=${OTHER}&limit=100`,
    );
    expect((body['traces'] as Loose[]).map((t) => t['id']).sort()).toEqual(['o-0', 'o-1', 'o-2']);
  });

  it('reads promptops.shadow_of and promptops.rollout.* from OTLP spans', async () => {
    const startMs = BigInt(Date.now() - 1000);
    const attr = (key: string, value: string) => ({ key, value: { stringValue: value } });
    const response = await registry.app.inject({
      method: 'POST',
      url: '/v1/traces',
      headers: { authorization: `Bearer ${registry.keys.editor}`, 'content-type': 'application/json' },
      payload: {
        resourceSpans: [
          {
            scopeSpans: [
              {
                spans: [
                  {
                    traceId: '6b8efff798038103d269b633813fc60c',
                    spanId: 'fee19b7ec3c1b174',
                    name: 'chat',
                    startTimeUnixNano: String(startMs * 1_000_000n),
                    endTimeUnixNano: String((startMs + 20n) * 1_000_000n),
                    attributes: [
                      attr('promptops.event.id', 'otlp-shadow'),
                      attr('promptops.prompt.name', 'greeter'),
                      attr('promptops.rollout.id', 'ro_cccccccccccc'),
                      attr('promptops.rollout.arm', 'candidate'),
                      attr('promptops.shadow_of', 'b-3'),
                    ],
                  },
                ],
              },
            ],
          },
        ],
      },
    });
    expect(response.statusCode, response.body).toBe(200);
    const { body } = await getJson<Loose>(registry.app, registry.keys.viewer, '/api/v1/traces/otlp-shadow');
    expect(body['trace']).toMatchObject({ rollout: { id: 'ro_cccccccccccc', arm: 'candidate' }, shadowOf: 'b-3' });
    expect(body['trace']['attributes'] ?? {}).not.toHaveProperty('promptops.shadow_of');
  });

  it('charts a rollout by arm (metrics ?by=arm&rollout=), the same from raw rows and rollups', async () => {
    const { status, body } = await getJson<Loose>(
      registry.app,
      registry.keys.viewer,
      `/api/v1/prompts/greeter/metrics?by=arm&rollout=${RO}&since=2h&bucket=1h`,
    );
    expect(status, JSON.stringify(body)).toBe(200);
    const totals = Object.fromEntries((body['series'] as Loose[]).map((s) => [s['key'], s['totals']]));
    expect(Object.keys(totals).sort()).toEqual(['baseline', 'candidate']);
    expect(totals['baseline']).toMatchObject({ count: 10, errors: 1 });
    expect(totals['candidate']).toMatchObject({ count: 6, errors: 2 });

    const query = {
      promptName: 'greeter',
      by: 'arm' as const,
      rolloutId: RO,
      sinceMs: Math.floor(T0 / 3_600_000) * 3_600_000 - 3_600_000,
      untilMs: Date.now() + 60_000,
      bucketMs: 60_000,
      maxLatencySamples: 1000,
    };
    const raw = await registry.storage.traces.traceMetrics(registry.projectId, { ...query, source: 'raw' });
    const rollups = await registry.storage.traces.traceMetrics(registry.projectId, { ...query, source: 'rollups' });
    const counts = (rows: typeof raw) =>
      rows.map((r) => [r.key, r.bucketStartMs, r.count, r.errors, r.scoreCount, r.thumbsDown]).sort();
    expect(counts(rollups)).toEqual(counts(raw));
    expect(raw.reduce((n, r) => n + r.count, 0)).toBe(16);
    // Whole hours, once folded, come from the rollout's series' hour rows (group rows know no rollout).
    await registry.storage.traces.foldTraceRollups(Date.now() + 3 * 3_600_000, 100);
    const hourly = { ...query, bucketMs: 3_600_000, untilMs: Math.ceil(Date.now() / 3_600_000) * 3_600_000 };
    const rawHours = await registry.storage.traces.traceMetrics(registry.projectId, { ...hourly, source: 'raw' });
    const rollupHours = await registry.storage.traces.traceMetrics(registry.projectId, {
      ...hourly,
      source: 'rollups',
    });
    expect(counts(rollupHours)).toEqual(counts(rawHours));
    expect(rollupHours.reduce((n, r) => n + r.count, 0)).toBe(16);
  });

  it('refuses an invalid rollout filter naming it', async () => {
    const { status, body } = await getJson<Loose>(
      registry.app,
      registry.keys.viewer,
      `/api/v1/prompts/greeter/metrics?by=arm&rollout=${'x'.repeat(300)}`,
    );
    expect(status).toBe(400);
    expect(JSON.stringify(body)).toMatch(/rollout/);
  });

  it('gives the scheduler each arm’s figures since a time (rolloutObservations)', async () => {
    const figures = await registry.storage.traces.rolloutObservations(registry.projectId, RO, 0);
    // Requests: every trace of the arm, the shadow copy included.
    expect(figures.requests).toEqual({ baseline: 10, candidate: 6 });
    expect(figures.metrics.error_rate).toEqual({
      baseline: { count: 10, events: 1 },
      candidate: { count: 6, events: 2 },
    });
    const baselineLatencies = Array.from({ length: 10 }, (_, i) => 100 + 10 * i);
    expect(figures.metrics.latency).toEqual({
      baseline: {
        count: 10,
        sum: baselineLatencies.reduce((a, b) => a + b, 0),
        sumOfSquares: baselineLatencies.reduce((a, b) => a + b * b, 0),
      },
      candidate: { count: 6, sum: 5 * 200 + 300, sumOfSquares: 5 * 200 * 200 + 300 * 300 },
    });
    expect(figures.metrics.score?.baseline).toEqual({ count: 1, sum: 0.9, sumOfSquares: expect.closeTo(0.81, 9) });
    expect(figures.metrics.score?.candidate).toEqual({ count: 1, sum: 0.4, sumOfSquares: expect.closeTo(0.16, 9) });
    expect(figures.metrics.thumbs_down_rate).toEqual({
      baseline: { count: 1, events: 0 },
      candidate: { count: 1, events: 1 },
    });
    // Live assertion results are not recorded with traces: no figures rather than made-up ones.
    expect(figures.metrics.assertion_pass_rate).toBeUndefined();

    // Only traces received at or after `sinceMs` count.
    const later = await registry.storage.traces.rolloutObservations(registry.projectId, RO, Date.now() + 60_000);
    expect(later.requests).toEqual({ baseline: 0, candidate: 0 });
    const other = await registry.storage.traces.rolloutObservations(registry.projectId, OTHER, 0);
    expect(other.requests).toEqual({ baseline: 0, candidate: 3 });
  });

  it('pairs shadow outputs with their baseline (shadowPairs)', async () => {
    const { count, pairs } = await registry.storage.traces.shadowPairs(registry.projectId, RO, { limit: 10 });
    expect(count).toBe(1);
    expect(pairs).toEqual([
      expect.objectContaining({
        baseline: expect.objectContaining({ id: 'b-0', status: 'error' }),
        candidate: expect.objectContaining({ id: 'b-0-shadow', output: 'a different answer', status: 'ok' }),
      }),
    ]);
  });
});

describe('rollout traces on SQLite in memory', () => {
  it('works without a writer thread too', async () => {
    const registry = await openTestRegistry('sqlite-memory');
    try {
      const ingested = await ingest(registry.app, registry.keys.editor, {
        events: [traceEvent('m-1', { rollout: { id: RO, arm: 'baseline' } })],
      });
      expect(ingested.statusCode).toBe(200);
      const figures = await registry.storage.traces.rolloutObservations(registry.projectId, RO, 0);
      expect(figures.requests).toEqual({ baseline: 1, candidate: 0 });
    } finally {
      await registry.close();
    }
  });
});
