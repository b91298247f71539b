import { describe, expect, it } from 'vitest';
import { demoServer, run } from './helpers.js';

/** `promptops trace ID` takes an OpenTelemetry trace id (32 hex) and shows its spans. */

describe('promptops trace OTEL_TRACE_ID (demo data)', () => {
  const demo = demoServer('trace-otel');
  const cli = (argv: string[]) => run(argv, { env: demo.env });

  it('shows the one span of a trace in full, as by its event id', async () => {
    const byEvent = (await cli(['trace', '4481', '--json'])).json<{ trace: { traceId: string } }>();
    const traceId = byEvent.trace.traceId;
    expect(traceId).toMatch(/^[0-9a-f]{32}$/);
    const human = await cli(['trace', traceId.toUpperCase()]);
    expect(human.code, human.stderr).toBe(0);
    expect(human.stdout).toContain('trace 4481');
    expect(human.stdout).toContain('customer_support_greeter@v18');
    expect(human.stdout).toContain('promptops rollback customer_support_greeter --label production --to v17');
  });

  it('lists every span of a trace with several, oldest first', async () => {
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const started = Date.now() - 60_000;
    const response = await fetch(`${demo.env['PROMPTOPS_URL']}/api/v1/ingest`, {
      method: 'POST',
      headers: { authorization: `Bearer ${demo.env['PROMPTOPS_API_KEY']}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        events: [
          { id: 'otel-span-b', traceId, spanId: '00f067aa0ba902b8', startedAt: started + 500, output: 'second call' },
          {
            id: 'otel-span-a',
            traceId,
            spanId: '00f067aa0ba902b7',
            startedAt: started,
            prompt: { name: 'customer_support_greeter', version: 17 },
            output: 'first call',
          },
          { id: 'other-trace', traceId: '0'.repeat(31) + '1', startedAt: started, output: 'elsewhere' },
        ],
      }),
    });
    expect(response.status).toBe(200);
    const human = await cli(['trace', traceId]);
    expect(human.code, human.stderr).toBe(0);
    expect(human.stdout).toContain(`trace ${traceId}: 2 spans`);
    const a = human.stdout.indexOf('otel-span-a');
    const b = human.stdout.indexOf('otel-span-b');
    expect(a).toBeGreaterThan(-1);
    expect(b).toBeGreaterThan(a);
    expect(human.stdout).not.toContain('other-trace');
    expect(human.stdout).toContain('promptops trace otel-span-a');

    const json = (await cli(['trace', traceId, '--json'])).json<{ traceId: string; spans: { id: string }[] }>();
    expect(json.traceId).toBe(traceId);
    expect(json.spans.map((span) => span.id)).toEqual(['otel-span-a', 'otel-span-b']);
  });

  it('names both kinds of id when nothing matches', async () => {
    const missing = await cli(['trace', 'ab'.repeat(16)]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain(`no trace with event id or trace id '${'ab'.repeat(16)}'`);
  });
});
