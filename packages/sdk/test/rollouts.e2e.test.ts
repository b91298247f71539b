import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PromptopsError } from '@promptops/core';
import { startServer, type RunningServer } from '../../server/src/index.js';
import { DIALECTS } from '../../server/test/support/registry.js';
import { createClient, type PromptopsClient, type RolloutEvent } from '../src/index.js';
import { greeter, versionOf } from './support/fixtures.js';
import { ADMIN_KEY, api, startTestServer, waitFor, type TestServer } from './support/server.js';

/**
 * Rollouts end to end against a real server: a split rollout started through the API lands units on the
 * arms conformance/assignment.json gives (the vectors' salt), in every one of 20 connected clients, with
 * no request per get; its step and its abort reach all 20 (stream and long-poll); a server restart keeps
 * the rollout, and a client started after it serves the same arms.
 */

const NAME = 'customer_support_greeter';
const v17 = versionOf(greeter(17), 1);
const v18 = versionOf(greeter(18), 2);
const CLIENTS = 20;

interface Unit {
  readonly name: string;
  readonly salt: string;
  readonly unitKey: string | null;
  readonly arms: readonly { readonly ramp: number; readonly arm: 'baseline' | 'candidate' }[];
}
const vectors = (
  JSON.parse(readFileSync(new URL('../../../conformance/assignment.json', import.meta.url), 'utf8')) as {
    units: Unit[];
  }
).units;
const SALT = 'ro_01hx7k';
const units = vectors.filter((unit) => unit.salt === SALT && unit.unitKey !== null && unit.unitKey !== '');
const armAt = (unit: Unit, ramp: number): string => unit.arms.find((a) => a.ramp === ramp)!.arm;

describe.each(DIALECTS)('rollouts through 20 SDK clients (%s)', (dialect) => {
  let server: TestServer;
  let restarted: RunningServer | undefined;
  const clients: PromptopsClient[] = [];
  const errors: PromptopsError[] = [];
  let rolloutId = '';

  const connect = async (url: string, transport: 'sse' | 'poll'): Promise<PromptopsClient> => {
    const client = createClient({
      url,
      apiKey: ADMIN_KEY,
      transport,
      snapshotCheckIntervalMs: 0,
      pollWaitSeconds: 2, // a long-poll says it is connected when its first answer comes
      reconnect: { initialDelayMs: 10, maxDelayMs: 200, probeIntervalMs: 50 },
      traces: false,
      onError: (error) => errors.push(error),
    });
    clients.push(client);
    // Right after a restart, a pooled connection to the old process may fail once; ready() tries again.
    await client.ready().catch(() => client.ready());
    return client;
  };
  /** Resolves when `client` hears a rollout event that satisfies `test`. */
  const hears = (client: PromptopsClient, test: (event: RolloutEvent) => boolean): Promise<RolloutEvent> =>
    new Promise((resolve) => {
      const off = client.on('rollout', (event) => {
        if (!test(event)) return;
        off();
        resolve(event);
      });
    });
  const expectArms = (client: PromptopsClient, ramp: number): void => {
    for (const unit of units) {
      const served = client.get(NAME, { unitKey: unit.unitKey });
      expect({ unit: unit.name, ramp, variant: served.variant }).toEqual({
        unit: unit.name,
        ramp,
        variant: armAt(unit, ramp),
      });
      expect(served.sha).toBe(armAt(unit, ramp) === 'candidate' ? v18.sha : v17.sha);
      expect(served.rolloutId).toBe(rolloutId);
    }
  };

  beforeAll(async () => {
    server = await startTestServer(dialect);
    const registry = api(server.url);
    await registry.push(v17.content, null);
    await registry.push(v18.content, v17.sha);
    await registry.promote(NAME, 'production', 'v1');
    for (let i = 0; i < CLIENTS; i += 1) await connect(server.url, i % 4 === 3 ? 'poll' : 'sse');
    await waitFor(() => clients.every((c) => c.status().connected), 'every client to follow the feed');
  });

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close()));
    if (restarted === undefined) await server?.close();
    else {
      const closing = restarted.close();
      restarted.app.server.closeAllConnections(); // as startTestServer's close does
      await closing;
    }
  });

  it('a split rollout reaches all 20 clients, units land per the vectors, get makes no request', async () => {
    const started = clients.map((c) => hears(c, (e) => e.rollout?.ramp === 25));
    const rollout = await api(server.url).call<{ id: string; ramp: number }>(
      'POST',
      `/api/v1/prompts/${NAME}/rollouts`,
      {
        label: 'production',
        candidate: 'v2',
        mode: 'split',
        steps: [25, 50, 100],
        salt: SALT,
      },
    );
    rolloutId = rollout.id;
    expect(rollout.ramp).toBe(25);
    const heard = await Promise.all(started);
    expect(heard.map((e) => e.rollout?.id)).toEqual(clients.map(() => rolloutId));
    for (const client of clients) expectArms(client, 25);
    // Keyless calls are the baseline.
    expect(clients[0]!.get(NAME)).toMatchObject({ variant: 'baseline', sha: v17.sha });

    const stepped = clients.map((c) => hears(c, (e) => e.rollout?.ramp === 50));
    await api(server.url).call('POST', `/api/v1/rollouts/${rolloutId}/advance`, { reason: 'looks fine' });
    await Promise.all(stepped);
    for (const client of clients) expectArms(client, 50);
  });

  it('an abort reaches all 20 clients: every unit is back on the label', async () => {
    const aborted = clients.map((c) => hears(c, (e) => e.rollout === null));
    await api(server.url).call('POST', `/api/v1/rollouts/${rolloutId}/abort`, { reason: 'worse answers' });
    const heard = await Promise.all(aborted);
    expect(heard.map((e) => e.previousId)).toEqual(clients.map(() => rolloutId));
    for (const client of clients) {
      for (const unit of units) {
        expect(client.get(NAME, { unitKey: unit.unitKey })).toMatchObject({
          variant: 'base',
          sha: v17.sha,
          rolloutId: null,
        });
      }
    }
  });

  it('a server restart keeps a running rollout: clients carry on, a new one serves the same arms', async () => {
    const started = clients.map((c) => hears(c, (e) => e.rollout?.ramp === 25));
    const rollout = await api(server.url).call<{ id: string }>('POST', `/api/v1/prompts/${NAME}/rollouts`, {
      label: 'production',
      candidate: 'v2',
      steps: [25, 50, 100],
      salt: SALT,
    });
    rolloutId = rollout.id;
    await Promise.all(started);

    const port = Number(new URL(server.url).port);
    await server.close();
    restarted = await startServer({
      port,
      db: server.dbUrl,
      dataDir: mkdtempSync(join(tmpdir(), 'promptops-sdk-data-')),
      print: () => undefined,
    });
    const fresh = await connect(restarted.url, 'sse');
    expectArms(fresh, 25);

    // The clients of before the restart reconnect and hear the next step.
    const stepped = clients.map((c) => hears(c, (e) => e.rollout?.ramp === 50));
    await api(restarted.url).call('POST', `/api/v1/rollouts/${rolloutId}/advance`);
    await Promise.all(stepped);
    for (const client of clients) expectArms(client, 50);
  });
});
