import type { FastifyInstance } from 'fastify';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { buildApp } from '../src/app/app.js';
import { call } from './support/http.js';
import { DIALECTS, openTestRegistry, textContent, type TestRegistry } from './support/registry.js';
import { openSse, type SseClient } from './support/sse.js';

/**
 * A stream client that reconnects far behind (more than a page of audit entries) and says it can
 * (`?catchup=snapshot`) gets one `resync` event and the end of the stream instead of the replay; its
 * snapshot request is then served from the snapshot cache. Others keep the replay.
 */
const PAGE = 3;

describe.each(DIALECTS)('change-feed catch-up from the snapshot cache on %s', (dialect) => {
  let registry: TestRegistry;
  let app: FastifyInstance;
  let base: string;
  let start: number;
  const clients: SseClient[] = [];
  const stream = async (query: string): Promise<SseClient> => {
    const client = await openSse(`${base}/api/v1/stream${query}`, { authorization: `Bearer ${registry.keys.viewer}` });
    clients.push(client);
    return client;
  };
  const latest = (): Promise<number> => registry.storage.registry.latestAuditSeq(registry.projectId);

  beforeAll(async () => {
    registry = await openTestRegistry(dialect);
    app = await buildApp({ storage: registry.storage, changeFeed: { pageSize: PAGE, pollIntervalMs: 20 } });
    await app.listen({ port: 0, host: '127.0.0.1' });
    base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
    const pushed = await call<{ sha: string }>(app, 'POST', '/api/v1/prompts/greeter/versions', registry.keys.admin, {
      content: textContent('greeter', 'Hello'),
      parent: null,
    });
    await call(app, 'POST', '/api/v1/prompts/greeter/versions', registry.keys.admin, {
      content: textContent('greeter', 'Hello again'),
      parent: pushed.body.sha,
    });
    start = await latest();
    for (let i = 0; i < PAGE + 2; i += 1) {
      const moved = await call(app, 'PUT', '/api/v1/prompts/greeter/labels/production', registry.keys.admin, {
        ref: i % 2 === 0 ? 'v1' : 'v2',
      });
      expect(moved.status).toBe(200);
    }
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((client) => client.close()));
  });
  afterAll(async () => {
    app.server.closeAllConnections();
    await app.close();
    await registry.close();
  });

  it('far behind with catchup=snapshot: ready, one resync naming the newest seq, end of stream', async () => {
    const reads = vi.spyOn(registry.storage.registry, 'readLabelSnapshot');
    try {
      const answer = await app.inject({
        method: 'GET',
        url: `/api/v1/stream?after=${start}&catchup=snapshot`,
        headers: { authorization: `Bearer ${registry.keys.viewer}` },
      });
      expect(answer.statusCode).toBe(200);
      expect(answer.headers['content-type']).toBe('text/event-stream; charset=utf-8');
      const newest = await latest();
      expect(answer.body).toBe(
        `id: ${start}\nevent: ready\ndata: {"cursor":${start}}\n\n` +
          `event: resync\ndata: ${JSON.stringify({ cursor: newest, fix: 'GET /api/v1/snapshot, then resume after its cursor' })}\n\n`,
      );
      // The stream warmed the cache: the snapshot the client asks for next is read once in all.
      const snapshot = await call<{ cursor: number }>(app, 'GET', '/api/v1/snapshot', registry.keys.viewer);
      expect(snapshot.body.cursor).toBe(newest);
      await call(app, 'GET', '/api/v1/snapshot', registry.keys.viewer);
      expect(reads).toHaveBeenCalledTimes(1);
    } finally {
      reads.mockRestore();
    }
  });

  it('near enough with catchup=snapshot: the replay, then live', async () => {
    const newest = await latest();
    const client = await stream(`?after=${newest - PAGE}&catchup=snapshot`);
    await client.until(() => client.parsed('label').length === PAGE);
    expect(client.messages.map((m) => m.event)).toEqual(['ready', 'label', 'label', 'label']);
  });

  it('far behind without catchup=snapshot: the whole replay, as before', async () => {
    const newest = await latest();
    const client = await stream(`?after=${start}`);
    await client.until(() => client.parsed('label').length === newest - start);
    expect(client.messages.some((m) => m.event === 'resync')).toBe(false);
  });

  it('refuses an unknown catchup mode, naming the field', async () => {
    const bad = await call<{ error: { code: string; message: string } }>(
      app,
      'GET',
      '/api/v1/stream?catchup=everything',
      registry.keys.viewer,
    );
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toContain('catchup');
  });
});
