import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../src/app/app.js';
import { MAX_BATCH_EVENTS } from '../src/traces/limits.js';
import { DIALECTS, openTestRegistry, type TestRegistry } from './support/registry.js';
import { getJson, ingest, traceEvent } from './support/traces.js';

interface IngestBody {
  accepted: string[];
  duplicates: string[];
  rejected: { index: number; id?: string; issues: { path: string; message: string }[] }[];
  droppedAttributes: number;
}

// `sqlite-memory`: the batch is parsed, validated and inserted on the main thread (no writer thread).
describe.each([...DIALECTS, 'sqlite-memory'] as const)('POST /api/v1/ingest (%s)', (dialect) => {
  let registry: TestRegistry;
  let key: string;

  beforeAll(async () => {
    registry = await openTestRegistry(dialect);
    key = registry.keys.editor;
  });
  afterAll(async () => {
    await registry.close();
  });

  it('accepts a batch; accepted events are committed when the response arrives', async () => {
    const response = await ingest(registry.app, key, { events: [traceEvent('ok-1'), traceEvent('ok-2')] });
    expect(response.statusCode).toBe(200);
    // The JSON is encoded where the batch was processed (the writer thread) and sent as bytes.
    expect(response.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(response.json<IngestBody>()).toEqual({
      accepted: ['ok-1', 'ok-2'],
      duplicates: [],
      rejected: [],
      droppedAttributes: 0,
    });
    // Read straight from the database, not through any cache.
    const rows = await registry.storage.rawSql(
      "SELECT event_id, prompt_sha, status FROM traces WHERE event_id IN ('ok-1', 'ok-2') ORDER BY event_id",
    );
    expect(rows).toEqual([
      { event_id: 'ok-1', prompt_sha: 'a'.repeat(64), status: 'ok' },
      { event_id: 'ok-2', prompt_sha: 'a'.repeat(64), status: 'ok' },
    ]);
  });

  it('validates each item on its own and names the field', async () => {
    const response = await ingest(registry.app, key, {
      events: [
        traceEvent('mixed-ok'),
        traceEvent('mixed-bad-sha', { prompt: { name: 'greeter', sha: 'xyz' } }),
        { startedAt: new Date().toISOString() },
        traceEvent('mixed-bad-time', { startedAt: 'yesterday' }),
        'not an object',
        traceEvent('mixed-future', { startedAt: Date.now() + 3 * 86_400_000 }),
        traceEvent('mixed-no-time', { startedAt: undefined }),
      ],
    });
    expect(response.statusCode).toBe(200);
    const body = response.json<IngestBody>();
    expect(body.accepted).toEqual(['mixed-ok']);
    expect(body.rejected.map((r) => [r.index, r.id, r.issues[0]?.path])).toEqual([
      [1, 'mixed-bad-sha', 'prompt.sha'],
      [2, undefined, 'id'],
      [3, 'mixed-bad-time', 'startedAt'],
      [4, undefined, ''],
      [5, 'mixed-future', 'startedAt'],
      [6, 'mixed-no-time', 'startedAt'],
    ]);
    // A time in neither form, or none, says which forms it takes (not zod's bare "Invalid input").
    const forms = 'epoch milliseconds or an ISO-8601 time with a zone, e.g. 2025-01-31T12:00:00Z';
    expect(body.rejected[2]?.issues).toEqual([{ path: 'startedAt', message: `must be ${forms}` }]);
    expect(body.rejected[5]?.issues).toEqual([{ path: 'startedAt', message: `required: ${forms}` }]);
  });

  it('answers 400 when every item is rejected, and for a malformed batch', async () => {
    const all = await ingest(registry.app, key, { events: [{ id: 'x' }, { id: 'y', startedAt: 'no' }] });
    expect(all.statusCode).toBe(400);
    expect(all.json<IngestBody>().rejected).toHaveLength(2);
    for (const body of [{}, { events: [] }, { events: 'nope' }, []]) {
      const response = await ingest(registry.app, key, body);
      expect(response.statusCode, JSON.stringify(body)).toBe(400);
      expect(response.json()).toMatchObject({ error: { code: 'invalid_request' } });
    }
    const broken = await ingest(registry.app, key, '{"events": [');
    expect(broken.statusCode).toBe(400);
    expect(broken.json()).toMatchObject({ error: { code: 'invalid_json' } });
  });

  it('is idempotent: re-sending an event id stores it once and reports a duplicate', async () => {
    const batch = { events: [traceEvent('idem-1'), traceEvent('idem-2'), traceEvent('idem-1', { output: 'changed' })] };
    const first = (await ingest(registry.app, key, batch)).json<IngestBody>();
    expect(first).toMatchObject({ accepted: ['idem-1', 'idem-2'], duplicates: ['idem-1'] });
    const again = (await ingest(registry.app, key, batch)).json<IngestBody>();
    expect(again).toMatchObject({ accepted: [], duplicates: ['idem-1', 'idem-2', 'idem-1'] });
    const rows = await registry.storage.rawSql("SELECT output FROM traces WHERE event_id = 'idem-1'");
    expect(rows).toEqual([{ output: 'Hello Ada! Your order ships tomorrow.' }]);
  });

  it('limits: more than 1,000 events or 5 MiB is 413; an over-long field rejects its item', async () => {
    const many = { events: Array.from({ length: MAX_BATCH_EVENTS + 1 }, (_, i) => traceEvent(`many-${i}`)) };
    const tooMany = await ingest(registry.app, key, many);
    expect(tooMany.statusCode).toBe(413);
    expect(tooMany.json()).toMatchObject({ error: { code: 'batch_too_large' } });

    const huge = { events: [traceEvent('huge', { output: 'x'.repeat(6 * 1024 * 1024) })] };
    const tooBig = await ingest(registry.app, key, huge);
    expect(tooBig.statusCode).toBe(413);
    expect(tooBig.json()).toMatchObject({ error: { code: 'too_large', fix: expect.stringContaining('5 MiB') } });

    const long = await ingest(registry.app, key, {
      events: [traceEvent('long', { output: 'x'.repeat(200 * 1024) }), traceEvent('short')],
    });
    expect(long.statusCode).toBe(200);
    expect(long.json<IngestBody>().rejected).toEqual([
      { index: 0, id: 'long', issues: [expect.objectContaining({ path: 'output' })] },
    ]);
  });

  it('hostile keys neither pollute objects nor get stored; what is over a limit is dropped and counted', async () => {
    const hostile =
      '{"events":[{"id":"hostile-1","startedAt":' +
      Date.now() +
      ',"__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}},' +
      '"attributes":{"__proto__":{"polluted":true},"constructor":"x","prototype":1,"ok":"kept","nested":{"deep":1},"' +
      'k'.repeat(300) +
      '":1,"big":"' +
      'v'.repeat(5000) +
      '"},"variables":{"__proto__":{"isAdmin":true},"user_name":"Ada","a":{"b":{"c":{"d":{"e":{"f":{"g":1}}}}}}}}]}';
    const response = await ingest(registry.app, key, hostile);
    expect(response.statusCode).toBe(200);
    const body = response.json<IngestBody>();
    expect(body.accepted).toEqual(['hostile-1']);
    expect(body.droppedAttributes).toBeGreaterThanOrEqual(7);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    expect(({} as Record<string, unknown>)['isAdmin']).toBeUndefined();
    const { body: detail } = await getJson<{
      trace: { attributes: Record<string, unknown>; variables: Record<string, unknown> };
    }>(registry.app, key, '/api/v1/traces/hostile-1');
    expect(detail.trace.attributes).toEqual({ ok: 'kept' });
    expect(Object.keys(detail.trace.variables)).toEqual(['user_name', 'a']);

    const wide = {
      events: [
        traceEvent('wide', { attributes: Object.fromEntries(Array.from({ length: 1000 }, (_, i) => [`k${i}`, i])) }),
      ],
    };
    const wideBody = (await ingest(registry.app, key, wide)).json<IngestBody>();
    expect(wideBody.droppedAttributes).toBe(1000 - 128);
  });

  it('needs traces:write: a viewer key is refused, no key is 401', async () => {
    expect((await ingest(registry.app, registry.keys.viewer, { events: [traceEvent('v')] })).statusCode).toBe(403);
    const anonymous = await registry.app.inject({ method: 'POST', url: '/api/v1/ingest', payload: { events: [] } });
    expect(anonymous.statusCode).toBe(401);
  });

  it('fuzz: any JSON body gets 200 or a 4xx, never a 500', async () => {
    const field = fc.oneof(fc.string(), fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.jsonValue());
    const eventArb = fc.record(
      {
        id: fc.oneof(fc.string({ maxLength: 140 }), fc.integer()),
        startedAt: fc.oneof(
          fc.integer(),
          fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
          fc.string(),
        ),
        traceId: fc.oneof(fc.string(), fc.stringMatching(/^[0-9a-f]{32}$/)),
        prompt: fc.oneof(field, fc.record({ name: fc.string(), version: field, sha: field })),
        variables: fc.oneof(field, fc.dictionary(fc.string(), fc.jsonValue())),
        attributes: fc.oneof(
          field,
          fc.dictionary(fc.constantFrom('__proto__', 'constructor', 'a', 'b.c'), fc.jsonValue()),
        ),
        latencyMs: field,
        usage: fc.oneof(field, fc.record({ inputTokens: field, outputTokens: field })),
        status: fc.oneof(fc.constantFrom('ok', 'error'), field),
        label: field,
        output: field,
      },
      { requiredKeys: [] },
    );
    const bodyArb = fc.oneof(
      fc.record({ events: fc.array(fc.oneof(eventArb, fc.jsonValue()), { maxLength: 20 }) }),
      fc.jsonValue(),
    );
    await fc.assert(
      fc.asyncProperty(bodyArb, async (body) => {
        const response = await ingest(registry.app, key, JSON.stringify(body));
        expect([200, 400, 413]).toContain(response.statusCode);
      }),
      { numRuns: 150 },
    );
  });
});

describe('ingestion under overload', () => {
  let registry: TestRegistry;

  beforeAll(async () => {
    registry = await openTestRegistry('sqlite');
  });
  afterAll(async () => {
    await registry.close();
  });

  it('answers 429 with Retry-After when the gate is full, and recovers', async () => {
    const app = await buildApp({
      storage: registry.storage,
      traces: { ingest: { maxActive: 1, maxQueued: 1, retryAfterSeconds: 2 }, retention: false },
    });
    try {
      const batch = (n: number) => ({ events: Array.from({ length: 1000 }, (_, i) => traceEvent(`load-${n}-${i}`)) });
      const responses = await Promise.all(
        Array.from({ length: 6 }, (_, n) => ingest(app, registry.keys.editor, batch(n))),
      );
      const statuses = responses.map((r) => r.statusCode);
      expect(statuses.filter((s) => s === 200).length).toBeGreaterThanOrEqual(2);
      const refused = responses.filter((r) => r.statusCode === 429);
      expect(refused.length).toBeGreaterThanOrEqual(1);
      expect(refused[0]!.headers['retry-after']).toBe('2');
      expect(refused[0]!.json()).toMatchObject({ error: { code: 'overloaded' } });
      // Once the load is gone, a request goes through again.
      expect((await ingest(app, registry.keys.editor, batch(99))).statusCode).toBe(200);
    } finally {
      await app.close();
    }
  });
});
