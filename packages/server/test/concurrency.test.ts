import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { ADMIN_KEY, textContent } from './support/registry.js';
import { describeEachDatabase, testDatabase } from './support/databases.js';
import { spawnServer, type SpawnedServer } from './support/spawn-server.js';

/**
 * 50 clients push distinct content to one prompt at once, spread over two server processes sharing
 * one database. Each client does what the CLI does: read the head, push on it, and on 409 retry on the
 * head the conflict names. The registry must end with v1..v50, each exactly once, in one linear chain.
 */

const CLIENTS = 50;
const headers = { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' };

const pushWithRetry = async (base: string, index: number): Promise<{ attempts: number; version: number }> => {
  const content = textContent('race', `Variant ${index}: answer politely.`);
  let parent: string | null = null;
  const head = await fetch(`${base}/api/v1/prompts/race`, { headers });
  if (head.ok) parent = ((await head.json()) as { sha: string }).sha;
  for (let attempts = 1; attempts <= 500; attempts += 1) {
    const response = await fetch(`${base}/api/v1/prompts/race/versions`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ content, parent, message: `client ${index}` }),
    });
    const body = (await response.json()) as {
      version?: number;
      error?: { code: string; details?: { head: { sha: string } | null } };
    };
    if (response.status === 201) return { attempts, version: body.version! };
    if (response.status !== 409 || body.error?.code !== 'stale_parent')
      throw new Error(`unexpected ${response.status}: ${JSON.stringify(body)}`);
    parent = body.error.details?.head?.sha ?? null;
  }
  throw new Error(`client ${index} gave up`);
};

describeEachDatabase('concurrent pushes on %s, two server processes', (dialect) => {
  const servers: SpawnedServer[] = [];
  afterAll(async () => {
    await Promise.all(servers.map((server) => server.stop()));
  });

  it(`${CLIENTS} pushes produce v1..v${CLIENTS} exactly once`, async () => {
    const env = {
      PROMPTOPS_DB: await testDatabase(dialect),
      PROMPTOPS_INIT_ADMIN_KEY: ADMIN_KEY,
      PROMPTOPS_DATA_DIR: mkdtempSync(join(tmpdir(), 'promptops-data-')),
    };
    // The first replica bootstraps and migrates; the second starts on the same database at the same time.
    servers.push(...(await Promise.all([spawnServer(env), spawnServer(env)])));

    const results = await Promise.all(Array.from({ length: CLIENTS }, (_, i) => pushWithRetry(servers[i % 2]!.url, i)));
    expect(results.map((r) => r.version).sort((a, b) => a - b)).toEqual(
      Array.from({ length: CLIENTS }, (_, i) => i + 1),
    );
    expect(results.some((r) => r.attempts > 1)).toBe(true); // the race really happened

    const log = (await (
      await fetch(`${servers[1]!.url}/api/v1/prompts/race/versions?limit=500`, { headers })
    ).json()) as {
      versions: { version: number; sha: string; parentSha: string | null; message: string }[];
    };
    const versions = [...log.versions].reverse();
    expect(versions.map((v) => v.version)).toEqual(Array.from({ length: CLIENTS }, (_, i) => i + 1));
    versions.forEach((v, i) => expect(v.parentSha).toBe(i === 0 ? null : versions[i - 1]!.sha));
    expect(new Set(versions.map((v) => v.message)).size).toBe(CLIENTS);

    const verify = (await (await fetch(`${servers[0]!.url}/api/v1/verify`, { headers })).json()) as {
      ok: boolean;
      problems: unknown[];
    };
    expect(verify).toMatchObject({ ok: true, problems: [] });
  }, 120_000);
});
