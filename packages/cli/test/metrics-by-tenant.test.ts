import { describe, expect, it } from 'vitest';
import { demoServer, run } from './helpers.js';

/** `promptops metrics NAME --by tenant`: one series per tenant, `(none)` for calls without one. */

describe('promptops metrics --by tenant', () => {
  const demo = demoServer('metrics-by-tenant');
  const cli = (argv: string[]) => run(argv, { env: demo.env });

  it('prints a series per tenant', async () => {
    const event = (id: string, tenant?: string) => ({
      id,
      startedAt: Date.now() - 60_000,
      prompt: { name: 'summarize_ticket', version: 3 },
      ...(tenant === undefined ? {} : { tenant }),
    });
    const response = await fetch(`${demo.env['PROMPTOPS_URL']}/api/v1/ingest`, {
      method: 'POST',
      headers: { authorization: `Bearer ${demo.env['PROMPTOPS_API_KEY']}`, 'content-type': 'application/json' },
      body: JSON.stringify({ events: [event('bt-1', 'acme'), event('bt-2', 'acme'), event('bt-3', 'globex')] }),
    });
    expect(response.status).toBe(200);
    const result = await cli(['metrics', 'summarize_ticket', '--by', 'tenant', '--since', '1h', '--json']);
    expect(result.code, result.stderr).toBe(0);
    const body = JSON.parse(result.stdout) as {
      by: string;
      series: { key: string | null; totals: { count: number } }[];
    };
    expect(body.by).toBe('tenant');
    const counts = Object.fromEntries(body.series.map((s) => [String(s.key), s.totals.count]));
    expect(counts).toMatchObject({ acme: 2, globex: 1 });
  });
});
