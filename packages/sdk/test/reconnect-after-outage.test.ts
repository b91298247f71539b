import type { PromptopsError } from '@promptops/core';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { freshDbUrl } from '../../server/test/support/registry.js';
import { createClient, type ChangeEvent, type PromptopsClient } from '../src/index.js';
import type * as Timers from '../src/timers.js';
import { greeter, versionOf } from './support/fixtures.js';
import { api, freePort, spawnServer, waitFor, type ChildServer } from './support/server.js';

/**
 * After an outage, a client must not wait out its reconnection backoff once it has seen the server
 * answer again: any successful request (a snapshot check, a prefetch, a trace export) reconnects the
 * stream at once. The backoff here is one hour and drawn at its bound (no jitter), so a client that
 * waits it out never reconnects within the test: only the wake-up can pass. Servers run from the build.
 */

const HOUR = 3_600_000;
/** Every backoff the client drew (the sleeps of its follow loop). */
const backoffs: number[] = [];

vi.mock('../src/timers.js', async (importOriginal) => {
  const timers = await importOriginal<typeof Timers>();
  return {
    ...timers,
    backoffDelay: (attempt: number, initialMs: number, maxMs: number): number => {
      const delay = timers.backoffDelay(attempt, initialMs, maxMs, () => 1);
      backoffs.push(delay);
      return delay;
    },
  };
});

const NAME = 'customer_support_greeter';
const v17 = versionOf(greeter(17), 1);
const v18 = versionOf(greeter(18), 2);

describe('reconnecting after an outage', () => {
  let db: { url: string; cleanup(): void };
  let port: number;
  let server: ChildServer | undefined;
  let client: PromptopsClient | undefined;
  const reported: PromptopsError[] = [];
  const changes: ChangeEvent[] = [];

  const makeClient = (options: Partial<Parameters<typeof createClient>[0]>): PromptopsClient => {
    const created = createClient({
      url: `http://127.0.0.1:${port}`,
      apiKey: 'po_sdk_test_admin_key_0123456789abcdef',
      reconnect: { initialDelayMs: HOUR, maxDelayMs: HOUR },
      requestTimeoutMs: 2000,
      onError: (error) => reported.push(error),
      ...options,
    });
    client = created;
    created.on('change', (change) => changes.push(change));
    return created;
  };

  /** A client connected to a server whose production is v18, then the server killed: the client sleeps its backoff. */
  const connectThenKill = async (options: Partial<Parameters<typeof createClient>[0]>): Promise<PromptopsClient> => {
    const created = makeClient(options);
    await created.ready();
    await waitFor(() => created.status().connected, 'the client to connect');
    expect(created.get(NAME).sha).toBe(v18.sha);

    await server!.kill('SIGKILL');
    server = undefined;
    await waitFor(() => backoffs.length > 0, 'the client to start its backoff');
    expect(created.status().connected).toBe(false);
    expect(backoffs).toEqual([HOUR]); // waiting out the maximum
    return created;
  };

  beforeEach(async () => {
    backoffs.length = 0;
    reported.length = 0;
    changes.length = 0;
    db = await freshDbUrl('sqlite');
    port = await freePort();
    server = await spawnServer({ db: db.url, port });
    const registry = api(server.url);
    await registry.push(v17.content, null);
    await registry.push(v18.content, v17.sha);
    await registry.promote(NAME, 'production', 'v1');
    await registry.promote(NAME, 'production', 'v2'); // so a rollback has v1 to go back to
  });

  afterEach(async () => {
    await client?.close();
    client = undefined;
    await server?.kill();
    server = undefined;
    db.cleanup();
  });

  it('reconnects as soon as a snapshot check succeeds, not when the backoff ends', async () => {
    const c = await connectThenKill({ snapshotCheckIntervalMs: 100 });
    // Failed snapshot checks during the outage do not cut the backoff short.
    await waitFor(
      () => reported.some((error) => error.code === 'server_unreachable' && error.message.includes('/snapshot')),
      'a snapshot check to fail',
    );
    expect(backoffs).toEqual([HOUR]);
    expect(c.status().connected).toBe(false);

    server = await spawnServer({ db: db.url, port });
    await api(server.url).rollback(NAME); // right after the server came back
    await waitFor(
      () => c.status().connected && c.get(NAME).sha === v17.sha,
      'the stream to reconnect and the rollback to arrive',
      15_000,
    );
    expect(backoffs).toEqual([HOUR]); // reconnected without another backoff
    // The check moved the cursor past the position the stream asked for: not a server that went back in time.
    expect(reported.map((error) => error.code)).not.toContain('cursor_regressed');
  });

  for (const [what, request] of [
    ['a prefetch', (c: PromptopsClient) => c.prefetch(`${NAME}@v1`).then(() => true)],
    [
      'a trace export',
      (c: PromptopsClient) => {
        c.trace({ prompt: c.get(NAME), output: 'Hello Ada', latencyMs: 12 });
        return c.flush({ timeoutMs: 5000 });
      },
    ],
  ] as const) {
    it(`reconnects as soon as ${what} succeeds, and takes the rollback from the stream`, async () => {
      const c = await connectThenKill({ snapshotCheckIntervalMs: 0 }); // no snapshot check: only the stream
      server = await spawnServer({ db: db.url, port });
      await api(server.url).rollback(NAME);
      expect(c.get(NAME).sha).toBe(v18.sha); // nothing has told the client yet

      expect(await request(c)).toBe(true);
      await waitFor(() => c.get(NAME).sha === v17.sha, 'the rollback to arrive over the stream', 15_000);
      expect(c.status().connected).toBe(true);
      expect(changes.at(-1)).toMatchObject({ label: 'production', sha: v17.sha, kind: 'rollback' });
      expect(backoffs).toEqual([HOUR]);
    });
  }

  it('waits out its backoff when the server itself refuses the stream (429), however many other requests succeed', async () => {
    let streams = 0;
    let snapshots = 0;
    const c = makeClient({
      snapshotCheckIntervalMs: 20,
      fetch: (input, init) => {
        if (input.includes('/api/v1/stream')) {
          streams += 1;
          const error = { code: 'too_many_subscribers', message: 'this API key already holds 1000 subscriptions' };
          return Promise.resolve(
            new Response(JSON.stringify({ error }), { status: 429, headers: { 'content-type': 'application/json' } }),
          );
        }
        if (input.includes('/api/v1/snapshot')) snapshots += 1;
        return fetch(input, init);
      },
    });
    await c.ready();
    await waitFor(() => snapshots >= 6, 'five snapshot checks to succeed');
    expect(reported.map((error) => error.code)).toContain('too_many_subscribers');
    expect([streams, backoffs]).toEqual([1, [HOUR]]);
  });
});
