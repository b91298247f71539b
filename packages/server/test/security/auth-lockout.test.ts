import type { FastifyInstance } from 'fastify';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { generateApiKey } from '../../src/auth/keys.js';
import { buildApp, type AppOptions } from '../../src/app/app.js';
import { parseTrustProxy } from '../../src/app/trust-proxy.js';
import { addKey, DIALECTS, openTestRegistry, type TestRegistry } from '../support/registry.js';

/**
 * The failure lockout blocks failing keys and unauthenticated attempts, never valid keys: behind a proxy
 * or NAT, one client's failures must not lock out everyone else's working keys. Brute force from one
 * address is still slowed (a failing key from a blocked address is answered only after a delay), and
 * with `trustProxy` the limiter counts the client behind the proxy, not the proxy.
 */

const LIMITS = { maxFailuresPerAddress: 4, maxFailuresPerKey: 3, windowMs: 60_000 };

const get = (app: FastifyInstance, key: string | undefined, remoteAddress: string, forwardedFor?: string) =>
  app.inject({
    method: 'GET',
    url: '/api/v1/prompts',
    remoteAddress,
    headers: {
      ...(key === undefined ? {} : { authorization: `Bearer ${key}` }),
      ...(forwardedFor === undefined ? {} : { 'x-forwarded-for': forwardedFor }),
    },
  });

/** A clock the test moves by hand: the limiter's windows follow it. */
const testClock = () => {
  let now = Date.now();
  return { now: () => new Date(now), advance: (ms: number) => (now += ms) };
};

describe.each(DIALECTS)('the auth-failure lockout on %s', (dialect) => {
  let r: TestRegistry;
  const apps: FastifyInstance[] = [];
  const app = async (options: Partial<AppOptions> = {}): Promise<FastifyInstance> => {
    const built = await buildApp({ storage: r.storage, authRateLimit: { ...LIMITS, failureDelayMs: 0 }, ...options });
    apps.push(built);
    return built;
  };

  beforeAll(async () => {
    r = await openTestRegistry(dialect);
  });
  afterEach(() => vi.useRealTimers());
  afterAll(async () => {
    for (const built of apps) await built.close();
    await r.close();
  });

  it('refuses unauthenticated attempts from a blocked address at once, and still serves every valid key there', async () => {
    const served = await app();
    // A missing key is no guess and does not count; wrong and malformed keys do.
    expect((await get(served, undefined, '10.9.0.1')).statusCode).toBe(401);
    for (let i = 0; i < LIMITS.maxFailuresPerAddress; i += 1) {
      const key = i % 2 === 0 ? generateApiKey() : 'not a bearer token';
      expect((await get(served, key, '10.9.0.1')).statusCode).toBe(401);
    }
    const blocked = await get(served, undefined, '10.9.0.1');
    expect(blocked.statusCode).toBe(429);
    expect(Number(blocked.headers['retry-after'])).toBeGreaterThan(0);
    expect(blocked.json()).toMatchObject({ error: { code: 'too_many_auth_failures' } });
    expect((await get(served, 'not a bearer token', '10.9.0.1')).statusCode).toBe(429);

    // Keys that work are never refused by the lockout: one seen before, and one this server never saw.
    expect((await get(served, r.keys.viewer, '10.9.0.1')).statusCode).toBe(200);
    const fresh = await addKey(r.storage, r.projectId, 'editor', generateApiKey(), 'fresh-editor');
    expect((await get(served, fresh, '10.9.0.1')).statusCode).toBe(200);
    // A wrong key there is still refused, and another address is not blocked.
    expect((await get(served, generateApiKey(), '10.9.0.1')).statusCode).toBe(429);
    expect((await get(served, generateApiKey(), '10.9.0.2')).statusCode).toBe(401);
  });

  it('slows brute force from a blocked address: a wrong key waits out the delay, a valid key does not', async () => {
    const served = await app({ authRateLimit: { ...LIMITS, failureDelayMs: 30_000 } });
    for (let i = 0; i < LIMITS.maxFailuresPerAddress; i += 1) {
      expect((await get(served, generateApiKey(), '10.9.1.1')).statusCode).toBe(401);
    }
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    let answered = false;
    const guess = get(served, generateApiKey(), '10.9.1.1').then((response) => {
      answered = true;
      return response;
    });
    // The valid key is answered while the guess is still held.
    expect((await get(served, r.keys.viewer, '10.9.1.1')).statusCode).toBe(200);
    expect(answered).toBe(false);
    for (let turns = 0; !answered && turns < 100; turns += 1) await vi.advanceTimersByTimeAsync(1_000);
    const response = await guess;
    expect(response.statusCode).toBe(429);
    expect(response.json()).toMatchObject({ error: { code: 'too_many_auth_failures' } });
  });

  it('blocks a key id that keeps failing without looking it up, and lifts every block when the window ends', async () => {
    const clock = testClock();
    const served = await app({ clock });
    const wrong = generateApiKey();
    for (let i = 0; i < LIMITS.maxFailuresPerKey; i += 1) {
      expect((await get(served, wrong, `10.9.2.${i}`)).statusCode).toBe(401);
    }
    const lookups = vi.spyOn(r.storage.access, 'findKeyForAuth');
    expect((await get(served, wrong, '10.9.2.99')).statusCode).toBe(429);
    expect(lookups).not.toHaveBeenCalled();
    lookups.mockRestore();
    expect((await get(served, r.keys.editor, '10.9.2.99')).statusCode).toBe(200);

    clock.advance(LIMITS.windowMs);
    expect((await get(served, wrong, '10.9.2.99')).statusCode).toBe(401);
  });

  it('counts the client behind a trusted proxy, not the proxy, and ignores X-Forwarded-For from anyone else', async () => {
    const proxy = '10.0.0.1';
    for (const trustProxy of [[proxy], 1, true] as const) {
      const served = await app({ trustProxy });
      for (let i = 0; i < LIMITS.maxFailuresPerAddress; i += 1) {
        expect((await get(served, generateApiKey(), proxy, '203.0.113.1')).statusCode).toBe(401);
      }
      expect((await get(served, undefined, proxy, '203.0.113.1')).statusCode).toBe(429);
      // Another client through the same proxy is not locked out.
      expect((await get(served, generateApiKey(), proxy, '203.0.113.2')).statusCode).toBe(401);
    }

    // Untrusted: every client through the proxy is one address, and a direct client cannot pick its own.
    const direct = await app({ trustProxy: [proxy] });
    for (let i = 0; i < LIMITS.maxFailuresPerAddress; i += 1) {
      expect((await get(direct, generateApiKey(), '198.51.100.7', `203.0.113.${10 + i}`)).statusCode).toBe(401);
    }
    expect((await get(direct, undefined, '198.51.100.7', '203.0.113.99')).statusCode).toBe(429);
  });
});

describe('parseTrustProxy', () => {
  it('reads true/false, a hop count and a list of addresses or CIDRs', () => {
    expect(parseTrustProxy('true', '--trust-proxy')).toBe(true);
    expect(parseTrustProxy('false', '--trust-proxy')).toBe(false);
    expect(parseTrustProxy('', '--trust-proxy')).toBe(false);
    expect(parseTrustProxy('2', '--trust-proxy')).toBe(2);
    expect(parseTrustProxy(' 10.0.0.1, 10.1.0.0/16 ,::1,fd00::/8,loopback', '--trust-proxy')).toEqual([
      '10.0.0.1',
      '10.1.0.0/16',
      '::1',
      'fd00::/8',
      'loopback',
    ]);
  });

  it('refuses anything else, naming the setting, the value and the accepted forms', () => {
    for (const bad of ['10.0.0.300', '10.0.0.0/33', 'proxy.internal', '-1', 'yes', '10.0.0.1,,']) {
      expect(() => parseTrustProxy(bad, 'PROMPTOPS_TRUST_PROXY')).toThrow(
        expect.objectContaining({
          code: 'invalid_trust_proxy',
          message: expect.stringContaining('PROMPTOPS_TRUST_PROXY'),
          fix: expect.stringMatching(/true.*hop.*CIDR/s),
        }),
      );
    }
  });
});
