import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call } from './support/http.js';
import { DIALECTS, openTestRegistry, type TestRegistry } from './support/registry.js';

/** Traces by OpenTelemetry trace id (`GET /api/v1/traces?traceId=`). */

describe.each(DIALECTS)('traces by trace id on %s', (dialect) => {
  let registry: TestRegistry;
  const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
  beforeAll(async () => {
    registry = await openTestRegistry(dialect);
    const started = Date.now() - 60_000;
    const ingest = await call(registry.app, 'POST', '/api/v1/ingest', registry.keys.editor, {
      events: [
        { id: 'span-a', traceId: traceId.toUpperCase(), spanId: '00f067aa0ba902b7', startedAt: started },
        { id: 'span-b', traceId, spanId: '00f067aa0ba902b8', startedAt: started + 10 },
        { id: 'elsewhere', traceId: '0'.repeat(31) + '1', startedAt: started },
        { id: 'no-trace-id', startedAt: started },
      ],
    });
    expect(ingest.status).toBe(200);
  });
  afterAll(async () => {
    await registry.close();
  });

  it('returns exactly the spans of that trace, whatever the case of the id', async () => {
    for (const id of [traceId, traceId.toUpperCase()]) {
      const reply = await call<{ traces: { id: string; traceId: string }[] }>(
        registry.app,
        'GET',
        `/api/v1/traces?traceId=${id}`,
        registry.keys.viewer,
      );
      expect(reply.status).toBe(200);
      expect(reply.body.traces.map((t) => t.id).sort()).toEqual(['span-a', 'span-b']);
      expect(reply.body.traces.every((t) => t.traceId === traceId)).toBe(true);
    }
  });

  it('refuses a trace id that is not 32 hex characters, naming the field', async () => {
    const reply = await call<{ error: { code: string; issues: { path: string }[] } }>(
      registry.app,
      'GET',
      '/api/v1/traces?traceId=xyz',
      registry.keys.viewer,
    );
    expect(reply.status).toBe(400);
    expect(reply.body.error.issues.map((issue) => issue.path)).toEqual(['querystring.traceId']);
  });
});
