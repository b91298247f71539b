import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { PromptopsError } from '@promptops/core';
import { describeEachDatabase, testDatabase } from '../../server/test/support/databases.js';
import { createClient, type PromptopsClient } from '../src/index.js';
import { greeter, versionOf } from './support/fixtures.js';
import { api, distribution, freePort, spawnServer, waitFor, type ChildServer } from './support/server.js';

/**
 * The server is SIGKILLed under running clients: they keep serving with no error; changes are made
 * meanwhile through another server process on the same database; the server comes back on the same
 * URL and every client converges. Servers run from the build (`npx tsc -b packages/server`).
 */

const NAME = 'customer_support_greeter';
const v17 = versionOf(greeter(17), 1);
const v18 = versionOf(greeter(18), 2);
const v19 = versionOf(greeter(19), 3);

describeEachDatabase('server killed and restarted (%s)', (dialect) => {
  let db: { url: string };
  let port: number;
  let server: ChildServer | undefined;
  const clients: PromptopsClient[] = [];
  const reported: PromptopsError[] = [];
  const cacheFile = join(mkdtempSync(join(tmpdir(), 'promptops-sdk-resilience-')), 'snapshot.json');

  const client = (options: Partial<Parameters<typeof createClient>[0]> = {}): PromptopsClient => {
    const created = createClient({
      url: `http://127.0.0.1:${port}`,
      apiKey: 'po_sdk_test_admin_key_0123456789abcdef',
      reconnect: { initialDelayMs: 50, maxDelayMs: 1000 },
      requestTimeoutMs: 2000,
      onError: (error) => reported.push(error),
      ...options,
    });
    clients.push(created);
    return created;
  };

  beforeAll(async () => {
    db = { url: await testDatabase(dialect) };
    port = await freePort();
    server = await spawnServer({ db: db.url, port });
    const registry = api(server.url);
    await registry.push(v17.content, null);
    await registry.push(v18.content, v17.sha);
    await registry.promote(NAME, 'production', 'v1');
  });

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await server?.kill();
  });

  it('keeps serving through a SIGKILL, and converges on changes made while it was down', async () => {
    for (let i = 0; i < 20; i += 1) client();
    client({ transport: 'poll', pollWaitSeconds: 2 });
    client({ cacheFile });
    client({ snapshotCheckIntervalMs: 500 });
    await Promise.all(clients.map((c) => c.ready()));
    await waitFor(() => clients.every((c) => c.status().connected), 'every client to connect');
    for (const c of clients) expect(c.get(NAME).sha).toBe(v17.sha);

    await server!.kill('SIGKILL');
    server = undefined;

    // Serve hard with the server gone, at least 200 rounds and until the clients have noticed the
    // outage: no call may fail or change its answer.
    let calls = 0;
    let failures = 0;
    const noticed = (): boolean =>
      clients.some((c) => !c.status().connected) && reported.some((e) => e.code === 'stream_disconnected');
    for (let round = 0; round < 200 || !noticed(); round += 1) {
      for (const c of clients) {
        try {
          if (c.get(NAME).sha !== v17.sha) failures += 1;
          c.get(NAME).render({ user_name: 'Ada', question: 'Where is my order?' });
        } catch {
          failures += 1;
        }
        calls += 1;
      }
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(failures).toBe(0);
    expect(calls).toBeGreaterThanOrEqual(200 * clients.length);
    expect(clients.some((c) => !c.status().connected)).toBe(true);
    expect(reported.map((e) => e.code)).toEqual(expect.arrayContaining(['stream_disconnected']));

    // A restarted app process, server still down: serves the cache file it wrote.
    const restarted = client({ cacheFile });
    await restarted.ready();
    expect(restarted.get(NAME)).toMatchObject({ sha: v17.sha, source: 'snapshot' });
    expect(restarted.status().snapshotFrom).toBe('cache');

    // Meanwhile, someone promotes v2 and pushes v3 through another server process on the same database.
    const other = await spawnServer({ db: db.url });
    try {
      const registry = api(other.url);
      await registry.promote(NAME, 'production', 'v2', 'changed while the main server was down');
      await registry.push(v19.content, v18.sha);
      await registry.promote(NAME, 'staging', 'v3');
    } finally {
      await other.kill();
    }

    // The server comes back on the same URL: every client converges to the changes.
    const downAt = performance.now();
    server = await spawnServer({ db: db.url, port });
    const restartedAt = performance.now();
    await waitFor(
      () =>
        clients.every(
          (c) =>
            c.get(NAME).sha === v18.sha &&
            c.get(`${NAME}@staging`).sha === v19.sha &&
            c.get(`${NAME}@latest`).version === 3,
        ),
      'every client to converge',
      20_000,
    );
    const converged = performance.now();
    console.log(
      `[${dialect}] ${clients.length} clients converged ${Math.round(converged - restartedAt)} ms after the restart (server start took ${Math.round(restartedAt - downAt)} ms)`,
    );
    await waitFor(() => clients.every((c) => c.status().connected), 'every client to reconnect', 20_000);
    for (const c of clients) expect(c.status().snapshotFrom).toBe('server');
  });

  it('takes the next change live again after the restart', async () => {
    const seen: number[] = [];
    const start = performance.now();
    const offs = clients.map((c) =>
      c.on('change', (change) => change.label === 'production' && seen.push(performance.now() - start)),
    );
    await api(server!.url).rollback(NAME);
    await waitFor(() => clients.every((c) => c.get(NAME).sha === v17.sha), 'every client to take the rollback');
    offs.forEach((off) => off());
    console.log(`[${dialect}] rollback after restart -> ${clients.length} clients: ${distribution(seen)}`);
  });
});
