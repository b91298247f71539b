import type { PromptopsError } from '@promptops/core';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { testDatabase } from '../../server/test/support/databases.js';
import { createClient, type ChangeEvent, type PromptopsClient } from '../src/index.js';
import type * as Timers from '../src/timers.js';
import { greeter, versionOf } from './support/fixtures.js';
import { api, freePort, spawnServer, waitFor, type ChildServer } from './support/server.js';

/**
 * After an outage, a client must not wait out its reconnection backoff once it has seen the server
 * answer again: any successful request (a snapshot check, a prefetch, a trace export) reconnects the
 * stream at once, and a client with nothing but the stream finds out by probing `GET /healthz`. The
 * backoff here is one hour and drawn at its bound (no jitter), so a client that waits it out never
 * reconnects within the test: only the wake-up can pass. Servers run from the build.
 */

const HOUR = 3_600_000;
/** Every backoff the follow loop drew (its bounds are an hour; a trace export's retries have their own). */
const backoffs: number[] = [];
/** Probe loops started, and those not yet finished. */
const probes = { started: 0, running: 0 };

vi.mock('../src/timers.js', async (importOriginal) => {
  const timers = await importOriginal<typeof Timers>();
  return {
    ...timers,
    backoffDelay: (attempt: number, initialMs: number, maxMs: number): number => {
      const delay = timers.backoffDelay(attempt, initialMs, maxMs, () => 1);
      if (initialMs === HOUR) backoffs.push(delay);
      return delay;
    },
    probeUntil: (...args: Parameters<typeof Timers.probeUntil>): Promise<boolean> => {
      probes.started += 1;
      probes.running += 1;
      return timers.probeUntil(...args).finally(() => (probes.running -= 1));
    },
  };
});

const NAME = 'customer_support_greeter';
const v17 = versionOf(greeter(17), 1);
const v18 = versionOf(greeter(18), 2);

describe('reconnecting after an outage', () => {
  let db: { url: string };
  let port: number;
  let server: ChildServer | undefined;
  const clients: PromptopsClient[] = [];
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
    clients.push(created);
    created.on('change', (change) => changes.push(change));
    return created;
  };

  /** No /healthz probing: only the client's other requests can cut its backoff short. */
  const noProbe = { reconnect: { initialDelayMs: HOUR, maxDelayMs: HOUR, probeIntervalMs: 0 } } as const;

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
    probes.started = 0;
    probes.running = 0;
    reported.length = 0;
    changes.length = 0;
    db = { url: await testDatabase('sqlite') };
    port = await freePort();
    server = await spawnServer({ db: db.url, port });
    const registry = api(server.url);
    await registry.push(v17.content, null);
    await registry.push(v18.content, v17.sha);
    await registry.promote(NAME, 'production', 'v1');
    await registry.promote(NAME, 'production', 'v2'); // so a rollback has v1 to go back to
  });

  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
    await server?.kill();
    server = undefined;
  });

  it('reconnects as soon as a snapshot check succeeds, not when the backoff ends', async () => {
    const c = await connectThenKill({ ...noProbe, snapshotCheckIntervalMs: 100 });
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
      const c = await connectThenKill({ ...noProbe, snapshotCheckIntervalMs: 0 }); // no snapshot check, no probe
      server = await spawnServer({ db: db.url, port });
      await api(server.url).rollback(NAME);
      expect(c.get(NAME).sha).toBe(v18.sha); // nothing has told the client yet

      expect(await request(c)).toBe(true);
      await waitFor(() => c.get(NAME).sha === v17.sha, 'the rollback to arrive over the stream', 15_000);
      expect(c.status().connected).toBe(true);
      expect(changes.at(-1)).toMatchObject({ label: 'production', sha: v17.sha, kind: 'rollback' });
      expect(backoffs).toEqual([HOUR]);
      expect(probes.started).toBe(0); // probeIntervalMs: 0 turns probing off
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
    expect(probes.started).toBe(0); // nor does it probe: the server answers, and refused
  });

  /** Options of a client with nothing but the stream: no snapshot check, no traces (and no prefetch). */
  const streamOnly = { snapshotCheckIntervalMs: 0, traces: false } as const;

  it('reconnects a stream-only client as soon as GET /healthz answers, and takes the rollback from the stream', async () => {
    const probeHeaders: Headers[] = [];
    const c = await connectThenKill({
      ...streamOnly,
      fetch: (input, init) => {
        if (input.endsWith('/healthz')) probeHeaders.push(new Headers(init.headers));
        return fetch(input, init);
      },
    });
    server = await spawnServer({ db: db.url, port });
    await api(server.url).rollback(NAME); // right after the server came back

    await waitFor(() => c.get(NAME).sha === v17.sha, 'the rollback to arrive over the stream', 15_000);
    expect(c.status().connected).toBe(true);
    expect(changes.at(-1)).toMatchObject({ label: 'production', sha: v17.sha, kind: 'rollback' });
    expect(backoffs).toEqual([HOUR]); // reconnected without waiting out the backoff
    expect(probes).toEqual({ started: 1, running: 0 }); // one probe loop, over once the stream is back
    expect(probeHeaders.length).toBeGreaterThan(0);
    expect(probeHeaders.every((headers) => !headers.has('authorization'))).toBe(true); // unauthenticated
    // Failed probes during the outage are expected, not news.
    expect(reported.map((error) => error.message).join('\n')).not.toContain('/healthz');
  });

  it('brings every one of 20 stream-only clients back, each seeing the rollback', async () => {
    const fleet = Array.from({ length: 20 }, () => makeClient(streamOnly));
    await Promise.all(fleet.map((c) => c.ready()));
    await waitFor(() => fleet.every((c) => c.status().connected), 'every client to connect');

    await server!.kill('SIGKILL');
    server = undefined;
    await waitFor(() => backoffs.length === fleet.length, 'every client to start its backoff');
    server = await spawnServer({ db: db.url, port });
    await api(server.url).rollback(NAME);

    await waitFor(
      () => fleet.every((c) => c.status().connected && c.get(NAME).sha === v17.sha),
      'every client to reconnect and see the rollback',
      20_000,
    );
    expect(backoffs).toHaveLength(fleet.length); // none drew a second backoff
    expect(probes.started).toBe(fleet.length);
    expect(changes.filter((change) => change.kind === 'rollback')).toHaveLength(fleet.length);
    expect(probes.running).toBe(0);
  });

  it('keeps its backoff while /healthz is refused (429), and reconnects once it answers 2xx', async () => {
    let refuse = true;
    let refused = 0;
    const c = await connectThenKill({
      ...streamOnly,
      fetch: (input, init) => {
        if (!input.endsWith('/healthz') || !refuse) return fetch(input, init);
        refused += 1;
        const error = { code: 'rate_limited', message: 'too many requests' };
        return Promise.resolve(
          new Response(JSON.stringify({ error }), { status: 429, headers: { 'content-type': 'application/json' } }),
        );
      },
    });
    server = await spawnServer({ db: db.url, port });
    await api(server.url).rollback(NAME);
    const before = refused;
    await waitFor(() => refused >= before + 3, 'three probes refused with the server up', 15_000);
    expect(c.status().connected).toBe(false);
    expect(c.get(NAME).sha).toBe(v18.sha);
    expect(backoffs).toEqual([HOUR]);

    refuse = false;
    await waitFor(() => c.get(NAME).sha === v17.sha, 'the rollback once a probe gets a 2xx', 15_000);
    expect(backoffs).toEqual([HOUR]);
  });

  for (const [what, status, body, probed] of [
    [
      'its own 500 (it answers: probing would only shorten the backoff)',
      500,
      { error: { code: 'internal', message: 'database unavailable' } },
      false,
    ],
    ['a gateway 502 without a promptops error (the server behind may be away)', 502, 'Bad Gateway', true],
  ] as const) {
    it(`${probed ? 'probes' : 'does not probe'} when the stream gets ${what}`, async () => {
      const c = makeClient({
        ...streamOnly,
        fetch: (input, init) =>
          input.includes('/api/v1/stream')
            ? Promise.resolve(new Response(typeof body === 'string' ? body : JSON.stringify(body), { status }))
            : fetch(input, init),
      });
      await c.ready();
      await waitFor(() => backoffs.length > 0, 'the client to start its backoff');
      // The probe loop starts with the backoff, in the same turn.
      expect(probes.started).toBe(probed ? 1 : 0);
    });
  }

  it('stops probing on close(): no probe loop and no probe request left', async () => {
    let probed = 0;
    let inFlight = 0;
    const c = await connectThenKill({
      ...streamOnly,
      fetch: async (input, init) => {
        if (!input.endsWith('/healthz')) return fetch(input, init);
        probed += 1;
        inFlight += 1;
        try {
          return await fetch(input, init);
        } finally {
          inFlight -= 1;
        }
      },
    });
    await waitFor(() => probed >= 2, 'two probes of the stopped server', 15_000);
    await c.close();
    expect(probes).toEqual({ started: 1, running: 0 });
    expect(inFlight).toBe(0);
  });
});

describe('probeUntil', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  for (const random of [0.25, 0.75]) {
    it(`probes first at a random phase of the interval (${random}), then once per interval, until one succeeds`, async () => {
      vi.useFakeTimers();
      const { probeUntil } = await vi.importActual<typeof Timers>('../src/timers.js');
      const start = Date.now();
      const at: number[] = [];
      const answers = [false, false, true];
      const done = probeUntil(
        () => {
          at.push(Date.now() - start);
          return Promise.resolve(answers.shift()!);
        },
        1000,
        new AbortController().signal,
        () => random,
      );
      await vi.advanceTimersByTimeAsync(10_000);
      expect(await done).toBe(true);
      expect(at).toEqual([1000 * random, 1000 * random + 1000, 1000 * random + 2000]);
      expect(vi.getTimerCount()).toBe(0);
    });
  }

  it('counts a probe that throws as a failure, and stops when aborted, leaving no timer', async () => {
    vi.useFakeTimers();
    const { probeUntil } = await vi.importActual<typeof Timers>('../src/timers.js');
    const stop = new AbortController();
    let calls = 0;
    const done = probeUntil(
      () => {
        calls += 1;
        return Promise.reject(new Error('ECONNREFUSED'));
      },
      1000,
      stop.signal,
      () => 0,
    );
    await vi.advanceTimersByTimeAsync(2500);
    expect(calls).toBe(3);
    stop.abort();
    expect(await done).toBe(false);
    expect(vi.getTimerCount()).toBe(0);
  });
});
