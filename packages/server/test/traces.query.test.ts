import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Stores } from '../src/app/stores.js';
import { startRetention } from '../src/traces/retention.js';
import { DIALECTS, openTestRegistry, textContent, type TestRegistry } from './support/registry.js';
import { getJson, ingest, traceEvent } from './support/traces.js';

/** Queries, trace detail with diffs, scores, metrics with deployment markers, and retention. */

// Response bodies are read loosely here; their shapes are what the assertions check.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Loose = Record<string, any>;

const HOUR = 3_600_000;
const GREET = 'Always greet the user by name.';

interface TraceRecord {
  id: string;
  prompt: { name: string; version: number; sha: string } | null;
  status: string;
  tenant: string;
  startedAt: string;
}

describe.each(DIALECTS)('trace queries (%s)', (dialect) => {
  let registry: TestRegistry;
  let v1: string;
  let v2: string;
  const now = Date.now();
  const auth = () => ({ authorization: `Bearer ${registry.keys.admin}` });

  const push = async (template: string, parent: string | null): Promise<string> => {
    const response = await registry.app.inject({
      method: 'POST',
      url: '/api/v1/prompts/greeter/versions',
      headers: auth(),
      payload: { content: textContent('greeter', template, { user_name: { type: 'string', required: true } }), parent },
    });
    expect(response.statusCode).toBe(201);
    return response.json<{ sha: string }>().sha;
  };
  const promote = async (ref: string): Promise<void> => {
    const response = await registry.app.inject({
      method: 'PUT',
      url: '/api/v1/prompts/greeter/labels/production',
      headers: auth(),
      payload: { ref },
    });
    expect(response.statusCode).toBe(200);
  };

  beforeAll(async () => {
    registry = await openTestRegistry(dialect);
    v1 = await push(`You are a support agent.\n${GREET}\nUser: {{user_name}}`, null);
    v2 = await push('You are a support agent.\nUser: {{user_name}}', v1);
    await promote('v1');
    await promote('v2');
    // 20 traces of v1 from 5 h ago, then 20 of v2 over the last 2 h; every 4th of v2 is an error.
    const events = [
      ...Array.from({ length: 20 }, (_, i) =>
        traceEvent(`q1-${i}`, {
          prompt: { name: 'greeter', version: 1, sha: v1 },
          tenant: i % 2 ? 'acme' : 'globex',
          latencyMs: 100 + i,
          startedAt: now - 5 * HOUR + i * 60_000,
          rollout: { id: 'r1', arm: 'control' },
        }),
      ),
      ...Array.from({ length: 20 }, (_, i) =>
        traceEvent(`q2-${i}`, {
          prompt: { name: 'greeter', version: 2, sha: v2 },
          tenant: 'acme',
          latencyMs: 1000 + i * 10,
          startedAt: now - 2 * HOUR + i * 60_000,
          output: 'Your order ships tomorrow.',
          rollout: { id: 'r1', arm: 'candidate' },
          ...(i % 4 === 0 ? { status: 'error', error: 'timeout' } : {}),
        }),
      ),
    ];
    expect((await ingest(registry.app, registry.keys.editor, { events })).statusCode).toBe(200);
  });
  afterAll(async () => {
    await registry.close();
  });

  const list = async (query: string) => {
    const { status, body } = await getJson<{ traces: TraceRecord[]; nextCursor: string | null }>(
      registry.app,
      registry.keys.viewer,
      `/api/v1/traces?${query}`,
    );
    expect(status, JSON.stringify(body)).toBe(200);
    return body;
  };

  it('filters by prompt, version, sha prefix, label, tenant, arm, status and time', async () => {
    expect((await list('prompt=greeter&limit=500')).traces).toHaveLength(40);
    expect((await list('version=2&limit=500')).traces).toHaveLength(20);
    expect((await list(`sha=${v1.slice(0, 7)}&limit=500`)).traces).toHaveLength(20);
    expect((await list(`sha=${v2}&status=error&limit=500`)).traces).toHaveLength(5);
    expect((await list('label=production&tenant=globex&limit=500')).traces).toHaveLength(10);
    expect((await list('arm=candidate&limit=500')).traces.every((t) => t.prompt?.version === 2)).toBe(true);
    expect((await list('since=3h&limit=500')).traces).toHaveLength(20);
    expect((await list(`until=${new Date(now - 4 * HOUR).toISOString()}&limit=500`)).traces).toHaveLength(20);
    expect((await list('prompt=other')).traces).toHaveLength(0);
    const bad = await getJson(registry.app, registry.keys.viewer, '/api/v1/traces?since=yesterday');
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ error: { issues: [{ path: 'since' }] } });
  });

  it('pages newest first by cursor, without gaps or repeats', async () => {
    const seen: TraceRecord[] = [];
    let cursor: string | null = null;
    do {
      const page: { traces: TraceRecord[]; nextCursor: string | null } = await list(
        `prompt=greeter&limit=7${cursor === null ? '' : `&cursor=${cursor}`}`,
      );
      seen.push(...page.traces);
      cursor = page.nextCursor;
    } while (cursor !== null);
    expect(seen).toHaveLength(40);
    expect(new Set(seen.map((t) => t.id)).size).toBe(40);
    const times = seen.map((t) => Date.parse(t.startedAt));
    expect(times).toEqual([...times].sort((a, b) => b - a));
    expect((await getJson(registry.app, registry.keys.viewer, '/api/v1/traces?cursor=garbage')).status).toBe(400);
  });

  it('shows one trace with its version, the diff to its parent, what the label serves now and the rollback', async () => {
    const { status, body } = await getJson<Loose>(registry.app, registry.keys.viewer, '/api/v1/traces/q2-3');
    expect(status).toBe(200);
    expect(body.trace).toMatchObject({
      id: 'q2-3',
      prompt: { name: 'greeter', version: 2, sha: v2 },
      label: 'production',
      scores: [],
    });
    expect(body.version).toMatchObject({ version: 2, sha: v2, content: { template: expect.any(String) } });
    expect(body.parent).toMatchObject({ version: 1, sha: v1 });
    expect(body.diffToParent.lines).toContainEqual({ op: 'remove', text: GREET });
    expect(body.labelNow).toMatchObject({
      label: 'production',
      servesTrace: true,
      version: { version: 2 },
      diff: null,
    });
    expect(body.rollback).toEqual({
      name: 'greeter',
      label: 'production',
      from: { version: 2, sha: v2 },
      to: { version: 1, sha: v1 },
    });

    const old = (await getJson<Loose>(registry.app, registry.keys.viewer, '/api/v1/traces/q1-0')).body;
    expect(old.parent).toBeNull();
    expect(old.labelNow).toMatchObject({ servesTrace: false, version: { version: 2 } });
    expect(old.labelNow.diff.lines).toContainEqual({ op: 'remove', text: GREET });
    expect(old.rollback).toBeNull();

    expect((await getJson(registry.app, registry.keys.viewer, '/api/v1/traces/nope')).body).toMatchObject({
      error: { code: 'trace_not_found' },
    });
  });

  it('records scores: thumbs, numeric, label, with comments; bad scores are 400, unknown traces 404', async () => {
    const score = (id: string, payload: unknown) =>
      registry.app.inject({
        method: 'POST',
        url: `/api/v1/traces/${id}/scores`,
        headers: { authorization: `Bearer ${registry.keys.editor}` },
        payload: payload as object,
      });
    const down = await score('q2-1', { kind: 'thumbs', value: 'down', comment: 'did not greet me by name' });
    expect(down.statusCode).toBe(201);
    expect(down.json()).toMatchObject({
      traceId: 'q2-1',
      name: 'feedback',
      kind: 'thumbs',
      value: 'down',
      actor: 'key:editor',
      comment: 'did not greet me by name',
    });
    expect((await score('q2-1', { kind: 'numeric', name: 'helpfulness', value: 0.25 })).statusCode).toBe(201);
    expect((await score('q2-1', { kind: 'label', value: 'rude' })).statusCode).toBe(201);
    expect((await score('q1-1', { kind: 'thumbs', value: true })).statusCode).toBe(201);
    const bad = await score('q2-1', { kind: 'thumbs', value: 3 });
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).toMatchObject({
      error: { issues: [{ path: 'value', message: 'a thumbs score is up, down, true or false' }] },
    });
    expect((await score('missing', { kind: 'thumbs', value: 'up' })).statusCode).toBe(404);
    const detail = (await getJson<Loose>(registry.app, registry.keys.viewer, '/api/v1/traces/q2-1')).body;
    expect(detail.trace.scores.map((s: { kind: string; value: unknown }) => [s.kind, s.value])).toEqual([
      ['thumbs', 'down'],
      ['numeric', 0.25],
      ['label', 'rude'],
    ]);
  });

  it('metrics: per-sha buckets with counts, error rate, percentiles, scores, and the label moves as markers', async () => {
    const { status, body } = await getJson<Loose>(
      registry.app,
      registry.keys.viewer,
      '/api/v1/prompts/greeter/metrics?by=sha&since=6h&bucket=1h',
    );
    expect(status).toBe(200);
    expect(body).toMatchObject({ name: 'greeter', by: 'sha', bucketMs: HOUR });
    const [first, second] = body.series;
    expect(first).toMatchObject({ key: v1, version: 1, totals: { count: 20, errors: 0, thumbs: { up: 1, down: 0 } } });
    expect(second).toMatchObject({
      key: v2,
      version: 2,
      totals: { count: 20, errors: 5, errorRate: 0.25, thumbs: { up: 0, down: 1 } },
    });
    // Nearest rank over 1000, 1010, …, 1190.
    expect(second.totals.latencyMs).toEqual({ p50: 1090, p95: 1180, p99: 1190 });
    expect(second.totals.score).toEqual({ mean: 0.125, count: 2 });
    expect(second.points.reduce((n: number, p: { count: number }) => n + p.count, 0)).toBe(20);
    expect(body.markers.map((m: { label: string; toVersion: number }) => [m.label, m.toVersion])).toEqual([
      ['production', 1],
      ['production', 2],
    ]);
    const byArm = (
      await getJson<Loose>(
        registry.app,
        registry.keys.viewer,
        '/api/v1/prompts/greeter/metrics?by=arm&since=6h&bucket=30m',
      )
    ).body;
    expect(byArm.series.map((s: { key: string }) => s.key).sort()).toEqual(['candidate', 'control']);
    expect(
      (await getJson(registry.app, registry.keys.viewer, '/api/v1/prompts/greeter/metrics?since=30d&bucket=1m')).status,
    ).toBe(400);
    expect((await getJson(registry.app, registry.keys.viewer, '/api/v1/prompts/nope/metrics')).status).toBe(404);
  });

  it('retention deletes only traces older than the period, in batches, scores with them', async () => {
    const old = Array.from({ length: 11 }, (_, i) => traceEvent(`old-${i}`, { startedAt: now - 40 * 24 * HOUR + i }));
    expect((await ingest(registry.app, registry.keys.editor, { events: old })).statusCode).toBe(200);
    await registry.app.inject({
      method: 'POST',
      url: '/api/v1/traces/old-0/scores',
      headers: auth(),
      payload: { kind: 'thumbs', value: 'up' },
    });
    const calls: number[] = [];
    const storage: Pick<Stores['traces'], 'deleteTracesBefore'> = {
      deleteTracesBefore: async (cutoff, limit) => {
        const deleted = await registry.storage.traces.deleteTracesBefore(cutoff, limit);
        calls.push(deleted);
        return deleted;
      },
    };
    const job = startRetention(storage, { days: 30, batchSize: 4, pauseMs: 1, firstRunMs: 3_600_000 });
    expect(await job.runOnce()).toBe(11);
    await job.stop();
    expect(calls).toEqual([4, 4, 3]);
    expect((await list('prompt=greeter&limit=500')).traces).toHaveLength(40);
    expect(await registry.storage.rawSql("SELECT count(*) AS n FROM trace_scores WHERE event_id = 'old-0'")).toEqual([
      { n: 0 },
    ]);
  });
});
