import { connect } from 'node:net';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { PromptopsError } from '@promptops/core';
import { buildApp } from '../../server/src/app/app.js';
import { openTestRegistry, type TestRegistry } from '../../server/test/support/registry.js';
import { createClient, type ClientOptions, type PromptopsClient, type TraceOptions } from '../src/index.js';
import { waitFor } from './support/server.js';
import { listTraces, recordingFetch, startFaultProxy, traceDetail } from './support/traces.js';

/**
 * The trace exporter against real servers: batching by count, bytes and time; the bounded queue;
 * 429 + Retry-After from the server's real overload gate; 5xx retried (faults injected by a proxy in
 * front of the real server); other 4xx and per-item rejections counted, never retried; scores.
 */

const SHA = 'c'.repeat(64);
const event = (i: number, extra: Record<string, unknown> = {}) => ({
  prompt: { name: 'exporter_test', sha: SHA, version: 1 },
  variables: { i },
  output: `answer ${i}`,
  model: 'gpt-4o-mini',
  latencyMs: 12,
  usage: { inputTokens: 10, outputTokens: 3 },
  ...extra,
});

/** A deadline for conditions only (a busy machine is slow, not wrong); the test timeout is 30 s. */
const WAIT_MS = 25_000;

/** Runs the event loop (setImmediate is never faked here) until `check` holds. */
const settled = async (check: () => boolean): Promise<void> => {
  while (!check()) await new Promise((resolve) => setImmediate(resolve));
};

const listen = async (app: FastifyInstance): Promise<string> => {
  await app.listen({ port: 0, host: '127.0.0.1' });
  return `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
};

describe('the trace exporter', () => {
  let registry: TestRegistry;
  let app: FastifyInstance;
  let url: string;
  const clients: PromptopsClient[] = [];

  const client = (traces: TraceOptions, extra: Partial<ClientOptions> = {}) => {
    const created = createClient({ url, apiKey: registry.keys.editor, traces, ...extra });
    clients.push(created);
    return created;
  };
  const stored = async (tag: string) =>
    (await listTraces(url, { prompt: 'exporter_test' }, registry.keys.admin)).filter((t) => t.tenant === tag);

  beforeAll(async () => {
    registry = await openTestRegistry('sqlite');
    app = await buildApp({ storage: registry.storage, traces: { retention: false } });
    url = await listen(app);
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await app?.close();
    await registry?.close();
  });

  it('batches by count at once and sends the rest when the interval passes', async () => {
    // Fake timers and a fetch that answers at once: the schedule is checked to the millisecond on any machine.
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    try {
      const started = Date.now();
      const posts: { at: number; events: number }[] = [];
      const fetch = async (_input: string, init: RequestInit): Promise<Response> => {
        const events = (JSON.parse(String(init.body)) as { events: { id: string }[] }).events;
        posts.push({ at: Date.now() - started, events: events.length });
        return Response.json({ accepted: events.map((e) => e.id), duplicates: [], rejected: [] });
      };
      const c = client({ batchSize: 5, flushIntervalMs: 300 }, { fetch });
      for (let i = 0; i < 12; i += 1) c.trace(event(i));
      await settled(() => c.traceStats().sent === 10);
      expect(posts).toEqual([
        { at: 0, events: 5 },
        { at: 0, events: 5 },
      ]); // full batches do not wait for the timer
      await vi.advanceTimersByTimeAsync(299);
      expect(c.traceStats()).toMatchObject({ queued: 2, sent: 10 });
      await vi.advanceTimersByTimeAsync(1);
      await settled(() => c.traceStats().sent === 12);
      expect(posts.map((post) => [post.at, post.events])).toEqual([
        [0, 5],
        [0, 5],
        [300, 2],
      ]);
      await c.close();
    } finally {
      vi.useRealTimers();
    }
  });

  it('delivers the full batches and the rest to the server', async () => {
    const recorder = recordingFetch();
    const c = client({ batchSize: 5, flushIntervalMs: 300 }, { fetch: recorder.fetch });
    const ids = Array.from({ length: 12 }, (_, i) => c.trace(event(i, { tenant: 'count' })));
    expect(new Set(ids).size).toBe(12);
    await waitFor(() => c.traceStats().sent === 12, 'all 12 sent', WAIT_MS);
    // However slow the server, the timer only ever sends what is left after the full batches.
    expect(recorder.posts('/api/v1/ingest').map((post) => post.events)).toEqual([5, 5, 2]);
    expect((await stored('count')).map((t) => t.id).sort()).toEqual([...ids].sort());
  });

  it('caps a batch in bytes', async () => {
    const recorder = recordingFetch();
    const c = client({ batchSize: 1000, maxBatchBytes: 4096, flushIntervalMs: 20 }, { fetch: recorder.fetch });
    for (let i = 0; i < 20; i += 1) c.trace(event(i, { tenant: 'bytes', output: 'é'.repeat(400) }));
    expect(await c.flush()).toBe(true);
    const posts = recorder.posts('/api/v1/ingest');
    expect(posts.length).toBeGreaterThan(2);
    for (const post of posts) expect(post.bodyBytes).toBeLessThanOrEqual(4096);
    expect(posts.reduce((sum, post) => sum + post.events, 0)).toBe(20);
    expect(await stored('bytes')).toHaveLength(20);
  });

  it('bounds the queue: drops and counts instead of growing; flush sends what was kept', async () => {
    const errors: PromptopsError[] = [];
    const c = client(
      { maxQueueSize: 10, batchSize: 1000, flushIntervalMs: 60_000 },
      { onError: (error) => errors.push(error) },
    );
    for (let i = 0; i < 25; i += 1) c.trace(event(i, { tenant: 'bounded' }));
    expect(c.traceStats()).toEqual({ queued: 10, sent: 0, dropped: 15, rejected: 0, retries: 0 });
    expect(errors.map((error) => error.code)).toEqual(['trace_queue_full']); // once, not 15 times
    expect(await c.flush()).toBe(true);
    expect(c.traceStats()).toEqual({ queued: 0, sent: 10, dropped: 15, rejected: 0, retries: 0 });
    expect(await stored('bounded')).toHaveLength(10);
  });

  it('never retries a 4xx: a viewer key is refused once and the events counted as rejected', async () => {
    const recorder = recordingFetch();
    const errors: PromptopsError[] = [];
    const c = createClient({
      url,
      apiKey: registry.keys.viewer,
      fetch: recorder.fetch,
      traces: { flushIntervalMs: 10, retry: { initialDelayMs: 1 } },
      onError: (error) => errors.push(error),
    });
    clients.push(c);
    for (let i = 0; i < 3; i += 1) c.trace(event(i, { tenant: 'viewer' }));
    expect(await c.flush()).toBe(true);
    expect(c.traceStats()).toEqual({ queued: 0, sent: 0, dropped: 0, rejected: 3, retries: 0 });
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ kind: 'forbidden', fix: expect.stringContaining('traces: { apiKey }') });
    // Deliveries go one at a time, in order: a resend of the first batch would come before the next one.
    c.trace(event(3, { tenant: 'viewer' }));
    expect(await c.flush()).toBe(true);
    expect(recorder.posts('/api/v1/ingest').map((post) => [post.status, post.events])).toEqual([
      [403, 3],
      [403, 1],
    ]);
    expect(c.traceStats()).toEqual({ queued: 0, sent: 0, dropped: 0, rejected: 4, retries: 0 });

    // The fix the error names: a separate key for traces.
    const fixed = client({ apiKey: registry.keys.editor, flushIntervalMs: 10 }, { apiKey: registry.keys.viewer });
    fixed.trace(event(0, { tenant: 'viewer' }));
    expect(await fixed.flush()).toBe(true);
    expect(fixed.traceStats().sent).toBe(1);
  });

  it('counts per-item rejections from the server without resending them', async () => {
    const recorder = recordingFetch();
    const errors: PromptopsError[] = [];
    const c = client({ flushIntervalMs: 10 }, { fetch: recorder.fetch, onError: (error) => errors.push(error) });
    c.trace(event(1, { tenant: 'items' }));
    const future = c.trace(event(2, { tenant: 'items', startedAt: Date.now() + 3 * 86_400_000 }));
    c.trace(event(3, { tenant: 'items' }));
    expect(await c.flush()).toBe(true);
    expect(recorder.posts('/api/v1/ingest')).toHaveLength(1);
    expect(c.traceStats()).toMatchObject({ sent: 2, rejected: 1, retries: 0 });
    expect(errors).toEqual([
      expect.objectContaining({ code: 'trace_rejected', message: expect.stringContaining(`${future}: startedAt`) }),
    ]);
    expect(await stored('items')).toHaveLength(2);
  });

  it('reports invalid input through onError, counts it, and never throws into the app', async () => {
    const errors: PromptopsError[] = [];
    const c = client({ flushIntervalMs: 10 }, { onError: (error) => errors.push(error) });
    const bad = [
      { prompt: { name: 'Not A Name!', sha: SHA } },
      { prompt: { name: 'ok', sha: 'abc' } },
      { latencyMs: -1 },
      { usage: { inputTokens: 1.5 } },
      { traceId: 'xyz' },
      null,
    ];
    for (const input of bad) expect(typeof c.trace(input as never)).toBe('string');
    c.score('', { kind: 'thumbs', value: 'sideways' as never });
    c.score('x', { kind: 'stars' as never, value: 5 });
    // Variables that cannot be serialized cost the variables, not the call.
    const cyclic: Record<string, unknown> = {};
    cyclic['self'] = cyclic;
    const kept = c.trace(event(1, { tenant: 'invalid', variables: { cyclic } }));
    expect(await c.flush()).toBe(true);
    expect(c.traceStats()).toMatchObject({ sent: 1, rejected: bad.length + 2 });
    expect(errors.map((error) => error.code)).toEqual([
      ...bad.map(() => 'invalid_trace'),
      'invalid_score',
      'invalid_score',
    ]);
    expect(errors[0]!.message).toContain('prompt.name is not a prompt name');
    const [trace] = await stored('invalid');
    expect(trace).toMatchObject({
      id: kept,
      variables: null,
      attributes: { 'promptops.variables.dropped': 'not serializable, or too large' },
    });
  });

  it('sends scores after their event, and counts a score for an unknown trace as rejected', async () => {
    const c = client({ flushIntervalMs: 20 });
    const id = c.trace(event(1, { tenant: 'scores' }));
    c.score(id, { kind: 'thumbs', value: 'down', comment: 'wrong order number' });
    c.score(id, { name: 'accuracy', kind: 'numeric', value: 0.25 });
    c.score(id, { name: 'topic', kind: 'label', value: 'shipping' });
    c.score('no-such-event', { kind: 'thumbs', value: true });
    expect(await c.flush()).toBe(true);
    expect(c.traceStats()).toMatchObject({ sent: 4, rejected: 1, dropped: 0 });
    const trace = await traceDetail(url, id, registry.keys.admin);
    expect(trace.scores?.map((score) => [score.name, score.kind, score.value])).toEqual(
      expect.arrayContaining([
        ['feedback', 'thumbs', 'down'],
        ['accuracy', 'numeric', 0.25],
        ['topic', 'label', 'shipping'],
      ]),
    );
  });

  it('retries 5xx with backoff until the server takes the batch', async () => {
    const proxy = await startFaultProxy(url, (path, n) => (path === '/api/v1/ingest' && n <= 3 ? 503 : undefined));
    try {
      const c = createClient({
        url: proxy.url,
        apiKey: registry.keys.editor,
        traces: { flushIntervalMs: 10, retry: { initialDelayMs: 20, maxDelayMs: 100 } },
      });
      clients.push(c);
      for (let i = 0; i < 7; i += 1) c.trace(event(i, { tenant: 'five-hundred' }));
      expect(await c.flush()).toBe(true);
      expect(c.traceStats()).toMatchObject({ sent: 7, retries: 3, dropped: 0, rejected: 0 });
      expect(proxy.counts.get('/api/v1/ingest')).toBe(4);
      expect(await stored('five-hundred')).toHaveLength(7);
    } finally {
      await proxy.close();
    }
  });

  it('gives up after retry.maxAttempts and counts the batch as dropped', async () => {
    const errors: PromptopsError[] = [];
    const c = createClient({
      url: 'http://127.0.0.1:9',
      apiKey: 'k',
      traces: { flushIntervalMs: 10, retry: { initialDelayMs: 1, maxDelayMs: 5, maxAttempts: 3 } },
      onError: (error) => errors.push(error),
    });
    clients.push(c);
    c.trace(event(1));
    expect(await c.flush()).toBe(true);
    expect(c.traceStats()).toEqual({ queued: 0, sent: 0, dropped: 1, rejected: 0, retries: 2 });
    expect(errors.map((error) => error.code)).toEqual(['server_unreachable', 'trace_delivery_failed']);
  });

  it('honours Retry-After from the real overload gate', async () => {
    // A second app on the same database that reads one ingest body per key at a time and answers 429
    // (Retry-After: 1) to the next; bodies have no deadline, so the holder below waits as long as needed.
    const gated = await buildApp({
      storage: registry.storage,
      traces: {
        ingest: { maxReadingPerKey: 1, retryAfterSeconds: 1, minBodyBytesPerSecond: 0, bodyTimeoutMs: 600_000 },
        retention: false,
      },
    });
    const gatedUrl = await listen(gated);
    try {
      // Hold the key's only read slot: a request whose body arrives in two parts.
      const body = JSON.stringify({
        events: [{ id: `holder-${Date.now()}`, startedAt: Date.now(), prompt: { name: 'exporter_test' } }],
      });
      const holder = connect((gated.server.address() as AddressInfo).port, '127.0.0.1');
      const holderDone = new Promise<string>((resolve) => {
        let answer = '';
        holder.on('data', (chunk: Buffer) => (answer += chunk.toString()));
        holder.on('close', () => resolve(answer));
      });
      holder.write(
        `POST /api/v1/ingest HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${registry.keys.editor}\r\n` +
          `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n` +
          body.slice(0, 5),
      );
      await waitFor(() => gated.ingestStats().reading === 1, 'the holder reading its body', WAIT_MS);

      const recorder = recordingFetch();
      const c = createClient({
        url: gatedUrl,
        apiKey: registry.keys.editor,
        fetch: recorder.fetch,
        traces: { flushIntervalMs: 10, retry: { initialDelayMs: 10, maxDelayMs: 50 } },
      });
      clients.push(c);
      for (let i = 0; i < 5; i += 1) c.trace(event(i, { tenant: 'overload' }));
      await waitFor(() => c.traceStats().retries >= 1, 'a 429', WAIT_MS);
      // Free the slot at once: the client must still wait out Retry-After, not its 10-50 ms backoff.
      // (write, not end: a half-closed socket loses its answer.)
      holder.write(body.slice(5));
      expect(await holderDone).toContain('200 OK');
      expect(await c.flush()).toBe(true);

      const posts = recorder.posts('/api/v1/ingest');
      const statuses = posts.map((post) => post.status);
      // Normally [429, 200]; a machine slow enough to take a second to store the holder's event sees more 429s.
      expect(statuses.at(-1)).toBe(200);
      expect(statuses.slice(0, -1)).toEqual(statuses.slice(0, -1).map(() => 429));
      expect(statuses.length).toBeGreaterThanOrEqual(2);
      for (let i = 1; i < posts.length; i += 1) expect(posts[i]!.at - posts[i - 1]!.at).toBeGreaterThanOrEqual(1000);
      expect(c.traceStats()).toMatchObject({ sent: 5, retries: posts.length - 1, dropped: 0, rejected: 0 });
      expect(await stored('overload')).toHaveLength(5);
    } finally {
      await gated.close();
    }
  });
});
