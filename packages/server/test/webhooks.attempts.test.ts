import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../src/app/app.js';
import { secretBoxFrom } from '../src/webhooks/secrets.js';
import { RETRY_DELAYS_MS } from '../src/webhooks/service.js';
import { describeEachDatabase } from './support/databases.js';
import { openTestRegistry, textContent, type TestRegistry } from './support/registry.js';

/**
 * Every attempt of a webhook delivery is kept (migration 0020): when it was made, the response code, the
 * error and how long it took, oldest first, through redeliveries too, in the deliveries API.
 */

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = Record<string, any>;

const T0 = Date.parse('2025-04-01T09:00:00.000Z');

describeEachDatabase('webhook delivery attempts (%s)', (dialect) => {
  let registry: TestRegistry;
  let app: FastifyInstance;
  let now = T0;
  const clock = { now: () => new Date(now) };
  let status = 503;
  let server: Server;
  let url = '';

  const ok = async (method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, body?: unknown, role = 'admin') => {
    const response = await app.inject({
      method,
      url: path,
      headers: { authorization: `Bearer ${registry.keys[role as 'admin']}` },
      ...(body === undefined ? {} : { payload: body as Json }),
    });
    expect(response.statusCode, `${method} ${path}: ${response.body}`).toBeLessThan(300);
    return response.body === '' ? {} : (response.json() as Json);
  };

  beforeAll(async () => {
    registry = await openTestRegistry(dialect, { clock });
    app = await buildApp({
      storage: registry.storage,
      clock,
      webhooks: { secretBox: secretBoxFrom('test-secret-key-0123456789abcdef')!, allowPrivate: true, holder: 't' },
    });
    server = createServer((request, response) => {
      request.resume();
      request.on('end', () => {
        response.statusCode = status;
        response.end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await app.close();
    await registry.close();
  });

  it('keeps one row per attempt, through retries and a redelivery', async () => {
    const created = await ok('POST', '/api/v1/webhooks', { url, events: ['version.pushed'] });
    const id = created['webhook']['id'] as number;
    await ok(
      'POST',
      '/api/v1/prompts/greeter/versions',
      { content: textContent('greeter', 'Hi'), parent: null },
      'editor',
    );

    status = 503;
    expect(await app.webhookDispatcher.tick()).toMatchObject({ attempted: 1, delivered: 0 });
    const firstAt = new Date(now).toISOString();
    now += RETRY_DELAYS_MS[0]!;
    status = 200;
    expect(await app.webhookDispatcher.tick()).toMatchObject({ attempted: 1, delivered: 1 });

    let [delivery] = (await ok('GET', `/api/v1/webhooks/${id}/deliveries`))['deliveries'] as Json[];
    expect(delivery).toMatchObject({ status: 'delivered', attempts: 2, responseCode: 200 });
    expect(delivery!['attemptLog']).toEqual([
      { attempt: 1, at: firstAt, responseCode: 503, error: 'answered 503', durationMs: expect.any(Number) },
      {
        attempt: 2,
        at: new Date(now).toISOString(),
        responseCode: 200,
        error: null,
        durationMs: expect.any(Number),
      },
    ]);

    // Redelivered by hand: the attempts count afresh, the log keeps the earlier ones.
    now += 60_000;
    await ok('POST', `/api/v1/webhooks/${id}/deliveries/${delivery!['id']}/redeliver`);
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    expect(await app.webhookDispatcher.tick()).toMatchObject({ attempted: 1, delivered: 0 });
    [delivery] = (await ok('GET', `/api/v1/webhooks/${id}/deliveries`))['deliveries'] as Json[];
    const log = delivery!['attemptLog'] as Json[];
    expect(log.map((a) => [a['attempt'], a['responseCode']])).toEqual([
      [1, 503],
      [2, 200],
      [1, null],
    ]);
    expect(log[2]!['error']).toEqual(expect.any(String));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));

    // Deleting the webhook deletes its deliveries' attempts too.
    await ok('DELETE', `/api/v1/webhooks/${id}`);
    expect(await registry.storage.rawSql('select * from webhook_attempts')).toEqual([]);
  });
});
