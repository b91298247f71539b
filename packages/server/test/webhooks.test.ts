import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { verifyWebhookSignature } from '@promptops/core';
import { buildApp } from '../src/app/app.js';
import { secretBoxFrom } from '../src/webhooks/secrets.js';
import { RETRY_DELAYS_MS } from '../src/webhooks/service.js';
import { describeEachDatabase } from './support/databases.js';
import { openTestRegistry, textContent, type TestRegistry } from './support/registry.js';

/**
 * Webhooks end to end on both databases, with an injected clock and the dispatcher's `tick()`: a local
 * receiver checks every signature; a receiver that is down and recovers gets every event once; targets
 * on private or metadata addresses are refused at creation and at send time; secrets never come back.
 */

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = Record<string, any>;

const T0 = Date.parse('2025-04-01T09:00:00.000Z');
const SECRET_KEY = 'test-secret-key-0123456789abcdef';

interface Received {
  readonly headers: IncomingMessage['headers'];
  readonly body: string;
}

/** A local receiver: answers `status()` and keeps what it was sent. */
const receiver = async () => {
  const received: Received[] = [];
  let status = 200;
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      if (status < 300) received.push({ headers: request.headers, body: Buffer.concat(chunks).toString('utf8') });
      response.statusCode = status;
      response.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    received,
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    port: (server.address() as AddressInfo).port,
    setStatus: (next: number) => {
      status = next;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
};

describeEachDatabase('webhooks (%s)', (dialect) => {
  let registry: TestRegistry;
  let app: FastifyInstance;
  let strict: FastifyInstance;
  let keyless: FastifyInstance;
  let now = T0;
  const clock = { now: () => new Date(now) };
  let resolved = ['93.184.216.34'];

  const call = (
    target: FastifyInstance,
    method: 'GET' | 'POST' | 'PUT' | 'DELETE',
    url: string,
    body?: unknown,
    role = 'admin',
  ) =>
    target.inject({
      method,
      url,
      headers: { authorization: `Bearer ${registry.keys[role as 'admin']}` },
      ...(body === undefined ? {} : { payload: body as Json }),
    });
  const ok = async (method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, body?: unknown, role = 'admin') => {
    const response = await call(app, method, url, body, role);
    expect(response.statusCode, `${method} ${url}: ${response.body}`).toBeLessThan(300);
    return response.body === '' ? {} : (response.json() as Json);
  };
  const push = async (template: string): Promise<void> => {
    const head = (await registry.storage.registry.getPrompt(registry.projectId, 'greeter'))?.headSha ?? null;
    await ok(
      'POST',
      '/api/v1/prompts/greeter/versions',
      {
        content: textContent('greeter', template),
        parent: head,
        message: template,
      },
      'editor',
    );
  };

  beforeAll(async () => {
    registry = await openTestRegistry(dialect, { clock });
    const secretBox = secretBoxFrom(SECRET_KEY)!;
    app = await buildApp({
      storage: registry.storage,
      clock,
      webhooks: { secretBox, allowPrivate: true, holder: 'test' },
    });
    strict = await buildApp({
      storage: registry.storage,
      clock,
      webhooks: {
        secretBox,
        holder: 'test',
        resolve: (host) => Promise.resolve(host === 'localhost' ? ['127.0.0.1'] : resolved),
      },
    });
    keyless = await buildApp({ storage: registry.storage, clock });
    await push('Hello v1');
  });
  afterAll(async () => {
    await Promise.all([app.close(), strict.close(), keyless.close()]);
    await registry.close();
  });

  it('delivers signed events of several types to a receiver that verifies them', async () => {
    const hook = await receiver();
    try {
      const created = await ok('POST', '/api/v1/webhooks', { url: hook.url, events: ['*'] });
      const secret = created['secret'] as string;
      expect(secret).toMatch(/^whsec_/);
      expect(created['webhook']).toMatchObject({ url: hook.url, events: ['*'], format: 'json', active: true });

      await push('Hello v2');
      await ok('PUT', '/api/v1/prompts/greeter/labels/production', { ref: 'v1' }, 'deployer');
      await ok('PUT', '/api/v1/prompts/greeter/labels/production', { ref: 'v2' }, 'deployer');
      await ok('POST', '/api/v1/prompts/greeter/labels/production/rollback', { reason: 'bad' }, 'deployer');
      await ok('POST', '/api/v1/incidents', { name: 'greeter', label: 'production', message: 'scores fell' }, 'editor');

      expect(await app.webhookDispatcher.tick()).toMatchObject({ held: true, enqueued: 5, delivered: 5 });
      const events = hook.received.map((r) => JSON.parse(r.body) as Json);
      expect(events.map((e) => e['event'])).toEqual([
        'version.pushed',
        'label.moved',
        'label.moved',
        'label.rolled_back',
        'incident.opened',
      ]);
      for (const r of hook.received) {
        const header = r.headers['x-promptops-signature'] as string;
        expect(verifyWebhookSignature(secret, header, r.body, Math.floor(now / 1000))).toEqual({ ok: true });
        expect(verifyWebhookSignature('whsec_wrong', header, r.body, Math.floor(now / 1000)).ok).toBe(false);
        // Replayed an hour later, the same delivery is refused by its timestamp.
        expect(verifyWebhookSignature(secret, header, r.body, Math.floor(now / 1000) + 3600)).toEqual({
          ok: false,
          reason: 'expired',
        });
        expect(r.headers['x-promptops-event']).toBe(JSON.parse(r.body)['event']);
      }
      expect(events[3]).toMatchObject({ data: { name: 'greeter', label: 'production', kind: 'rollback' } });

      // Nothing is sent twice.
      expect(await app.webhookDispatcher.tick()).toMatchObject({ enqueued: 0, attempted: 0 });
      expect(hook.received).toHaveLength(5);

      // The secret never comes back, and is not stored in the clear.
      const id = created['webhook']['id'] as number;
      const answers = [
        (await call(app, 'GET', '/api/v1/webhooks')).body,
        (await call(app, 'GET', `/api/v1/webhooks/${id}/deliveries`)).body,
        JSON.stringify(await registry.storage.registry.listAudit(registry.projectId, { limit: 1000 })),
        JSON.stringify(await registry.storage.rawSql('select * from webhooks')),
      ];
      for (const answer of answers) expect(answer).not.toContain(secret);
      const deliveries = (await ok('GET', `/api/v1/webhooks/${id}/deliveries`))['deliveries'] as Json[];
      expect(deliveries).toHaveLength(5);
      expect(deliveries[0]).toMatchObject({ status: 'delivered', responseCode: 200, attempts: 1 });
      await ok('DELETE', `/api/v1/webhooks/${id}`);
    } finally {
      await hook.close();
    }
  });

  it('retries with backoff: a receiver down then back gets every event once', async () => {
    const hook = await receiver();
    try {
      const created = await ok('POST', '/api/v1/webhooks', {
        url: hook.url,
        events: ['version.pushed', 'label.*'],
        format: 'slack',
      });
      const id = created['webhook']['id'] as number;
      hook.setStatus(503);
      await push('Hello v3');
      await ok('PUT', '/api/v1/prompts/greeter/labels/production', { ref: 'v3' }, 'deployer');
      await ok('POST', '/api/v1/incidents', { name: 'greeter', label: 'staging', message: 'not subscribed' }, 'editor');
      expect(await app.webhookDispatcher.tick()).toMatchObject({ enqueued: 2, attempted: 2, delivered: 0 });
      // Not due yet: nothing attempted until the first backoff has passed.
      now += RETRY_DELAYS_MS[0]! - 1000;
      expect(await app.webhookDispatcher.tick()).toMatchObject({ attempted: 0 });
      now += 1000;
      expect(await app.webhookDispatcher.tick()).toMatchObject({ attempted: 2, delivered: 0 });
      let deliveries = (await ok('GET', `/api/v1/webhooks/${id}/deliveries`))['deliveries'] as Json[];
      expect(deliveries.map((d) => [d['status'], d['attempts'], d['responseCode']])).toEqual([
        ['pending', 2, 503],
        ['pending', 2, 503],
      ]);
      hook.setStatus(200);
      now += RETRY_DELAYS_MS[1]!;
      expect(await app.webhookDispatcher.tick()).toMatchObject({ attempted: 2, delivered: 2 });
      now += 3_600_000;
      expect(await app.webhookDispatcher.tick()).toMatchObject({ attempted: 0 });
      expect(hook.received.map((r) => (JSON.parse(r.body) as Json)['text'] as string)).toEqual([
        expect.stringContaining('version.pushed greeter'),
        expect.stringContaining('label.moved greeter production → v3'),
      ]);
      deliveries = (await ok('GET', `/api/v1/webhooks/${id}/deliveries`))['deliveries'] as Json[];
      expect(deliveries.every((d) => d['status'] === 'delivered' && d['attempts'] === 3)).toBe(true);

      // Down for good: given up after the last retry (over an hour), then redelivered by hand.
      hook.setStatus(500);
      await push('Hello v4');
      expect(await app.webhookDispatcher.tick()).toMatchObject({ enqueued: 1, attempted: 1 });
      for (const delay of RETRY_DELAYS_MS) {
        now += delay;
        expect(await app.webhookDispatcher.tick()).toMatchObject({ attempted: 1, delivered: 0 });
      }
      expect(RETRY_DELAYS_MS.reduce((a, b) => a + b, 0)).toBeGreaterThan(3_600_000);
      const [given] = (await ok('GET', `/api/v1/webhooks/${id}/deliveries`))['deliveries'] as Json[];
      expect(given).toMatchObject({ status: 'failed', attempts: RETRY_DELAYS_MS.length + 1, nextAttemptAt: null });
      hook.setStatus(200);
      const again = await ok('POST', `/api/v1/webhooks/${id}/deliveries/${given!['id']}/redeliver`);
      expect(again['delivery']).toMatchObject({ status: 'pending', attempts: 0 });
      expect(await app.webhookDispatcher.tick()).toMatchObject({ attempted: 1, delivered: 1 });
      expect(hook.received).toHaveLength(3);
      await ok('DELETE', `/api/v1/webhooks/${id}`);
    } finally {
      await hook.close();
    }
  });

  it('refuses private, loopback, link-local and metadata targets, at creation and at send time', async () => {
    for (const url of [
      'http://127.0.0.1/hook',
      'http://169.254.169.254/latest/meta-data',
      'http://[fd00:ec2::254]/',
      'http://10.1.2.3/',
      'http://192.168.0.10/',
      'http://[::1]:8080/',
      'http://[::ffff:127.0.0.1]/',
      'http://localhost:3000/',
    ]) {
      const response = await call(strict, 'POST', '/api/v1/webhooks', { url, events: ['*'] });
      expect(response.statusCode, url).toBe(422);
      expect(response.json()).toMatchObject({ error: { code: 'webhook_target_forbidden' } });
    }
    const bad = await call(strict, 'POST', '/api/v1/webhooks', { url: 'ftp://example.com/', events: ['*'] });
    expect(bad.json()).toMatchObject({ error: { code: 'invalid_webhook' } });
    const unknown = await call(strict, 'POST', '/api/v1/webhooks', { url: 'https://example.com/', events: ['nope'] });
    expect(unknown.statusCode).toBe(400);
    expect(unknown.body).toContain('events');

    // A name that resolved to a public address at creation and to loopback at send time is not sent to.
    const hook = await receiver();
    try {
      resolved = ['93.184.216.34'];
      const created = await call(strict, 'POST', '/api/v1/webhooks', {
        url: `http://hooks.example.test:${hook.port}/hook`,
        events: ['version.pushed'],
      });
      expect(created.statusCode, created.body).toBe(201);
      const id = (created.json() as Json)['webhook']['id'] as number;
      resolved = ['127.0.0.1'];
      await push('Hello v5');
      expect(await strict.webhookDispatcher.tick()).toMatchObject({ attempted: 1, delivered: 0 });
      expect(hook.received).toHaveLength(0);
      const [delivery] = (await ok('GET', `/api/v1/webhooks/${id}/deliveries`))['deliveries'] as Json[];
      expect(delivery).toMatchObject({ status: 'pending', responseCode: null });
      expect(delivery!['error']).toMatch(/127\.0\.0\.1/);
      await ok('DELETE', `/api/v1/webhooks/${id}`);
    } finally {
      await hook.close();
    }
  });

  it('refuses to create webhooks without PROMPTOPS_SECRET_KEY', async () => {
    const response = await call(keyless, 'POST', '/api/v1/webhooks', { url: 'https://example.com/', events: ['*'] });
    expect(response.statusCode).toBe(422);
    expect(response.json()).toMatchObject({ error: { code: 'secret_key_missing' } });
    expect(response.body).toContain('PROMPTOPS_SECRET_KEY');
  });

  it('is an admin feature', async () => {
    for (const role of ['viewer', 'editor', 'deployer']) {
      expect((await call(app, 'GET', '/api/v1/webhooks', undefined, role)).statusCode).toBe(403);
      const response = await call(
        app,
        'POST',
        '/api/v1/webhooks',
        { url: 'https://example.com/', events: ['*'] },
        role,
      );
      expect(response.statusCode).toBe(403);
    }
    expect((await call(app, 'GET', '/api/v1/webhooks/999/deliveries')).json()).toMatchObject({
      error: { code: 'webhook_not_found' },
    });
  });
});
