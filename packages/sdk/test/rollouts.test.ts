import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { assignArm, resolveFromSnapshot, type Snapshot } from '@promptops/core';
import { createClient, type ClientOptions, type PromptopsClient, type RolloutEvent } from '../src/client.js';
import { Resolver } from '../src/resolver.js';
import { applyLabelEvent, ingestVersion, parseFeedEvent, validateSnapshot } from '../src/snapshot-store.js';
import { fakeFeed } from './support/fake-feed.js';
import { greeter, versionOf } from './support/fixtures.js';
import { waitFor } from './support/server.js';

/**
 * Rollouts in the SDK: the snapshot store keeps and applies them (stream, long-poll, cache file), and
 * `get(name, { unitKey })` resolves the arm from memory, one cache entry per (name, label).
 */

const NAME = 'customer_support_greeter';
const v17 = versionOf(greeter(17), 17);
const v18 = versionOf(greeter(18), 18);
const RID = 'ro_abcdefghijkm';

const split = (ramp: number, state: 'running' | 'paused' = 'running') => ({
  id: RID,
  salt: RID,
  mode: 'split' as const,
  state,
  ramp,
  candidate: v18,
});

const wireSnapshot = (cursor: number, rollout?: object) => ({
  project: 'default',
  cursor,
  prompts: {
    [NAME]: {
      labels: { production: v17.sha },
      versions: { [v17.sha]: v17 },
      ...(rollout === undefined ? {} : { rollouts: { production: rollout } }),
    },
  },
});

const rolloutEvent = (seq: number, rollout: object | null) => ({
  type: 'rollout',
  seq,
  name: NAME,
  label: 'production',
  rollout,
});

const units = Array.from({ length: 300 }, (_, i) => `user-${i}`);

describe('the snapshot store with rollouts', () => {
  it('keeps a verified rollout, and a label event leaves it in place', () => {
    const snapshot = validateSnapshot(wireSnapshot(10, split(50)), 'test');
    expect(snapshot.prompts[NAME]!.rollouts!['production']).toMatchObject({ id: RID, ramp: 50 });
    const event = parseFeedEvent({ type: 'label', seq: 11, name: NAME, label: 'staging', sha: v18.sha, version: 18 });
    const moved = applyLabelEvent(
      snapshot,
      event as Extract<typeof event, { type: 'label' }>,
      ingestVersion(NAME, v18.sha, 18, v18.content, 'test'),
    ).snapshot;
    expect(moved.prompts[NAME]!.rollouts!['production']!.id).toBe(RID);
  });

  it('refuses a rollout with a bad ramp, and does not serve a mode it does not know', () => {
    expect(() => validateSnapshot(wireSnapshot(10, split(150)), 'test')).toThrow(
      expect.objectContaining({ code: 'invalid_snapshot', message: expect.stringContaining('ramp') }),
    );
    const future = validateSnapshot(wireSnapshot(10, { ...split(50), mode: 'multi-arm' }), 'test');
    expect(future.prompts[NAME]!.rollouts).toBeUndefined();
  });
});

describe('get(name, { unitKey }) under a rollout', () => {
  const resolverWith = (rollout: object): { resolver: Resolver; snapshot: Snapshot } => {
    const resolver = new Resolver();
    const snapshot = validateSnapshot(wireSnapshot(10, rollout), 'test');
    resolver.setSnapshot(snapshot);
    return { resolver, snapshot };
  };

  it("answers core's resolution for every unit, with the candidate's sha in the candidate arm", () => {
    const { resolver, snapshot } = resolverWith(split(30));
    for (const unitKey of [...units, '', null, undefined]) {
      const found = resolver.get(NAME, { unitKey });
      const core = resolveFromSnapshot(snapshot, NAME, { unitKey: unitKey ?? null })!;
      expect({ variant: found.variant, sha: found.sha, version: found.version, rolloutId: found.rolloutId }).toEqual({
        variant: core.variant,
        sha: core.sha,
        version: core.version,
        rolloutId: RID,
      });
    }
    const arms = new Set(units.map((unitKey) => resolver.get(NAME, { unitKey }).variant));
    expect(arms).toEqual(new Set(['baseline', 'candidate']));
  });

  it('keeps one cache entry per (name, label): many units share at most three results', () => {
    const { resolver } = resolverWith(split(50));
    const results = new Set(Array.from({ length: 5000 }, (_, i) => resolver.get(NAME, { unitKey: `u${i}` })));
    results.add(resolver.get(NAME, { unitKey: null }));
    expect(results.size).toBe(3); // no key, in the ramp, out of it (the first and last are both baseline)
    const a = units.find((u) => assignArm(RID, u, 50).arm === 'candidate')!;
    const b = units.find((u) => u !== a && assignArm(RID, u, 50).arm === 'candidate')!;
    expect(resolver.get(NAME, { unitKey: a })).toBe(resolver.get(NAME, { unitKey: b }));
  });

  it('a pin ignores the rollout; a label ref goes through it', () => {
    const { resolver } = resolverWith(split(100));
    expect(resolver.get(`${NAME}@v17`, { unitKey: 'user-1' })).toMatchObject({ variant: 'base', rolloutId: null });
    expect(resolver.get(`${NAME}@production`, { unitKey: 'user-1' })).toMatchObject({
      variant: 'candidate',
      sha: v18.sha,
    });
  });

  it('a shadow rollout serves the baseline and hands out the candidate to render', () => {
    const { resolver } = resolverWith({ ...split(100), mode: 'shadow' });
    const found = resolver.get(NAME, { unitKey: 'user-1' });
    expect(found).toMatchObject({ variant: 'baseline', sha: v17.sha, rolloutId: RID });
    expect(found.shadow).toMatchObject({ rolloutId: RID, version: 18, sha: v18.sha });
    const vars = { user_name: 'Ada', question: 'where is my order?' };
    const candidate = resolverWith(split(100)).resolver.get(NAME, { unitKey: 'user-1' });
    expect(found.shadow!.render(vars)).toEqual(candidate.render(vars));
    expect(found.render(vars)).not.toEqual(found.shadow!.render(vars));
  });
});

describe.each(['sse', 'poll'] as const)('a client following the change feed (%s)', (transport) => {
  const clients: PromptopsClient[] = [];
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
  });
  const start = async (feed: ReturnType<typeof fakeFeed>, options: Partial<ClientOptions> = {}) => {
    const client = createClient({
      url: 'http://promptops.test',
      apiKey: 'test',
      fetch: feed.fetch,
      transport,
      snapshotCheckIntervalMs: 0,
      reconnect: { initialDelayMs: 1, maxDelayMs: 5, probeIntervalMs: 0 },
      traces: false,
      ...options,
    });
    clients.push(client);
    await client.ready();
    return client;
  };
  const nextRollout = (client: PromptopsClient): Promise<RolloutEvent> =>
    new Promise((resolve) => {
      const off = client.on('rollout', (event) => {
        off();
        resolve(event);
      });
    });

  it('applies start, step and abort from the feed; get makes no request', async () => {
    const feed = fakeFeed(wireSnapshot(10));
    const client = await start(feed);
    expect(client.get(NAME, { unitKey: 'user-1' }).variant).toBe('base');

    let heard = nextRollout(client);
    feed.publish(rolloutEvent(11, split(25)));
    expect(await heard).toMatchObject({ seq: 11, name: NAME, label: 'production', previousId: null });
    const requests = feed.requests.length;
    for (const unitKey of units) {
      const expected = assignArm(RID, unitKey, 25).arm;
      expect(client.get(NAME, { unitKey }).variant).toBe(expected);
    }
    expect(feed.requests.length).toBe(requests);

    heard = nextRollout(client);
    feed.publish(rolloutEvent(12, split(60)));
    expect((await heard).rollout).toMatchObject({ id: RID, ramp: 60, state: 'running', sha: v18.sha });
    for (const unitKey of units) {
      expect(client.get(NAME, { unitKey }).variant).toBe(assignArm(RID, unitKey, 60).arm);
    }

    heard = nextRollout(client);
    feed.publish(rolloutEvent(13, null));
    expect(await heard).toMatchObject({ rollout: null, previousId: RID });
    expect(new Set(units.map((unitKey) => client.get(NAME, { unitKey }).variant))).toEqual(new Set(['base']));
    expect(client.status().cursor).toBe(13);
  });

  it('works with a server that knows no rollouts (no rollouts in the snapshot, unknown events)', async () => {
    const feed = fakeFeed(wireSnapshot(10));
    const client = await start(feed);
    feed.publish({ type: 'tenant-override', seq: 11, name: NAME });
    await waitFor(() => client.status().cursor === 11, 'the unknown event to move the cursor');
    expect(client.get(NAME, { unitKey: 'user-1' })).toMatchObject({ variant: 'base', rolloutId: null, shadow: null });
  });
});

describe('the cache file keeps rollouts', () => {
  it('a restarted client with the server down serves the same arms from the cache file', async () => {
    const cacheFile = join(mkdtempSync(join(tmpdir(), 'promptops-sdk-rollouts-')), 'cache.json');
    const feed = fakeFeed(wireSnapshot(10, split(40)));
    const options = {
      url: 'http://promptops.test',
      apiKey: 'test',
      fetch: feed.fetch,
      cacheFile,
      snapshotCheckIntervalMs: 0,
      reconnect: { initialDelayMs: 1, maxDelayMs: 5, probeIntervalMs: 0 },
      traces: false as const,
    };
    const first = createClient(options);
    await first.ready();
    const heard = new Promise<void>((resolve) => first.on('rollout', () => resolve()));
    feed.publish(rolloutEvent(11, split(70)));
    await heard;
    await first.close();
    const saved = JSON.parse(readFileSync(cacheFile, 'utf8')) as { snapshot: Snapshot };
    expect(saved.snapshot.prompts[NAME]!.rollouts!['production']!.ramp).toBe(70);

    feed.state.down = true;
    const second = createClient({ ...options, onError: () => undefined });
    await second.ready();
    try {
      expect(second.status().snapshotFrom).toBe('cache');
      for (const unitKey of units) {
        expect(second.get(NAME, { unitKey }).variant).toBe(assignArm(RID, unitKey, 70).arm);
      }
    } finally {
      await second.close();
    }
  });
});
