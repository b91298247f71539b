import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS } from '../../server/test/support/registry.js';
import { createClient, type ChangeEvent, type PromptopsClient } from '../src/index.js';
import { greeter, versionOf } from './support/fixtures.js';
import { ADMIN_KEY, api, startTestServer, waitFor, type TestServer } from './support/server.js';

/**
 * An incident end to end against a real server: v18 is promoted over v17, its traces score worse, the
 * monitor's tick fires, production rolls back automatically to v17, every one of 20 connected SDK clients
 * (stream and long-poll) hears the change and serves v17, and the incident holds the whole timeline.
 * The other half of the acceptance (a good version fires nothing: false alarms over 200 simulated windows
 * at or below alpha) is core's calibration test, packages/core/test/incidents.test.ts.
 */

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = Record<string, any>;

const NAME = 'customer_support_greeter';
const v17 = versionOf(greeter(17), 1);
const v18 = versionOf(greeter(18), 2);
const CLIENTS = 20;

describe.each(DIALECTS)('a bad version rolled back by its monitor, through 20 SDK clients (%s)', (dialect) => {
  let server: TestServer;
  const clients: PromptopsClient[] = [];

  /** `count` traces of `sha` on production, scored around `score`, as an app's tracing and scoring send them. */
  const traffic = async (sha: string, tag: string, count: number, score: number): Promise<void> => {
    const registry = api(server.url);
    const events = Array.from({ length: count }, (_, i) => ({
      id: `${tag}-${i}`,
      prompt: { name: NAME, sha },
      label: 'production',
      latencyMs: 300 + (i % 11),
      startedAt: new Date().toISOString(),
    }));
    await registry.call('POST', '/api/v1/ingest', { events });
    for (let i = 0; i < count; i += 10) {
      await Promise.all(
        events.slice(i, i + 10).map((event, j) =>
          registry.call('POST', `/api/v1/traces/${event.id}/scores`, {
            kind: 'numeric',
            name: 'quality',
            value: Math.min(1, Math.max(0, score + (((i + j) % 5) - 2) * 0.05)),
          }),
        ),
      );
    }
  };

  beforeAll(async () => {
    server = await startTestServer(dialect);
    const registry = api(server.url);
    await registry.push(v17.content, null);
    await registry.push(v18.content, v17.sha);
    await registry.promote(NAME, 'production', 'v1');
    for (let i = 0; i < CLIENTS; i += 1) {
      const client = createClient({
        url: server.url,
        apiKey: ADMIN_KEY,
        transport: i % 4 === 3 ? 'poll' : 'sse',
        snapshotCheckIntervalMs: 0,
        pollWaitSeconds: 2,
        traces: false,
      });
      clients.push(client);
      await client.ready();
    }
    await waitFor(() => clients.every((c) => c.status().connected), 'every client to follow the feed');
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await server?.close();
  });

  it('detects the score drop, rolls back, every client serves v17, and the incident tells it', async () => {
    const registry = api(server.url);
    const runner = server.server.app.monitorRunner;
    // The looks are this test's own ticks, not the server's timer.
    await runner.stop();
    const monitor = await registry.call<Json>('POST', `/api/v1/prompts/${NAME}/monitors`, {
      label: 'production',
      config: { action: 'rollback', conditions: [{ metric: 'score', threshold: -0.1 }] },
    });
    await traffic(v17.sha, 'good', 100, 0.85);

    const onV18 = clients.map((c) => hears(c, v18.sha));
    await registry.promote(NAME, 'production', 'v2', 'friendlier greeting');
    await Promise.all(onV18);
    expect(clients.every((c) => c.get(NAME).sha === v18.sha)).toBe(true);

    await traffic(v18.sha, 'bad', 100, 0.35);
    const back = clients.map((c) => hears(c, v17.sha));
    expect(await runner.tick()).toMatchObject({ held: true, fired: 1 });
    const events = await Promise.all(back);
    expect(events.every((event) => event.kind === 'auto-rollback')).toBe(true);
    expect(clients.map((c) => c.get(NAME).sha)).toEqual(clients.map(() => v17.sha));

    const history = await registry.call<Json>('GET', `/api/v1/prompts/${NAME}/deployments?label=production`);
    expect(history['deployments'][0]).toMatchObject({
      kind: 'auto-rollback',
      toVersion: 1,
      actor: `monitor:${monitor['id']}`,
    });
    // Never loops: the next look holds.
    expect(await runner.tick()).toMatchObject({ fired: 0 });

    await traffic(v17.sha, 'after', 5, 0.85);
    const { incidents } = await registry.call<{ incidents: Json[] }>('GET', '/api/v1/incidents');
    expect(incidents).toHaveLength(1);
    const shown = await registry.call<Json>('GET', `/api/v1/incidents/${incidents[0]!['id']}`);
    expect(shown['timeline'].map((e: Json) => e['kind'])).toEqual([
      'introduced',
      'first_bad_trace',
      'detected',
      'opened',
      'notified',
      'mitigated',
      'first_good_trace',
    ]);
    expect(shown['figures']).toMatchObject({ tracesAffected: 100, shareAffected: 1 });
    for (const key of ['timeToDetectMs', 'timeToMitigateMs', 'timeToRecoverMs'])
      expect(shown['figures'][key], key).toEqual(expect.any(Number));
    expect(shown['figures']['scores']['before']).toBeCloseTo(0.85, 5);
    expect(shown['figures']['scores']['during']).toBeCloseTo(0.35, 5);
    expect(shown['figures']['scores']['after']).toBeCloseTo(0.85, 5);
  });
});

/** Resolves with the change event that puts `sha` on production in `client`. */
const hears = (client: PromptopsClient, sha: string): Promise<ChangeEvent> =>
  new Promise((resolve) => {
    const off = client.on('change', (event) => {
      if (event.name !== NAME || event.label !== 'production' || event.sha !== sha) return;
      off();
      resolve(event);
    });
  });
