import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PromptopsError } from '@promptops/core';
import { runCli } from '../../cli/src/program.js';
import { DIALECTS } from '../../server/test/support/registry.js';
import { createClient, type ChangeEvent, type PromptopsClient } from '../src/index.js';
import { greeter, versionOf } from './support/fixtures.js';
import { ADMIN_KEY, api, distribution, startTestServer, waitFor, type TestServer } from './support/server.js';

/** Many SDK clients against a real server (real HTTP, real SQLite / PostgreSQL), changes made through the CLI. */

const CLIENTS = 100;
const NAME = 'customer_support_greeter';
const v17 = versionOf(greeter(17), 1);
const v18 = versionOf(greeter(18), 2);

/** The `promptops` CLI in-process, with captured output. */
const cli = async (url: string, argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> => {
  let stdout = '';
  let stderr = '';
  const code = await runCli(argv, {
    stdout: { write: (text: string) => (stdout += text) },
    stderr: { write: (text: string) => (stderr += text) },
    env: { PROMPTOPS_URL: url, PROMPTOPS_API_KEY: ADMIN_KEY },
    cwd: mkdtempSync(join(tmpdir(), 'promptops-sdk-cli-')),
  });
  return { code, stdout, stderr };
};

describe.each(DIALECTS)('SDK clients against a real server on %s', (dialect) => {
  let server: TestServer;
  const clients: PromptopsClient[] = [];
  const errors: PromptopsError[] = [];

  beforeAll(async () => {
    server = await startTestServer(dialect);
    const registry = api(server.url);
    await registry.push(v17.content, null, 'v17: greets by name');
    await registry.push(v18.content, v17.sha, 'v18: a small wording fix');
    await registry.promote(NAME, 'production', 'v1');
    for (let i = 0; i < CLIENTS; i += 1) {
      clients.push(createClient({ url: server.url, apiKey: ADMIN_KEY, onError: (error) => errors.push(error) }));
    }
    await Promise.all(clients.map((client) => client.ready()));
  });

  afterAll(async () => {
    await Promise.all(clients.map((client) => client.close()));
    await server?.close();
  });

  it('loads the snapshot into every client', () => {
    for (const client of clients) {
      expect(client.get(NAME)).toMatchObject({
        name: NAME,
        version: 1,
        sha: v17.sha,
        label: 'production',
        source: 'snapshot',
        releaseSha: null,
      });
      expect(client.get(`${NAME}@latest`).sha).toBe(v18.sha);
    }
    expect(errors).toEqual([]);
  });

  it('a promotion, then a rollback through the CLI, reach all 100 clients', async () => {
    await waitFor(() => clients.every((client) => client.status().connected), 'every stream to connect');
    const registry = api(server.url);

    await registry.promote(NAME, 'production', 'v2', 'wording fix');
    await waitFor(() => clients.every((client) => client.get(NAME).sha === v18.sha), 'all clients on v18', 10_000);

    // Record when each client sees the rollback, from the moment the CLI returns.
    const seenAt = new Map<PromptopsClient, number>();
    const offs = clients.map((client) =>
      client.on('change', (change: ChangeEvent) => {
        if (change.label === 'production' && change.sha === v17.sha && !seenAt.has(client))
          seenAt.set(client, performance.now());
      }),
    );
    const result = await cli(server.url, ['rollback', NAME, '--reason', 'customers complain', '--json']);
    const returned = performance.now();
    expect(result.code, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({
      to: { version: 1, sha: v17.sha },
      from: { version: 2, sha: v18.sha },
    });

    await waitFor(() => clients.every((client) => client.get(NAME).sha === v17.sha), 'all clients back on v17', 10_000);
    offs.forEach((off) => off());
    const latencies = clients.map((client) => Math.max(0, (seenAt.get(client) ?? performance.now()) - returned));
    console.log(`[${dialect}] rollback via CLI -> ${CLIENTS} clients serving v1: ${distribution(latencies)}`);
    for (const client of clients)
      expect(client.get(NAME)).toMatchObject({ version: 1, sha: v17.sha, label: 'production', source: 'snapshot' });
    expect(errors).toEqual([]);
  });

  it('follows with the long-poll transport too', async () => {
    const polling = createClient({
      url: server.url,
      apiKey: ADMIN_KEY,
      transport: 'poll',
      pollWaitSeconds: 5,
      onError: (error) => errors.push(error),
    });
    try {
      await polling.ready();
      expect(polling.get(NAME).sha).toBe(v17.sha);
      await api(server.url).promote(NAME, 'production', 'v2');
      await waitFor(() => polling.get(NAME).sha === v18.sha, 'the poller to see v2');
      await api(server.url).rollback(NAME);
      await waitFor(() => polling.get(NAME).sha === v17.sha, 'the poller to see the rollback');
      await waitFor(() => clients.every((client) => client.get(NAME).sha === v17.sha), 'the streams too');
    } finally {
      await polling.close();
    }
    expect(errors).toEqual([]);
  });

  it('reopens a silent stream (idle watchdog) and resumes without missing a change', async () => {
    const idle: PromptopsError[] = [];
    const watched = createClient({
      url: server.url,
      apiKey: ADMIN_KEY,
      streamIdleTimeoutMs: 200, // shorter than the server's 15 s keepalive: every quiet stream is reopened
      reconnect: { initialDelayMs: 10, maxDelayMs: 50 },
      onError: (error) => idle.push(error),
    });
    try {
      await watched.ready();
      await waitFor(() => idle.some((e) => e.code === 'stream_idle'), 'the watchdog to fire', 5000);
      const target = watched.get(NAME).sha === v17.sha ? 'v2' : 'v1';
      await api(server.url).promote(NAME, 'production', target);
      await waitFor(() => watched.get(NAME).version === Number(target.slice(1)), 'the change after a reopen', 5000);
      await api(server.url).rollback(NAME);
      await waitFor(() => clients.every((c) => c.get(NAME).sha === watched.get(NAME).sha), 'everyone to agree');
    } finally {
      await watched.close();
    }
    expect(idle.every((e) => e.code === 'stream_idle')).toBe(true);
  });

  it('converges through the periodic snapshot check alone when streams are blocked', async () => {
    // A proxy that breaks streaming: the stream request fails, every other request passes to the real server.
    const blocking: typeof fetch = (input, init) =>
      String(input).includes('/api/v1/stream')
        ? Promise.resolve(new Response('stream blocked by a proxy', { status: 502 }))
        : fetch(input, init);
    const blocked = createClient({
      url: server.url,
      apiKey: ADMIN_KEY,
      fetch: blocking,
      snapshotCheckIntervalMs: 200,
      onError: () => undefined,
    });
    try {
      await blocked.ready();
      const before = blocked.get(NAME).sha;
      const target = before === v17.sha ? 'v2' : 'v1';
      await api(server.url).promote(NAME, 'production', target);
      await waitFor(() => blocked.get(NAME).sha !== before, 'the snapshot check to bring the change', 5000);
      expect(blocked.status()).toMatchObject({ connected: false, snapshotFrom: 'server' });
      await api(server.url).rollback(NAME);
      await waitFor(() => clients.every((c) => c.get(NAME).sha === blocked.get(NAME).sha), 'everyone to agree', 5000);
    } finally {
      await blocked.close();
    }
  });

  it('serves a pin the snapshot lacks after prefetch', async () => {
    const registry = api(server.url);
    const v19 = versionOf(greeter(19), 3);
    await registry.push(v19.content, v18.sha, 'v19');
    await registry.push(versionOf(greeter(20), 4).content, v19.sha, 'v20'); // latest moves on: v3 is held by no label
    const client = clients[0]!;
    await waitFor(() => client.get(`${NAME}@latest`).version === 4, 'latest to reach v4');
    expect(() => client.get(`${NAME}@v3`)).toThrow(expect.objectContaining({ code: 'prompt_not_found' }));
    const pinned = await client.prefetch(`${NAME}@v3`);
    expect(pinned).toMatchObject({ version: 3, sha: v19.sha, label: null });
    expect(client.get(`${NAME}@v3`).sha).toBe(v19.sha);
    expect(client.get(NAME, { sha: v19.sha.slice(0, 8) }).version).toBe(3);
    await expect(client.prefetch(`${NAME}@v99`)).rejects.toMatchObject({ code: 'version_not_found' });
  });
});
