import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PromptopsError } from '@promptops/core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../server/src/app/app.js';
import { DIALECTS, openTestRegistry, type TestRegistry } from '../../server/test/support/registry.js';
import { createClient, type ClientOptions, type PromptopsClient } from '../src/index.js';
import type { FetchLike } from '../src/http.js';
import { greeter, textPrompt, versionOf } from './support/fixtures.js';
import { api, freePort, startTestServer, waitFor, type TestServer } from './support/server.js';

/**
 * Start-up against a real server: the SDK asks for a compressed snapshot, starts from its cache file and
 * revalidates it with the ETag (304: the cached snapshot is current), refuses a tampered cache file, and
 * catches up from the snapshot when its stream comes back far behind.
 */

const NAME = 'customer_support_greeter';
const v17 = versionOf(greeter(17), 1);
const v18 = versionOf(greeter(18), 2);
const others = Array.from({ length: 20 }, (_, i) => textPrompt(`faq/topic-${i}`, `Topic ${i}: answer {{question}}`));

interface Exchange {
  readonly path: string;
  readonly sent: Record<string, string>;
  readonly status: number;
  readonly encoding: string | null;
  readonly etag: string | null;
}

/** The global fetch, recording each snapshot and stream request; `headers` overrides request headers. */
const recorder = (headers: Record<string, string> = {}) => {
  const exchanges: Exchange[] = [];
  let refuseStreams = false;
  const open = new Set<AbortController>();
  const fetch: FetchLike = async (input, init) => {
    const path = new URL(input).pathname + new URL(input).search;
    const stream = path.startsWith('/api/v1/stream');
    if (refuseStreams && stream) throw new TypeError('fetch failed (test: stream blocked)');
    const sent = { ...(init.headers as Record<string, string>), ...headers };
    const cut = new AbortController();
    if (stream) open.add(cut);
    const signal = init.signal ? AbortSignal.any([init.signal, cut.signal]) : cut.signal;
    const response = await globalThis.fetch(input, { ...init, headers: sent, signal });
    if (path.startsWith('/api/v1/snapshot') || path.startsWith('/api/v1/stream')) {
      exchanges.push({
        path,
        sent,
        status: response.status,
        encoding: response.headers.get('content-encoding'),
        etag: response.headers.get('etag'),
      });
    }
    return response;
  };
  return {
    fetch,
    exchanges,
    snapshots: () => exchanges.filter((e) => e.path.startsWith('/api/v1/snapshot')),
    /** Drops the open streams and refuses new ones until called with false. */
    blockStreams: (blocked: boolean) => {
      refuseStreams = blocked;
      if (blocked) for (const cut of open) cut.abort();
      open.clear();
    },
  };
};

const tempCache = (): string => join(mkdtempSync(join(tmpdir(), 'promptops-sdk-revalidate-')), 'snapshot.json');

describe.each(DIALECTS)('snapshot start-up on %s', (dialect) => {
  let server: TestServer;
  const clients: PromptopsClient[] = [];
  const errors: PromptopsError[] = [];
  const client = (options: Partial<ClientOptions> = {}): PromptopsClient => {
    const created = createClient({
      url: server.url,
      apiKey: 'po_sdk_test_admin_key_0123456789abcdef',
      snapshotCheckIntervalMs: 0,
      onError: (error) => errors.push(error),
      ...options,
    });
    clients.push(created);
    return created;
  };

  beforeAll(async () => {
    server = await startTestServer(dialect);
    const registry = api(server.url);
    await registry.push(v17.content, null);
    await registry.push(v18.content, v17.sha);
    await registry.promote(NAME, 'production', 'v1');
    for (const content of others) await registry.push(content, null);
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
    errors.length = 0;
  });
  afterAll(async () => {
    await server.close();
  });

  const everything = (c: PromptopsClient) =>
    [NAME, `${NAME}@latest`, ...others.map((o) => `${o.name}@latest`)].map((ref) => {
      const { sha, version, content } = c.get(ref);
      return { ref, sha, version, content };
    });

  it('asks for brotli or gzip; compressed and plain clients serve the same records', async () => {
    const plain = recorder({ 'accept-encoding': 'identity' });
    const gzip = recorder({ 'accept-encoding': 'gzip' });
    const own = recorder();
    const [a, b, c] = [client({ fetch: plain.fetch }), client({ fetch: gzip.fetch }), client({ fetch: own.fetch })];
    await Promise.all([a.ready(), b.ready(), c.ready()]);
    expect(own.snapshots()[0]).toMatchObject({ status: 200, encoding: 'br' });
    expect(own.snapshots()[0]!.sent['accept-encoding']).toBe('br, gzip');
    expect(gzip.snapshots()[0]).toMatchObject({ status: 200, encoding: 'gzip' });
    expect(plain.snapshots()[0]).toMatchObject({ status: 200, encoding: null });
    expect(everything(b)).toEqual(everything(a));
    expect(everything(c)).toEqual(everything(a));
    expect(a.get(NAME).sha).toBe(v17.sha);
    expect(errors).toEqual([]);
  });

  it('revalidates with If-None-Match: an unchanged project answers 304, a changed one the new snapshot', async () => {
    const seen = recorder();
    const c = client({ fetch: seen.fetch, snapshotCheckIntervalMs: 20, transport: 'poll', pollWaitSeconds: 1 });
    await c.ready();
    const first = seen.snapshots()[0]!;
    expect(first.sent['if-none-match']).toBeUndefined();
    await waitFor(() => seen.snapshots().some((e) => e.status === 304), 'a snapshot check answered 304');
    const revalidated = seen.snapshots().find((e) => e.status === 304)!;
    expect(revalidated.sent['if-none-match']).toBe(first.etag);
    expect(c.get(NAME).sha).toBe(v17.sha);
    expect(errors).toEqual([]);
  });

  it('starts from its cache file and revalidates it: 304, and the cached snapshot is served as current', async () => {
    const cacheFile = tempCache();
    const writer = client({ cacheFile });
    await writer.ready();
    await writer.close();
    const cached = JSON.parse(readFileSync(cacheFile, 'utf8')) as { etag?: string };
    expect(cached.etag).toMatch(/^"\d+-[\w-]+"$/);

    const seen = recorder();
    const restarted = client({ cacheFile, fetch: seen.fetch });
    await restarted.ready();
    expect(seen.snapshots()[0]).toMatchObject({ status: 304 });
    expect(seen.snapshots()[0]!.sent['if-none-match']).toBe(cached.etag);
    expect(restarted.status().snapshotFrom).toBe('server');
    expect(everything(restarted)).toEqual(everything(writer));
    expect(errors).toEqual([]);
  });

  it('a cache file behind the server: the revalidation answers 200 with the new snapshot', async () => {
    const cacheFile = tempCache();
    const writer = client({ cacheFile });
    await writer.ready();
    await writer.close();
    await api(server.url).promote(NAME, 'production', 'v2');
    try {
      const seen = recorder();
      const restarted = client({ cacheFile, fetch: seen.fetch });
      await restarted.ready();
      expect(seen.snapshots()[0]).toMatchObject({ status: 200 });
      expect(seen.snapshots()[0]!.sent['if-none-match']).toBeDefined();
      expect(restarted.get(NAME).sha).toBe(v18.sha);
    } finally {
      await api(server.url).promote(NAME, 'production', 'v1');
    }
  });

  it('scope: a client of a few prompts asks for, holds and follows only those', async () => {
    const seen = recorder();
    const c = client({ fetch: seen.fetch, scope: { prefix: 'faq/topic-1', names: [NAME] } });
    await c.ready();
    await waitFor(() => c.status().connected, 'the stream to connect');
    expect(seen.snapshots()[0]!.path).toBe('/api/v1/snapshot?names=customer_support_greeter&prefix=faq%2Ftopic-1');
    expect(seen.exchanges.find((e) => e.path.startsWith('/api/v1/stream'))!.path).toContain(
      '&names=customer_support_greeter&prefix=faq%2Ftopic-1',
    );
    expect(c.get(NAME).sha).toBe(v17.sha);
    expect(c.get('faq/topic-10@latest').content).toEqual(others[10]);
    expect(() => c.get('faq/topic-2@latest')).toThrow(expect.objectContaining({ code: 'prompt_not_found' }));
    expect(() => createClient({ url: server.url, apiKey: 'k', scope: { prefix: '' } })).toThrow(
      expect.objectContaining({ code: 'invalid_options', message: expect.stringContaining('scope.prefix') }),
    );
  });

  it('refuses a tampered cache file as before: reported, never served, never taken as current', async () => {
    const cacheFile = tempCache();
    const writer = client({ cacheFile });
    await writer.ready();
    await writer.close();
    const text = readFileSync(cacheFile, 'utf8');
    expect(text).toContain('Always greet the user by name.');
    writeFileSync(cacheFile, text.replace('Always greet the user by name.', 'Never greet the user.'));

    const seen = recorder();
    const restarted = client({ cacheFile, fetch: seen.fetch });
    await restarted.ready();
    expect(errors.map((e) => e.code)).toContain('sha_mismatch');
    // The revalidation went out while the file was checked; its 304 is not taken for the refused file.
    const [early, taken] = seen.snapshots();
    expect(early).toMatchObject({ status: 304 });
    expect(taken).toMatchObject({ status: 200 });
    expect(taken!.sent['if-none-match']).toBeUndefined();
    expect(restarted.status().snapshotFrom).toBe('server');
    expect(restarted.get(NAME).content).toEqual(v17.content);

    // With the server gone too, nothing is left to serve: refused whole, as before.
    writeFileSync(cacheFile, text.replace('Always greet the user by name.', 'Never greet the user.'));
    const offline = createClient({
      url: `http://127.0.0.1:${await freePort()}`,
      apiKey: 'po_sdk_test_admin_key_0123456789abcdef',
      cacheFile,
      snapshotCheckIntervalMs: 0,
      onError: () => undefined,
    });
    clients.push(offline);
    await expect(offline.ready()).rejects.toMatchObject({ code: 'nothing_to_serve' });
  });
});

describe('stream catch-up far behind', () => {
  let registry: TestRegistry;
  let app: Awaited<ReturnType<typeof buildApp>>;
  let url: string;
  const clients: PromptopsClient[] = [];

  beforeAll(async () => {
    registry = await openTestRegistry('sqlite');
    app = await buildApp({ storage: registry.storage, changeFeed: { pageSize: 2, pollIntervalMs: 20 } });
    await app.listen({ port: 0, host: '127.0.0.1' });
    url = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
    const registryApi = api(url, registry.keys.admin);
    await registryApi.push(v17.content, null);
    await registryApi.push(v18.content, v17.sha);
    await registryApi.promote(NAME, 'production', 'v1');
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close()));
    app.server.closeAllConnections();
    await app.close();
    await registry.close();
  });

  it('reloads the snapshot (one resync) instead of replaying a long history, then follows live', async () => {
    const seen = recorder();
    const changes: string[] = [];
    const c = createClient({
      url,
      apiKey: registry.keys.viewer,
      fetch: seen.fetch,
      snapshotCheckIntervalMs: 0,
      reconnect: { initialDelayMs: 10, maxDelayMs: 50 },
      onError: () => undefined,
    });
    clients.push(c);
    await c.ready();
    c.on('change', (change) => changes.push(change.kind));
    await waitFor(() => c.status().connected, 'the stream to connect');
    const streams = seen.exchanges.filter((e) => e.path.startsWith('/api/v1/stream'));
    expect(streams[0]!.path).toContain('catchup=snapshot');

    // The stream drops and stays down while more than a page of changes happens.
    seen.blockStreams(true);
    await waitFor(() => !c.status().connected, 'the stream to drop');
    const registryApi = api(url, registry.keys.admin);
    for (const ref of ['v2', 'v1', 'v2', 'v1', 'v2']) await registryApi.promote(NAME, 'production', ref);
    const before = seen.snapshots().length;
    seen.blockStreams(false);

    await waitFor(() => c.get(NAME).sha === v18.sha && c.status().connected, 'the client to catch up');
    expect(seen.snapshots().length).toBe(before + 1);
    expect(changes).toEqual(['snapshot']); // one change, found by the reloaded snapshot, not five replayed moves

    await registryApi.promote(NAME, 'production', 'v1');
    await waitFor(() => c.get(NAME).sha === v17.sha, 'the next move, live');
    expect(changes).toEqual(['snapshot', 'promote']);
  });
});
