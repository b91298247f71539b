import type { FastifyInstance } from 'fastify';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { DEFAULT_SUBSCRIBER_LIMITS, subscriberLimits, subscriberLimitsFromEnv } from '../../src/changes/limits.js';
import { buildApp } from '../../src/app/app.js';
import { addKey, DIALECTS, openTestRegistry, type TestRegistry } from '../support/registry.js';
import { openSse, type SseClient } from '../support/sse.js';

/**
 * One key (or one project) must not fill the change feed for everyone: subscribers are limited per key
 * and per project, well below the replica's limit, and a project with few subscribers keeps a reserve
 * that lets it connect even when the replica is full.
 */

const LIMITS = { maxSubscribers: 5, maxSubscribersPerProject: 3, maxSubscribersPerKey: 2, reservedPerProject: 1 };

/** A deadline for the server to see a client come or go, not a measure: a busy machine may be slow. */
const SETTLE = { timeout: 10_000, interval: 20 };

interface Refusal {
  readonly status: number;
  readonly retryAfter: string | null;
  readonly error: { code: string; message: string; fix: string; details: { limit: string; max: number } };
}

const listen = async (app: FastifyInstance): Promise<string> => {
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  if (typeof address !== 'object' || address === null) throw new Error('no address');
  return `http://127.0.0.1:${address.port}`;
};

describe.each(DIALECTS)('change-feed subscriber limits on %s', (dialect) => {
  let registry: TestRegistry;
  let app: FastifyInstance;
  let base: string;
  let keyB1: string;
  let keyB2: string;
  let keyC1: string;
  let keyC2: string;
  const clients: SseClient[] = [];

  const auth = (key: string) => ({ authorization: `Bearer ${key}` });
  const stream = async (key: string): Promise<SseClient> => {
    const client = await openSse(`${base}/api/v1/stream`, auth(key));
    clients.push(client);
    if (client.status === 200) await client.until(() => client.messages.length >= 1); // registered: `ready` came
    return client;
  };
  const refused = async (key: string, path = '/api/v1/stream'): Promise<Refusal> => {
    const aborted = new AbortController();
    const response = await fetch(`${base}${path}`, { headers: auth(key), signal: aborted.signal });
    if (response.ok) {
      aborted.abort(); // admitted: leave at once rather than hold the slot
      throw new Error(`GET ${path} was admitted (${response.status}), expected a refusal`);
    }
    const body = (await response.json()) as { error: Refusal['error'] };
    return { status: response.status, retryAfter: response.headers.get('retry-after'), error: body.error };
  };
  const subscribers = (): number => app.changeFeed.stats().subscribers;

  beforeAll(async () => {
    registry = await openTestRegistry(dialect);
    const project = async (name: string) =>
      registry.storage.transaction((tx) => tx.registry.createProject(`${name}-${dialect}`, new Date().toISOString()));
    const b = await project('b');
    const c = await project('c');
    keyB1 = await addKey(registry.storage, b.id, 'viewer', `po_test_limits_b1_${dialect}_00000000000000`, 'b1');
    keyB2 = await addKey(registry.storage, b.id, 'viewer', `po_test_limits_b2_${dialect}_00000000000000`, 'b2');
    keyC1 = await addKey(registry.storage, c.id, 'viewer', `po_test_limits_c1_${dialect}_00000000000000`, 'c1');
    keyC2 = await addKey(registry.storage, c.id, 'viewer', `po_test_limits_c2_${dialect}_00000000000000`, 'c2');
    app = await buildApp({ storage: registry.storage, changeFeed: { ...LIMITS, retryAfterSeconds: 3 } });
    base = await listen(app);
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((client) => client.close()));
    await vi.waitFor(() => expect(subscribers()).toBe(0), SETTLE);
  });
  afterAll(async () => {
    app.server.closeAllConnections(); // fetch's spare connections after aborted streams (see changes.test.ts)
    await app.close();
    await registry.close();
  });

  it('one key fills only its own limit: 429 naming the key limit; other keys of its project and other projects still connect', async () => {
    const { viewer, editor } = registry.keys;
    await stream(viewer);
    await stream(viewer);
    const overKey = await refused(viewer);
    expect([overKey.status, overKey.retryAfter, overKey.error.code]).toEqual([429, '3', 'too_many_subscribers']);
    expect(overKey.error.details).toEqual({ limit: 'key', max: 2 });
    expect(overKey.error.message).toMatch(/this API key .*2 change-feed subscriptions/);
    expect(overKey.error.fix).toContain('maxSubscribersPerKey');
    expect(overKey.error.fix).toContain('PROMPTOPS_CHANGE_FEED_MAX_PER_KEY');
    // A long-poll that would wait counts as a subscriber too, so it is refused alike.
    const overKeyPoll = await refused(viewer, '/api/v1/changes?wait=5');
    expect([overKeyPoll.status, overKeyPoll.error.details.limit]).toEqual([429, 'key']);

    expect((await stream(editor)).status).toBe(200); // another key of the same project
    expect((await stream(keyB1)).status).toBe(200); // a key of another project
    expect(subscribers()).toBe(4);
  });

  it('a project fills only its own limit: 429 naming the project limit, while other projects connect', async () => {
    const { viewer, editor, deployer } = registry.keys;
    await stream(viewer);
    await stream(editor);
    await stream(deployer);
    const overProject = await refused(registry.keys.admin); // a key with no subscription yet
    expect([overProject.status, overProject.retryAfter]).toEqual([429, '3']);
    expect(overProject.error.details).toEqual({ limit: 'project', max: 3 });
    expect(overProject.error.message).toMatch(/project .*3 change-feed subscriptions/);
    expect(overProject.error.fix).toContain('maxSubscribersPerProject');
    expect(overProject.error.fix).toContain('PROMPTOPS_CHANGE_FEED_MAX_PER_PROJECT');
    expect((await stream(keyB1)).status).toBe(200);
  });

  it('counts waiting long-polls, and gives a slot back when a client leaves', async () => {
    const { viewer } = registry.keys;
    await stream(viewer);
    const leaving = new AbortController();
    const poll = fetch(`${base}/api/v1/changes?wait=30`, { headers: auth(viewer), signal: leaving.signal }).catch(
      () => undefined,
    );
    await vi.waitFor(() => expect(subscribers()).toBe(2), SETTLE);
    expect((await refused(viewer)).error.details.limit).toBe('key');
    leaving.abort();
    await poll;
    await vi.waitFor(() => expect(subscribers()).toBe(1), SETTLE);
    expect((await stream(viewer)).status).toBe(200);
  });

  it('keeps a reserve per project: with the replica full, a project with no subscriber still connects', async () => {
    const { viewer, editor } = registry.keys;
    await stream(viewer);
    await stream(viewer);
    await stream(editor); // project A: 3, at its limit
    await stream(keyB1);
    await stream(keyB2); // project B: 2; the replica: 5, full
    expect(subscribers()).toBe(LIMITS.maxSubscribers);

    const full = await refused(keyB2); // B already has more than its reserve
    expect([full.status, full.retryAfter, full.error.code]).toEqual([503, '3', 'too_many_subscribers']);
    expect(full.error.details).toEqual({ limit: 'replica', max: 5 });
    expect(full.error.fix).toContain('PROMPTOPS_CHANGE_FEED_MAX_SUBSCRIBERS');

    expect((await stream(keyC1)).status).toBe(200); // project C's reserved slot
    expect(subscribers()).toBe(LIMITS.maxSubscribers + 1);
    const pastReserve = await refused(keyC2);
    expect([pastReserve.status, pastReserve.error.details.limit]).toEqual([503, 'replica']);
  });

  it('refuses limits that are not non-negative integers, naming the option', async () => {
    await expect(buildApp({ storage: registry.storage, changeFeed: { maxSubscribersPerKey: -1 } })).rejects.toThrow(
      /changeFeed\.maxSubscribersPerKey/,
    );
    await expect(buildApp({ storage: registry.storage, changeFeed: { reservedPerProject: 1.5 } })).rejects.toThrow(
      /changeFeed\.reservedPerProject/,
    );
  });
});

describe('subscriber limits from the environment (promptops serve)', () => {
  it('reads each set variable, leaves the others to their defaults, and names a malformed one', () => {
    expect(
      subscriberLimitsFromEnv({
        PROMPTOPS_CHANGE_FEED_MAX_PER_KEY: '50',
        PROMPTOPS_CHANGE_FEED_RESERVED_PER_PROJECT: ' 0 ',
      }),
    ).toEqual({ maxSubscribersPerKey: 50, reservedPerProject: 0 });
    expect(subscriberLimitsFromEnv({})).toEqual({});
    // An app option wins over the variable, which wins over the default.
    const env = { PROMPTOPS_CHANGE_FEED_MAX_PER_KEY: '50', PROMPTOPS_CHANGE_FEED_MAX_PER_PROJECT: '60' };
    expect(subscriberLimits({ maxSubscribersPerKey: 7 }, env)).toEqual({
      ...DEFAULT_SUBSCRIBER_LIMITS,
      maxSubscribersPerKey: 7,
      maxSubscribersPerProject: 60,
    });
    expect(() => subscriberLimitsFromEnv({ PROMPTOPS_CHANGE_FEED_MAX_PER_PROJECT: '1e3' })).toThrow(
      /PROMPTOPS_CHANGE_FEED_MAX_PER_PROJECT="1e3" is not a non-negative integer/,
    );
    // Per key and per project well below the replica's limit, by default.
    expect(DEFAULT_SUBSCRIBER_LIMITS.maxSubscribersPerKey).toBeLessThan(
      DEFAULT_SUBSCRIBER_LIMITS.maxSubscribersPerProject,
    );
    expect(DEFAULT_SUBSCRIBER_LIMITS.maxSubscribersPerProject * 2).toBeLessThanOrEqual(
      DEFAULT_SUBSCRIBER_LIMITS.maxSubscribers,
    );
  });
});
