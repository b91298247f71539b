import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createStorage } from '../src/app/stores.js';
import { verifyMetrics } from '../src/traces/metrics-verify.js';
import { ADMIN_KEY, freshDbUrl, type TestDialect } from './support/registry.js';
import { spawnServer, type SpawnedServer } from './support/spawn-server.js';

/**
 * A server (the build, in its own process) is SIGKILLed while batches are being ingested and scored, and
 * restarted on the same database; the client then re-sends every batch (duplicates of what committed).
 * The rollups must agree with the raw rows: each is written in the transaction of the rows it counts, so
 * a batch the kill cut short left neither. Build first: `npx tsc -b packages/server`.
 */

// Recent, so inserts mark hours for the fold, which the server's job runs while it lives.
const T0 = Math.floor((Date.now() - 86_400_000) / 3_600_000) * 3_600_000;
const HOUR = 3_600_000;
const BATCHES = 40;
const BATCH = 250;

const event = (batch: number, i: number): Record<string, unknown> => {
  const n = batch * BATCH + i;
  return {
    id: `k-${n}`,
    prompt: { name: 'killed', version: 1, sha: (n % 3 === 0 ? 'a' : 'b').repeat(64) },
    label: n % 2 === 0 ? 'production' : 'staging',
    tenant: `tenant-${n % 6}`,
    rollout: { id: 'r1', arm: n % 4 === 0 ? 'candidate' : 'control' },
    latencyMs: 100 + ((n * 37) % 2000),
    usage: { inputTokens: n % 50, outputTokens: 7 },
    cost: (n % 16) / 1024,
    status: n % 11 === 0 ? 'error' : 'ok',
    // Out of order: spread over six hours whatever the batch.
    startedAt: T0 + ((n * 7919) % (6 * HOUR)),
  };
};

const headers = { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' };

const send = async (url: string, batch: number): Promise<boolean> => {
  try {
    const response = await fetch(`${url}/api/v1/ingest`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ events: Array.from({ length: BATCH }, (_, i) => event(batch, i)) }),
    });
    return response.status === 200;
  } catch {
    return false; // the server died under it
  }
};

const score = (url: string, n: number): Promise<unknown> =>
  fetch(`${url}/api/v1/traces/k-${n}/scores`, {
    method: 'POST',
    headers,
    body: JSON.stringify({ kind: 'thumbs', value: n % 2 === 0 ? 'up' : 'down' }),
  }).catch(() => undefined);

describe.each(['sqlite', 'postgres'] as TestDialect[])('rollups through a SIGKILL during ingestion (%s)', (dialect) => {
  const servers: SpawnedServer[] = [];
  const dataDir = mkdtempSync(join(tmpdir(), 'promptops-rollups-kill-'));
  afterAll(async () => {
    await Promise.all(servers.map((server) => server.stop('SIGKILL')));
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('leaves rollups that agree with the raw rows, after re-sending everything', { timeout: 180_000 }, async () => {
    const db = await freshDbUrl(dialect);
    const env = { PROMPTOPS_DB: db.url, PROMPTOPS_INIT_ADMIN_KEY: ADMIN_KEY, PROMPTOPS_DATA_DIR: dataDir };
    const first = await spawnServer(env);
    servers.push(first);
    // Four senders and a scorer at full speed; the kill lands once a quarter of the batches are in.
    let acknowledged = 0;
    let next = 0;
    let killed = false;
    const sender = async (): Promise<void> => {
      while (next < BATCHES) {
        const batch = next++;
        if (await send(first.url, batch)) acknowledged += 1;
        else return;
      }
    };
    const scorer = async (): Promise<void> => {
      for (let n = 0; !killed; n += 97) await score(first.url, n % (BATCHES * BATCH));
    };
    const running = [sender(), sender(), sender(), sender(), scorer()];
    while (acknowledged < BATCHES / 4) await new Promise((resolve) => setTimeout(resolve, 5));
    killed = true;
    await first.stop('SIGKILL');
    await Promise.all(running);
    expect(acknowledged).toBeLessThan(BATCHES);

    const second = await spawnServer(env);
    servers.push(second);
    for (let batch = 0; batch < BATCHES; batch += 1) expect(await send(second.url, batch)).toBe(true);
    for (let n = 0; n < 300; n += 7) await score(second.url, n);
    await second.stop();

    const storage = await createStorage(db.url);
    try {
      const [raw] = await storage.rawSql(
        "SELECT count(*) AS n, count(DISTINCT event_id) AS ids FROM traces WHERE prompt_name = 'killed'",
      );
      expect(raw).toEqual({ n: BATCHES * BATCH, ids: BATCHES * BATCH });
      const project = (await storage.registry.getProjectByName('default'))!;
      for (const bucketMs of [60_000, HOUR])
        for (const by of ['sha', 'label', 'arm'] as const) {
          const verdict = await verifyMetrics(storage.traces, project.id, {
            promptName: 'killed',
            by,
            sinceMs: T0 - HOUR,
            untilMs: T0 + 7 * HOUR,
            bucketMs,
          });
          expect(verdict.mismatches, `${by} per ${bucketMs} ms`).toEqual([]);
          expect(verdict.buckets).toBeGreaterThan(0);
        }
      const [rollups] = await storage.rawSql(
        `SELECT sum(count) AS n, sum(thumbs_up + thumbs_down) AS thumbs FROM trace_rollups WHERE prompt_name = 'killed' AND grain_ms = ${60_000}`,
      );
      const [scores] = await storage.rawSql("SELECT count(*) AS n FROM trace_scores WHERE event_id LIKE 'k-%'");
      expect({ n: Number(rollups!['n']), thumbs: Number(rollups!['thumbs']) }).toEqual({
        n: BATCHES * BATCH,
        thumbs: Number(scores!['n']),
      });
    } finally {
      await storage.close();
      db.cleanup();
    }
  });
});
