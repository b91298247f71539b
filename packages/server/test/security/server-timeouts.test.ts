import { connect, type Socket } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app/app.js';
import { DEFAULT_TIMEOUTS } from '../../src/app/timeouts.js';
import { openTestRegistry, type TestRegistry } from '../support/registry.js';
import { openSse } from '../support/sse.js';

/**
 * Server-wide timeouts: a client that sends its headers or its body slowly is answered 408 and
 * disconnected once the configured deadline passes (trickling bytes does not extend it), an idle
 * keep-alive connection is closed, and a response that takes long (a change stream) is never cut.
 * Outcomes are asserted, not durations: each case waits for the server to close the socket.
 */

const TIMEOUTS = { headersMs: 300, requestMs: 600, keepAliveMs: 300, checkIntervalMs: 50 };

interface Closed {
  readonly received: string;
}

/** Opens a socket, writes `head` at once, then one byte of `trickle` every 50 ms until the server closes it. */
const slowClient = (port: number, head: string, trickle: string): Promise<Closed> =>
  new Promise((resolve, reject) => {
    const socket: Socket = connect(port, '127.0.0.1');
    let received = '';
    let sent = 0;
    const timer = setInterval(() => {
      if (!socket.writable || trickle === '') return;
      socket.write(trickle[sent % trickle.length]!);
      sent += 1;
    }, 50);
    socket.on('connect', () => socket.write(head));
    socket.on('data', (chunk) => (received += chunk.toString()));
    socket.on('error', () => undefined); // a reset after the 408 is fine: the outcome is what was received
    socket.on('close', () => {
      clearInterval(timer);
      resolve({ received });
    });
    socket.setTimeout(25_000, () => {
      clearInterval(timer);
      socket.destroy();
      reject(new Error(`the server kept the slow connection open; received: ${JSON.stringify(received)}`));
    });
  });

describe('server timeouts', () => {
  let r: TestRegistry;
  let app: FastifyInstance;
  let port: number;

  beforeAll(async () => {
    r = await openTestRegistry('sqlite');
    app = await buildApp({ storage: r.storage, timeouts: TIMEOUTS, changeFeed: { keepaliveMs: 50 } });
    await app.listen({ host: '127.0.0.1', port: 0 });
    port = (app.server.address() as { port: number }).port;
  });
  afterAll(async () => {
    app.server.closeAllConnections();
    await app.close();
    await r.close();
  });

  it('applies the configured values to the HTTP server, and documented defaults otherwise', async () => {
    expect(app.server.headersTimeout).toBe(TIMEOUTS.headersMs);
    expect(app.server.requestTimeout).toBe(TIMEOUTS.requestMs);
    expect(app.server.keepAliveTimeout).toBe(TIMEOUTS.keepAliveMs);
    const defaults = await buildApp({ storage: r.storage });
    try {
      expect(DEFAULT_TIMEOUTS.requestMs).toBeGreaterThan(0);
      expect(defaults.server.requestTimeout).toBe(DEFAULT_TIMEOUTS.requestMs);
      expect(defaults.server.headersTimeout).toBe(DEFAULT_TIMEOUTS.headersMs);
      expect(defaults.server.keepAliveTimeout).toBe(DEFAULT_TIMEOUTS.keepAliveMs);
      expect(DEFAULT_TIMEOUTS.headersMs).toBeLessThanOrEqual(DEFAULT_TIMEOUTS.requestMs);
    } finally {
      await defaults.close();
    }
  });

  it('refuses timeouts that are not positive integers, or headers longer than the request', async () => {
    await expect(buildApp({ storage: r.storage, timeouts: { requestMs: 0 } })).rejects.toThrow(/requestMs/);
    await expect(buildApp({ storage: r.storage, timeouts: { headersMs: 2000, requestMs: 1000 } })).rejects.toThrow(
      /headersMs.*requestMs/,
    );
  });

  it('answers 408 and disconnects a client that trickles its headers, and keeps a long stream open', async () => {
    const stream = await openSse(`http://127.0.0.1:${port}/api/v1/stream`, {
      authorization: `Bearer ${r.keys.viewer}`,
    });
    expect(stream.status).toBe(200);

    const slowHeaders = await slowClient(port, 'GET /healthz HTTP/1.1\r\nHost: x\r\n', 'X-Slow: 1\r\n');
    expect(slowHeaders.received).toMatch(/^HTTP\/1\.1 408 /);

    const body = JSON.stringify({ content: {}, parent: null });
    const slowBody = await slowClient(
      port,
      [
        'POST /api/v1/prompts/slow/versions HTTP/1.1',
        'Host: x',
        `Authorization: Bearer ${r.keys.editor}`,
        'Content-Type: application/json',
        `Content-Length: ${body.length + 1000}`,
        '',
        body.slice(0, 5),
      ].join('\r\n'),
      ' ',
    );
    expect(slowBody.received).toMatch(/^HTTP\/1\.1 408 /);

    // The stream, open since before both, outlived the request deadline and still delivers.
    const seen = stream.comments.length;
    await stream.until(() => stream.comments.length > seen);
    await stream.close();
  });

  it('closes an idle keep-alive connection after answering its request', async () => {
    const idle = await slowClient(port, 'GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\n\r\n', '');
    expect(idle.received).toMatch(/^HTTP\/1\.1 200 /);
  });
});
