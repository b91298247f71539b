import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveFromSnapshot, type Snapshot } from '@promptops/core';
import type { FastifyInstance } from 'fastify';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { ChangeEvent } from '../src/changes/events.js';
import { buildApp } from '../src/app/app.js';
import { ADMIN_KEY, addKey, openTestRegistry, textContent, type TestRegistry } from './support/registry.js';
import { describeEachDatabase, testDatabase } from './support/databases.js';
import { spawnServer, type SpawnedServer } from './support/spawn-server.js';
import { openSse, type SseClient } from './support/sse.js';
import { waitFor } from './support/wait.js';

/**
 * The change feed: a snapshot with its cursor, then every label move after it, over SSE or long-poll,
 * from the audit log, so that a reconnect (or another replica) sees exactly the moves it missed.
 */

const auth = (key: string): Record<string, string> => ({ authorization: `Bearer ${key}` });
/** The pause between moves in the two-replica test: random points of B's poll interval, on purpose. */
const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

interface Api {
  readonly base: string;
  request<T = Record<string, unknown>>(
    method: string,
    path: string,
    body?: unknown,
    key?: string,
  ): Promise<{ status: number; body: T; headers: Headers }>;
  push(name: string, template: string, key?: string): Promise<{ version: number; sha: string }>;
  promote(name: string, label: string, ref: string, key?: string): Promise<void>;
  rollback(name: string, label: string, key?: string): Promise<void>;
  stream(query?: string, headers?: Record<string, string>, key?: string): Promise<SseClient>;
}

const apiOf = (base: string, defaultKey: string): Api => {
  const request: Api['request'] = async (method, path, body, key = defaultKey) => {
    const response = await fetch(`${base}${path}`, {
      method,
      headers: { ...auth(key), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: response.status, body: (await response.json()) as never, headers: response.headers };
  };
  const expectOk = async (result: Promise<{ status: number; body: unknown }>): Promise<Record<string, unknown>> => {
    const { status, body } = await result;
    if (status >= 300) throw new Error(`${status}: ${JSON.stringify(body)}`);
    return body as Record<string, unknown>;
  };
  return {
    base,
    request,
    push: async (name, template, key) => {
      const path = `/api/v1/prompts/${encodeURIComponent(name)}`;
      const head = await request<{ sha?: string }>('GET', path, undefined, key);
      const parent = head.status === 200 ? (head.body.sha ?? null) : null;
      const body = await expectOk(
        request('POST', `${path}/versions`, { content: textContent(name, template), parent, message: template }, key),
      );
      return { version: body['version'] as number, sha: body['sha'] as string };
    },
    promote: async (name, label, ref, key) => {
      await expectOk(
        request('PUT', `/api/v1/prompts/${encodeURIComponent(name)}/labels/${label}`, { ref, reason: 'test' }, key),
      );
    },
    rollback: async (name, label, key) => {
      await expectOk(
        request(
          'POST',
          `/api/v1/prompts/${encodeURIComponent(name)}/labels/${label}/rollback`,
          { reason: 'test' },
          key,
        ),
      );
    },
    stream: (query = '', headers = {}, key = defaultKey) =>
      openSse(`${base}/api/v1/stream${query}`, { ...auth(key), ...headers }),
  };
};

const listen = async (app: FastifyInstance): Promise<string> => {
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  if (typeof address !== 'object' || address === null) throw new Error('no address');
  return `http://127.0.0.1:${address.port}`;
};

/**
 * Closes an in-process app once its test's clients are done. After fetch aborts a streaming response,
 * Node's fetch (undici) opens a spare connection that never sends a request, and http.Server.close()
 * waits for such connections until its header timeout: drop them first.
 */
const closeApp = async (app: FastifyInstance): Promise<void> => {
  app.server.closeAllConnections();
  await app.close();
};

const labelEvents = (client: SseClient): ChangeEvent[] => client.parsed<ChangeEvent>('label');

describeEachDatabase('change feed on %s', (dialect) => {
  let registry: TestRegistry;
  let api: Api;
  const clients: SseClient[] = [];
  const open = async (...args: Parameters<Api['stream']>): Promise<SseClient> => {
    const client = await api.stream(...args);
    clients.push(client);
    return client;
  };

  beforeAll(async () => {
    registry = await openTestRegistry(dialect);
    api = apiOf(await listen(registry.app), registry.keys.admin);
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((client) => client.close()));
  });
  afterAll(async () => {
    await closeApp(registry.app);
    await registry.close();
  });

  const latestSeq = async (): Promise<number> => registry.storage.registry.latestAuditSeq(registry.projectId);

  it('snapshot: every label of every prompt, the content each points at, and the cursor they include', async () => {
    const v1 = await api.push('greeter', 'Hello, always greet the user by name.');
    const v2 = await api.push('greeter', 'Hello.');
    await api.promote('greeter', 'production', 'v1');
    await api.promote('greeter', 'staging', 'v2');
    const faq = await api.push('support/faq', 'Answer from the FAQ.');

    const { status, body } = await api.request<Snapshot>('GET', '/api/v1/snapshot');
    expect(status).toBe(200);
    const version = (v: { version: number; sha: string }, name: string, template: string) => ({
      version: v.version,
      sha: v.sha,
      content: textContent(name, template),
    });
    expect(body).toEqual({
      project: 'default',
      cursor: await latestSeq(),
      prompts: {
        greeter: {
          labels: { latest: v2.sha, production: v1.sha, staging: v2.sha },
          versions: {
            [v1.sha]: version(v1, 'greeter', 'Hello, always greet the user by name.'),
            [v2.sha]: version(v2, 'greeter', 'Hello.'),
          },
        },
        'support/faq': {
          labels: { latest: faq.sha },
          versions: { [faq.sha]: version(faq, 'support/faq', 'Answer from the FAQ.') },
        },
      },
    });
    // It is core's Snapshot: the SDK resolves against it with core's one resolution.
    expect(resolveFromSnapshot(body, 'greeter')).toMatchObject({ version: 1, sha: v1.sha, label: 'production' });
    expect(resolveFromSnapshot(body, 'greeter@staging')).toMatchObject({ version: 2 });

    const only = await api.request<Snapshot>('GET', '/api/v1/snapshot?names=support/faq,nope');
    expect(Object.keys(only.body.prompts)).toEqual(['support/faq']);
    expect(only.body.cursor).toBe(body.cursor);
    const bad = await api.request<{ error: { code: string } }>('GET', '/api/v1/snapshot?names=Bad%20Name');
    expect([bad.status, bad.body.error.code]).toEqual([400, 'invalid_request']);
  });

  it('streams label moves in order, ids = audit seqs, each with its target content', async () => {
    const snapshot = (await api.request<Snapshot>('GET', '/api/v1/snapshot')).body;
    const client = await open(`?after=${snapshot.cursor}`);
    expect(client.status).toBe(200);
    expect(client.headers.get('content-type')).toMatch(/^text\/event-stream/);
    expect(client.headers.get('cache-control')).toBe('no-cache');
    expect(client.headers.get('x-accel-buffering')).toBe('no');
    await client.until(() => client.messages.length >= 1);
    expect(client.messages[0]).toMatchObject({
      event: 'ready',
      id: String(snapshot.cursor),
      data: JSON.stringify({ cursor: snapshot.cursor }),
    });

    await api.promote('greeter', 'production', 'v2');
    await api.rollback('greeter', 'production');
    const v3 = await api.push('greeter', 'Hello there!');
    await client.until(() => labelEvents(client).length >= 3);

    const audit = await registry.storage.registry.listAudit(registry.projectId, {
      afterSeq: snapshot.cursor,
      limit: 10,
    });
    expect(audit.map((row) => row.action)).toEqual(['label.moved', 'label.rolled_back', 'version.created']);
    const events = labelEvents(client);
    const v1 = snapshot.prompts['greeter']!.labels['production']!;
    const v2 = snapshot.prompts['greeter']!.labels['staging']!;
    expect(events).toEqual([
      {
        type: 'label',
        seq: audit[0]!.seq,
        name: 'greeter',
        label: 'production',
        sha: v2,
        version: 2,
        kind: 'promote',
        content: textContent('greeter', 'Hello.'),
      },
      {
        type: 'label',
        seq: audit[1]!.seq,
        name: 'greeter',
        label: 'production',
        sha: v1,
        version: 1,
        kind: 'rollback',
        content: textContent('greeter', 'Hello, always greet the user by name.'),
      },
      {
        type: 'label',
        seq: audit[2]!.seq,
        name: 'greeter',
        label: 'latest',
        sha: v3.sha,
        version: 3,
        kind: 'push',
        content: textContent('greeter', 'Hello there!'),
      },
    ]);
    expect(client.messages.filter((m) => m.event === 'label').map((m) => m.id)).toEqual(
      audit.map((row) => String(row.seq)),
    );
  });

  it('resumes with Last-Event-ID: exactly the missed moves, in order, then live ones', async () => {
    const first = await open();
    await first.until(() => first.messages.length >= 1);
    await api.promote('greeter', 'staging', 'v3');
    await first.until(() => labelEvents(first).length >= 1);
    const lastId = first.messages.at(-1)!.id!;
    await first.close();

    // Missed while disconnected: moves, a push, and an audit entry that moves no label.
    await api.promote('greeter', 'production', 'v3');
    await registry.storage.transaction((tx) =>
      tx.registry.appendAudit({
        projectId: registry.projectId,
        at: new Date().toISOString(),
        actor: 'test',
        action: 'key.created',
        target: 'k',
        data: {},
      }),
    );
    await api.push('support/faq', 'Answer from the FAQ, briefly.');
    await api.rollback('greeter', 'production');
    const missed = (
      await registry.storage.registry.listAudit(registry.projectId, { afterSeq: Number(lastId), limit: 10 })
    ).filter((row) => row.action !== 'key.created');
    expect(missed).toHaveLength(3);

    // The header wins over ?after (EventSource keeps the first URL when it reconnects).
    const second = await open('?after=0', { 'last-event-id': lastId });
    await second.until(() => labelEvents(second).length >= 3);
    expect(second.messages[0]).toMatchObject({ event: 'ready', id: lastId });

    // A new move is the sentinel: anything else the feed would send (a duplicate, a stray) comes before it.
    await api.promote('greeter', 'canary', 'v1');
    await second.until(() => labelEvents(second).some((e) => e.label === 'canary'));
    expect(labelEvents(second).map((e) => [e.seq, e.name, e.label, e.kind])).toEqual([
      [missed[0]!.seq, 'greeter', 'production', 'promote'],
      [missed[1]!.seq, 'support/faq', 'latest', 'push'],
      [missed[2]!.seq, 'greeter', 'production', 'rollback'],
      [missed[2]!.seq + 1, 'greeter', 'canary', 'promote'],
    ]);
    const ids = labelEvents(second).map((e) => e.seq);
    expect(ids).toEqual([...new Set(ids)].sort((a, b) => a - b)); // no duplicates, in order
    expect(labelEvents(second).at(-1)).toMatchObject({ label: 'canary', version: 1, seq: await latestSeq() });
  });

  it('filters the stream by ?names', async () => {
    const client = await open('', {});
    const faqOnly = await open('?names=support/faq');
    await Promise.all([
      client.until(() => client.messages.length >= 1),
      faqOnly.until(() => faqOnly.messages.length >= 1),
    ]);
    await api.promote('greeter', 'canary', 'v2');
    await api.promote('support/faq', 'production', 'v1');
    await client.until(() => labelEvents(client).length >= 2);
    // In order: had the greeter move (made first) passed the filter, it would have come before this one.
    await faqOnly.until(() => labelEvents(faqOnly).length >= 1);
    expect(labelEvents(faqOnly).map((e) => e.name)).toEqual(['support/faq']);
  });

  it(
    'long-poll: returns pending events at once; otherwise waits, then returns none with the same cursor',
    { timeout: 25_000 },
    async () => {
      const start = await latestSeq();
      await api.promote('greeter', 'canary', 'v3');
      await api.promote('greeter', 'canary', 'v1');
      const pending = await api.request<{ events: ChangeEvent[]; cursor: number }>(
        'GET',
        `/api/v1/changes?after=${start}&wait=10`,
      );
      expect(pending.status).toBe(200);
      expect(pending.body.events.map((e) => [e.label, e.version])).toEqual([
        ['canary', 3],
        ['canary', 1],
      ]);
      expect(pending.body.cursor).toBe(start + 2);
      expect(pending.body.events[1]).toMatchObject({
        type: 'label',
        seq: start + 2,
        name: 'greeter',
        kind: 'promote',
        content: { name: 'greeter' },
      });

      const cursor = pending.body.cursor;
      const subscribed = (): Promise<void> =>
        waitFor(() => registry.app.changeFeed.stats().subscribers >= 1, 'the long-poll to wait as a subscriber');
      const waiting = api.request<{ events: ChangeEvent[]; cursor: number }>(
        'GET',
        `/api/v1/changes?after=${cursor}&wait=1`,
      );
      await subscribed(); // it waits rather than answering at once…
      expect((await waiting).body).toEqual({ events: [], cursor }); // …then answers with nothing

      // A move during the wait answers it: the wait (30 s, the most) outlasts this test's timeout.
      const answer = api.request<{ events: ChangeEvent[]; cursor: number }>(
        'GET',
        `/api/v1/changes?after=${cursor}&wait=30`,
      );
      await subscribed();
      await api.promote('greeter', 'canary', 'v2');
      const answered = await answer;
      expect(answered.body.events.map((e) => [e.seq, e.label, e.version])).toEqual([[cursor + 1, 'canary', 2]]);
      expect(answered.body.cursor).toBe(cursor + 1);

      // No ?after: where the feed is now; no ?wait: no waiting.
      expect((await api.request('GET', '/api/v1/changes')).body).toEqual({ events: [], cursor: cursor + 1 });
    },
  );

  it('refuses a cursor past the log (409 cursor_ahead) and a malformed Last-Event-ID (400)', async () => {
    const ahead = (await latestSeq()) + 5;
    const polled = await api.request<{ error: { code: string; details: unknown } }>(
      'GET',
      `/api/v1/changes?after=${ahead}`,
    );
    expect([polled.status, polled.body.error.code]).toEqual([409, 'cursor_ahead']);
    const streamed = await fetch(`${api.base}/api/v1/stream`, {
      headers: { ...auth(registry.keys.viewer), 'last-event-id': String(ahead) },
    });
    expect([streamed.status, ((await streamed.json()) as { error: { code: string } }).error.code]).toEqual([
      409,
      'cursor_ahead',
    ]);
    const malformed = await fetch(`${api.base}/api/v1/stream`, {
      headers: { ...auth(registry.keys.viewer), 'last-event-id': 'abc' },
    });
    expect(malformed.status).toBe(400);
    await malformed.body?.cancel();
  });

  it('needs a key on all three routes (401)', async () => {
    for (const path of ['/api/v1/snapshot', '/api/v1/stream', '/api/v1/changes?wait=1']) {
      const response = await fetch(`${api.base}${path}`);
      expect(response.status, path).toBe(401);
      expect(((await response.json()) as { error: { code: string } }).error.code).toBe('unauthorized');
      const wrong = await fetch(`${api.base}${path}`, { headers: auth('po_not_a_key_000000000000000000') });
      expect(wrong.status, path).toBe(401);
      await wrong.body?.cancel();
    }
  });

  it('isolates projects: a subscriber of B never sees A, and B’s snapshot never holds A’s prompts', async () => {
    const other = await registry.storage.transaction((tx) =>
      tx.registry.createProject(`other-${dialect}`, new Date().toISOString()),
    );
    const keyB = await addKey(registry.storage, other.id, 'admin', `po_test_other_${dialect}_key_0000000000`, 'bea');
    const clientB = await open('', {}, keyB);
    await clientB.until(() => clientB.messages.length >= 1);
    // B's log numbers its own entries: so far only its key's creation, none of A's many.
    expect(clientB.messages[0]).toMatchObject({ event: 'ready', id: '1' });

    await api.promote('greeter', 'production', 'v2'); // project A
    await api.push('greeter', 'Project A only.');
    const ownB = await api.push('b-prompt', 'Project B only.', keyB);
    // A's moves were made first: had they leaked to B, they would have come before B's own.
    await clientB.until(() => labelEvents(clientB).length >= 1);
    expect(labelEvents(clientB)).toEqual([
      {
        type: 'label',
        seq: 2,
        name: 'b-prompt',
        label: 'latest',
        sha: ownB.sha,
        version: 1,
        kind: 'push',
        content: textContent('b-prompt', 'Project B only.'),
      },
    ]);

    const snapshotB = await api.request<Snapshot>('GET', '/api/v1/snapshot', undefined, keyB);
    expect(snapshotB.body).toMatchObject({ project: `other-${dialect}`, cursor: 2 });
    expect(Object.keys(snapshotB.body.prompts)).toEqual(['b-prompt']);
    expect(
      Object.keys((await api.request<Snapshot>('GET', '/api/v1/snapshot?names=greeter', undefined, keyB)).body.prompts),
    ).toEqual([]);
    const polledB = await api.request<{ events: ChangeEvent[] }>('GET', '/api/v1/changes?after=0', undefined, keyB);
    expect(polledB.body.events.map((e) => e.name)).toEqual(['b-prompt']);
  });

  it('cleans up on disconnect: no subscriber, no poller, no keepalive timer left; the log is no longer read', async () => {
    await vi.waitFor(() => expect(registry.app.changeFeed.stats()).toEqual({ pollers: 0, subscribers: 0, streams: 0 }));
    // A separate app whose keepalive interval is recognisable among the process's timers.
    const keepaliveMs = 4321;
    const app = await buildApp({ storage: registry.storage, changeFeed: { keepaliveMs, pollIntervalMs: 20 } });
    const base = await listen(app);
    const setIntervalSpy = vi.spyOn(globalThis, 'setInterval');
    const clearIntervalSpy = vi.spyOn(globalThis, 'clearInterval');
    const listAudit = vi.spyOn(registry.storage.registry, 'listAudit');
    const readsOf = (projectId: number): number => listAudit.mock.calls.filter(([id]) => id === projectId).length;
    try {
      const local = apiOf(base, registry.keys.admin);
      const streams = await Promise.all([local.stream(), local.stream(), local.stream('?names=greeter')]);
      await Promise.all(streams.map((s) => s.until(() => s.messages.length >= 1)));
      const waiting = local.request('GET', '/api/v1/changes?wait=20');
      await vi.waitFor(() => expect(app.changeFeed.stats()).toEqual({ pollers: 1, subscribers: 4, streams: 3 }));
      await waitFor(() => readsOf(registry.projectId) > 1, 'the poller to read the log'); // one poller, not one per subscriber

      const keepalives = setIntervalSpy.mock.results
        .filter((_, i) => setIntervalSpy.mock.calls[i]![1] === keepaliveMs)
        .map((r) => r.value as unknown);
      expect(keepalives).toHaveLength(3);
      await Promise.all(streams.map((s) => s.close()));
      await local.promote('greeter', 'canary', 'v3'); // answers the long-poll
      await waiting;

      await vi.waitFor(() => expect(app.changeFeed.stats()).toEqual({ pollers: 0, subscribers: 0, streams: 0 }));
      const cleared = clearIntervalSpy.mock.calls.map((call) => call[0] as unknown);
      for (const timer of keepalives) expect(cleared).toContain(timer);
      // Ten poll intervals, counted by another project's poller on the same app: none reads this log.
      const reads = readsOf(registry.projectId);
      const clock = await registry.storage.transaction((tx) =>
        tx.registry.createProject(`clock-${dialect}`, new Date().toISOString()),
      );
      const clockKey = await addKey(registry.storage, clock.id, 'viewer', `po_test_clock_${dialect}_key_0000000000`);
      const ticking = await local.stream('', {}, clockKey);
      const ticks = readsOf(clock.id);
      await waitFor(() => readsOf(clock.id) >= ticks + 10, 'ten polls of the other project');
      await ticking.close();
      expect(readsOf(registry.projectId)).toBe(reads);
    } finally {
      setIntervalSpy.mockRestore();
      clearIntervalSpy.mockRestore();
      listAudit.mockRestore();
      await closeApp(app);
    }
  });

  it('sends keepalive comments, answers 503 with Retry-After over the subscriber limit, and ends streams on close', async () => {
    const app = await buildApp({
      storage: registry.storage,
      changeFeed: { keepaliveMs: 50, maxSubscribers: 2, reservedPerProject: 0, retryAfterSeconds: 7 },
    });
    const local = apiOf(await listen(app), registry.keys.viewer);
    const [one, two] = [await local.stream(), await local.stream()];
    await one.until(() => one.comments.includes('keepalive'));

    const refused = await fetch(`${local.base}/api/v1/stream`, { headers: auth(registry.keys.viewer) });
    expect([refused.status, refused.headers.get('retry-after')]).toEqual([503, '7']);
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('too_many_subscribers');
    const refusedPoll = await local.request<{ error: { code: string } }>('GET', '/api/v1/changes?wait=5');
    expect([refusedPoll.status, refusedPoll.body.error.code]).toEqual([503, 'too_many_subscribers']);

    // Closing the app ends the open streams instead of waiting for the clients forever (this test's timeout).
    await app.close();
    expect(app.changeFeed.stats()).toEqual({ pollers: 0, subscribers: 0, streams: 0 });
    await Promise.all([one.close(), two.close()]);
  });
});

describe('change feed across two server processes on one PostgreSQL', () => {
  const servers: SpawnedServer[] = [];
  const clients: SseClient[] = [];
  afterAll(async () => {
    await Promise.all(clients.map((client) => client.close()));
    await Promise.all(servers.map((server) => server.stop()));
  });

  it('a move made through replica A reaches a subscriber of replica B, in order', async () => {
    const env = {
      PROMPTOPS_DB: await testDatabase('postgres'),
      PROMPTOPS_INIT_ADMIN_KEY: ADMIN_KEY,
      PROMPTOPS_DATA_DIR: mkdtempSync(join(tmpdir(), 'promptops-data-')),
    };
    servers.push(await spawnServer(env));
    servers.push(await spawnServer(env));
    const [a, b] = servers.map((server) => apiOf(server.url, ADMIN_KEY)) as [Api, Api];

    await a.push('greeter', 'Hello, always greet the user by name.');
    await a.push('greeter', 'Hello.');
    await a.promote('greeter', 'production', 'v1');
    const snapshot = (await b.request<Snapshot>('GET', '/api/v1/snapshot')).body;
    expect(snapshot.prompts['greeter']?.labels['production']).toBeDefined();

    const onB = await b.stream(`?after=${snapshot.cursor}`);
    const onA = await a.stream(`?after=${snapshot.cursor}`);
    clients.push(onB, onA);
    await Promise.all([onB.until(() => onB.messages.length >= 1), onA.until(() => onA.messages.length >= 1)]);

    const moves = 20;
    for (let i = 0; i < moves; i++) {
      await pause(Math.random() * 100); // moves land at random points of B's poll interval
      await a.promote('greeter', 'production', i % 2 === 0 ? 'v2' : 'v1');
      await Promise.all([onB.until(() => labelEvents(onB).length > i), onA.until(() => labelEvents(onA).length > i)]);
    }
    const eventsB = labelEvents(onB);
    expect(eventsB.map((e) => e.version)).toEqual(Array.from({ length: moves }, (_, i) => (i % 2 === 0 ? 2 : 1)));
    expect(eventsB.map((e) => e.seq)).toEqual(Array.from({ length: moves }, (_, i) => snapshot.cursor + i + 1));
    expect(eventsB[0]?.content).toEqual(textContent('greeter', 'Hello.'));
    expect(labelEvents(onA)).toEqual(eventsB);
  }, 60_000);
});
