import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS, openTestRegistry, textContent, type TestRegistry } from './support/registry.js';
import { getJson, ingest, traceEvent } from './support/traces.js';

/**
 * `GET /api/v1/prompts/:name/metrics?by=tenant`: one series per tenant, read from the rollups (whose
 * series are keyed by tenant already) for whole minutes and hours, and from the raw rows at the edges.
 */

const HOUR = 3_600_000;

// Two tenants per prompt get rollup series of their own; the rest share `other`.
process.env['PROMPTOPS_ROLLUP_MAX_TENANTS'] = '2';

interface Metrics {
  by: string;
  series: { key: string | null; totals: { count: number; errors: number } }[];
}

describe.each(DIALECTS)('metrics by tenant (%s)', (dialect) => {
  let registry: TestRegistry;
  const now = Date.now();

  const push = async (name: string): Promise<string> => {
    const response = await registry.app.inject({
      method: 'POST',
      url: `/api/v1/prompts/${name}/versions`,
      headers: { authorization: `Bearer ${registry.keys.admin}` },
      payload: {
        content: textContent(name, 'Hello {{user_name}}', { user_name: { type: 'string', required: true } }),
        parent: null,
      },
    });
    expect(response.statusCode).toBe(201);
    return response.json<{ sha: string }>().sha;
  };
  // Hours back (hour rows or folded minutes), minutes back, and now (the raw edge).
  const at = [now - 5 * HOUR, now - 2 * HOUR, now - 10 * 60_000, now];

  beforeAll(async () => {
    registry = await openTestRegistry(dialect);
    const sha = await push('greeter');
    const events = at.flatMap((startedAt, i) => [
      traceEvent(`bt-a-${i}`, { prompt: { name: 'greeter', sha }, tenant: 'acme', startedAt }),
      traceEvent(`bt-g-${i}`, { prompt: { name: 'greeter', sha }, tenant: 'globex', startedAt, status: 'error' }),
      traceEvent(`bt-n-${i}`, { prompt: { name: 'greeter', sha }, tenant: undefined, startedAt }),
    ]);
    expect((await ingest(registry.app, registry.keys.editor, { events })).statusCode).toBe(200);
  });
  afterAll(async () => {
    await registry.close();
  });

  it('answers one series per tenant, none for traces without one', async () => {
    for (const bucket of ['1h', '1m']) {
      const { status, body } = await getJson<Metrics>(
        registry.app,
        registry.keys.viewer,
        `/api/v1/prompts/greeter/metrics?by=tenant&since=6h&bucket=${bucket}`,
      );
      expect(status).toBe(200);
      expect(body.by).toBe('tenant');
      const totals = Object.fromEntries(body.series.map((s) => [String(s.key), s.totals]));
      expect(totals).toEqual({
        acme: expect.objectContaining({ count: 4, errors: 0 }),
        globex: expect.objectContaining({ count: 4, errors: 4 }),
        null: expect.objectContaining({ count: 4 }),
      });
    }
  });

  it("tenants beyond the rollups' cap are one series, `other`, at the raw edges too", async () => {
    const sha = await push('capped');
    const events = ['t1', 't2', 't3'].flatMap((tenant) =>
      at.map((startedAt, i) =>
        traceEvent(`cap-${tenant}-${i}`, { prompt: { name: 'capped', sha }, tenant, startedAt }),
      ),
    );
    expect((await ingest(registry.app, registry.keys.editor, { events })).statusCode).toBe(200);
    const { body } = await getJson<Metrics>(
      registry.app,
      registry.keys.viewer,
      '/api/v1/prompts/capped/metrics?by=tenant&since=6h&bucket=1m',
    );
    expect(Object.fromEntries(body.series.map((s) => [s.key, s.totals.count]))).toEqual({ t1: 4, t2: 4, other: 4 });
  });
});
