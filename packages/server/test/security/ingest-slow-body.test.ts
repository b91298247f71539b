import { connect, type AddressInfo, type Socket } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { buildApp } from '../../src/app/app.js';
import type { IngestOptions } from '../../src/traces/plugin.js';
import { call } from '../support/http.js';
import { openTestRegistry, type TestRegistry } from '../support/registry.js';
import { traceEvent } from '../support/traces.js';

/**
 * Connections that trickle (or stall) an ingest body must not hold ingestion for anyone else.
 * Bodies are read before the gate admits a request, with a per-key cap on bodies being read, and against
 * a deadline and a minimum rate (short ones here, set through the app's options), answered 408.
 */

const until = (check: () => void): Promise<void> => vi.waitFor(check, { interval: 5, timeout: 15_000 });

interface Trickler {
  readonly socket: Socket;
  readonly closed: () => boolean;
  readonly ended: Promise<void>;
  readonly received: () => string;
}

/** Headers and the start of a body that announces 4 MB (under the 5 MiB limit) and never completes. */
const trickle = (port: number, key: string, options: { path?: string; everyMs?: number } = {}): Trickler => {
  const socket = connect(port, '127.0.0.1');
  let received = '';
  let closed = false;
  let timer: NodeJS.Timeout | undefined;
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => (received += chunk));
  // The server may reset a connection whose body it stopped reading.
  socket.on('error', () => undefined);
  const ended = new Promise<void>((resolve) =>
    socket.on('close', () => {
      closed = true;
      clearInterval(timer);
      resolve();
    }),
  );
  socket.write(
    `POST ${options.path ?? '/api/v1/ingest'} HTTP/1.1\r\nHost: test\r\nAuthorization: Bearer ${key}\r\n` +
      'Content-Type: application/json\r\nContent-Length: 4000000\r\n\r\n{"events":[',
  );
  if (options.everyMs !== undefined) timer = setInterval(() => socket.write(' '), options.everyMs);
  return { socket, ended, closed: () => closed, received: () => received };
};

const statusOf = (raw: string): number => Number(/^HTTP\/1\.1 (\d{3})/.exec(raw)?.[1] ?? 0);
const bodyOf = (raw: string): { error?: { code?: string; message?: string } } =>
  JSON.parse(raw.slice(raw.indexOf('\r\n\r\n') + 4)) as { error?: { code?: string; message?: string } };

const OTLP_SPAN = {
  resourceSpans: [
    {
      scopeSpans: [
        {
          spans: [
            {
              traceId: '0af7651916cd43dd8448eb211c80319c',
              spanId: 'c7ad6b7169203331',
              name: 'chat',
              startTimeUnixNano: String(BigInt(Date.now()) * 1_000_000n),
              endTimeUnixNano: String(BigInt(Date.now() + 5) * 1_000_000n),
              attributes: [{ key: 'gen_ai.request.model', value: { stringValue: 'gpt-4o-mini' } }],
            },
          ],
        },
      ],
    },
  ],
};

describe('slow ingest bodies', () => {
  let registry: TestRegistry;
  let otherProjectKey: string;
  let app: FastifyInstance | undefined;
  let port: number;
  const tricklers: Trickler[] = [];

  beforeAll(async () => {
    registry = await openTestRegistry('sqlite');
    const created = await call<{ secret: string }>(registry.app, 'POST', '/api/v1/projects', registry.keys.admin, {
      name: 'project-b',
    });
    expect(created.status).toBe(201);
    otherProjectKey = created.body.secret;
  });
  afterEach(async () => {
    for (const t of tricklers.splice(0)) t.socket.destroy();
    await app?.close();
    app = undefined;
  });
  afterAll(async () => {
    await registry.close();
  });

  const serve = async (ingest: IngestOptions): Promise<FastifyInstance> => {
    app = await buildApp({ storage: registry.storage, traces: { ingest, retention: false } });
    await app.listen({ host: '127.0.0.1', port: 0 });
    port = (app.server.address() as AddressInfo).port;
    return app;
  };

  const post = (path: string, key: string, body: unknown) =>
    fetch(`http://127.0.0.1:${port}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });

  it("18 stalled bodies of one project's key hold nothing another project's ingest needs", async () => {
    // Neither deadline nor rate can end them during this test: only the gate's design keeps ingestion open.
    const server = await serve({
      bodyTimeoutMs: 600_000,
      minBodyBytesPerSecond: 0,
      maxReadingPerKey: 8,
      maxReading: 32,
    });
    for (let i = 0; i < 18; i += 1) tricklers.push(trickle(port, otherProjectKey));
    // Each is either held by the server (reading a body, or in the gate) or already sent away.
    await until(() => {
      const { reading, active, queued } = server.ingestStats();
      expect(reading + active + queued + tricklers.filter((t) => t.closed()).length).toBe(18);
    });

    const ingest = await post('/api/v1/ingest', registry.keys.editor, { events: [traceEvent('slow-body-ok')] });
    expect(ingest.status).toBe(200);
    expect(await ingest.json()).toMatchObject({ accepted: ['slow-body-ok'] });
    const otlp = await post('/v1/traces', registry.keys.editor, OTLP_SPAN);
    expect(otlp.status).toBe(200);

    // Those beyond the key's cap were refused at once; the rest hold only read slots.
    expect(server.ingestStats()).toEqual({ active: 0, queued: 0, reading: 8 });
    expect(tricklers.filter((t) => t.closed())).toHaveLength(10);
    // Clients that vanish mid-body give their read slots back.
    for (const t of tricklers) t.socket.destroy();
    await until(() => expect(server.ingestStats()).toEqual({ active: 0, queued: 0, reading: 0 }));
  });

  it('answers 408 to a body that misses the deadline, and to one below the minimum rate', async () => {
    // Deadline only: a stalled body, and one that trickles (answered 408, or reset while it still sends).
    const byDeadline = await serve({ bodyTimeoutMs: 300, minBodyBytesPerSecond: 0 });
    const stalled = [0, 1, 2].map(() => trickle(port, otherProjectKey));
    const steady = [0, 1, 2].map(() => trickle(port, otherProjectKey, { path: '/v1/traces', everyMs: 10 }));
    tricklers.push(...stalled, ...steady);
    await Promise.all([...stalled, ...steady].map((t) => t.ended));
    for (const t of stalled) {
      expect(statusOf(t.received())).toBe(408);
      expect(bodyOf(t.received()).error).toMatchObject({
        code: 'body_timeout',
        message: 'the request body did not arrive within 300 ms',
      });
    }
    for (const t of steady) expect([0, 408]).toContain(statusOf(t.received()));
    await until(() => expect(byDeadline.ingestStats()).toEqual({ active: 0, queued: 0, reading: 0 }));
    expect((await post('/api/v1/ingest', otherProjectKey, { events: [traceEvent('after-408')] })).status).toBe(200);
    await app!.close();

    // Rate only (the deadline is far away): a stalled body falls below the rate once the grace is over.
    const byRate = await serve({ bodyTimeoutMs: 600_000, minBodyBytesPerSecond: 1000, bodyRateGraceMs: 50 });
    const slow = [0, 1, 2].map(() => trickle(port, otherProjectKey));
    tricklers.push(...slow);
    await Promise.all(slow.map((t) => t.ended));
    for (const t of slow) {
      expect(statusOf(t.received())).toBe(408);
      expect(bodyOf(t.received()).error).toMatchObject({
        code: 'body_timeout',
        message: 'the request body arrived slower than 1000 bytes/s',
      });
    }
    await until(() => expect(byRate.ingestStats()).toEqual({ active: 0, queued: 0, reading: 0 }));
  });
});
