import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStorage } from '../../server/src/app/stores.js';
import { testDatabase } from '../../server/test/support/databases.js';
import { createClient } from '../src/index.js';
import { ADMIN_KEY, freePort, spawnServer, waitFor, type ChildServer } from './support/server.js';
import { recordingFetch } from './support/traces.js';

/**
 * 100,000 events sent in batches while the server (the build, in its own process, on a temp SQLite
 * database) is SIGKILLed midway and restarted on the same database and port. Every event the server
 * acknowledged is stored exactly once, the SDK's resends fill in the rest, and the counts match.
 * Build first: `npx tsc -b packages/server`.
 */

const EVENTS = 100_000;
const SHA = 'd'.repeat(64);

describe('tracing through a server crash', () => {
  let db: string;
  let server: ChildServer | undefined;

  beforeAll(async () => {
    db = await testDatabase('sqlite');
  });
  afterAll(async () => {
    await server?.kill();
  });

  it('stores every event exactly once across a SIGKILL and restart', { timeout: 120_000 }, async () => {
    const port = await freePort();
    server = await spawnServer({ db, port });
    const recorder = recordingFetch();
    const client = createClient({
      url: server.url,
      apiKey: ADMIN_KEY,
      fetch: recorder.fetch,
      traces: {
        batchSize: 1000,
        flushIntervalMs: 20,
        maxQueueSize: EVENTS,
        requestTimeoutMs: 10_000,
        retry: { initialDelayMs: 50, maxDelayMs: 500, maxAttempts: Infinity },
        flushTimeoutMs: 60_000,
        flushOnExit: false,
      },
    });
    const ids: string[] = [];
    const ingests = (): ReturnType<typeof recorder.posts> => recorder.posts('/api/v1/ingest');
    const failing = (request: ReturnType<typeof recorder.posts>[number]): boolean =>
      request.error !== undefined || (request.status ?? 0) >= 500;
    // The server stays down until the SDK has seen a send fail.
    const outage = (): Promise<void> => waitFor(() => ingests().some(failing), 'a send to fail', 30_000);
    let restart: Promise<void> | undefined;
    let killedAt = 0;
    // The app keeps tracing while the server dies: 1,000 events every 5 ms (the pause paces the app).
    for (let round = 0; round < EVENTS / 1000; round += 1) {
      for (let i = 0; i < 1000; i += 1) {
        const n = round * 1000 + i;
        ids.push(
          client.trace({
            prompt: { name: 'restart_test', sha: SHA, version: 1 },
            variables: { n },
            output: `answer ${n}`,
            model: 'gpt-4o-mini',
            latencyMs: 100,
            usage: { inputTokens: 20, outputTokens: 5 },
          }),
        );
      }
      if (restart === undefined && client.traceStats().sent >= 30_000) {
        killedAt = client.traceStats().sent;
        const dying = server;
        restart = (async () => {
          await dying.kill('SIGKILL');
          await outage();
          server = await spawnServer({ db, port });
        })();
      }
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    if (restart === undefined) {
      // The machine sent faster than the app traced: kill it now, with most events still queued.
      await waitFor(() => client.traceStats().sent >= 30_000, '30,000 events sent', 30_000);
      killedAt = client.traceStats().sent;
      await server.kill('SIGKILL');
      await outage();
      server = await spawnServer({ db, port });
    }
    await restart;
    expect(await client.flush()).toBe(true);
    const stats = client.traceStats();
    await client.close();

    const acknowledged = new Set(ingests().flatMap((request) => request.acknowledged ?? []));
    const failed = ingests().filter(failing);
    console.log(
      `100,000 events: killed after ${killedAt} sent; ${ingests().length} requests, ${failed.length} failed, ` +
        `${stats.retries} retries`,
    );
    expect(new Set(ids).size).toBe(EVENTS);
    expect(stats).toEqual({ queued: 0, sent: EVENTS, dropped: 0, rejected: 0, retries: stats.retries });
    expect(stats.retries).toBeGreaterThan(0);
    expect(failed.length).toBeGreaterThan(0);
    expect(acknowledged.size).toBe(EVENTS);

    // Straight from the database: every event, once.
    await server.kill();
    server = undefined;
    const storage = await createStorage(db);
    try {
      const [counts] = await storage.rawSql(
        "SELECT COUNT(*) AS n, COUNT(DISTINCT event_id) AS distinct_ids FROM traces WHERE prompt_name = 'restart_test'",
      );
      expect(counts).toEqual({ n: EVENTS, distinct_ids: EVENTS });
      const rows = await storage.rawSql("SELECT event_id FROM traces WHERE prompt_name = 'restart_test'");
      const storedIds = new Set(rows.map((row) => row['event_id'] as string));
      expect(ids.every((id) => storedIds.has(id))).toBe(true);
    } finally {
      await storage.close();
    }
  });
});
