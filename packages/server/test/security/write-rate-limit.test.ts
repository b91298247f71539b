import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app/app.js';
import { WriteRateLimiter } from '../../src/auth/write-limit.js';
import { call } from '../support/http.js';
import { DIALECTS, openTestRegistry, textContent, type TestRegistry } from '../support/registry.js';
import { traceEvent } from '../support/traces.js';

/**
 * Authenticated writes (pushes, label moves, change requests, keys, policies…) are limited per key: past
 * the limit the key gets 429 `too_many_writes` with `Retry-After` in the server's error shape, while its
 * reads, other keys and trace ingestion (which has its own gate) go on.
 */

const LIMIT = { maxWrites: 4, windowMs: 60_000 };

const testClock = () => {
  let now = Date.now();
  return { now: () => new Date(now), advance: (ms: number) => (now += ms) };
};

describe('the write limiter', () => {
  it('counts per key in fixed windows and says how long until the window ends', () => {
    const limiter = new WriteRateLimiter({ maxWrites: 2, windowMs: 10_000 });
    expect(limiter.take('k1', 1_000)).toBe(0);
    expect(limiter.take('k1', 2_000)).toBe(0);
    expect(limiter.take('k1', 2_500)).toBe(9);
    expect(limiter.take('k2', 2_500)).toBe(0);
    expect(limiter.take('k1', 10_999)).toBe(1);
    expect(limiter.take('k1', 11_000)).toBe(0);
  });

  it('refuses a limit that is not a positive integer, naming it', () => {
    expect(() => new WriteRateLimiter({ maxWrites: 0 })).toThrow(/maxWrites/);
    expect(() => new WriteRateLimiter({ windowMs: Number.NaN })).toThrow(/windowMs/);
  });
});

describe.each(DIALECTS)('per-key write limits on %s', (dialect) => {
  let r: TestRegistry;
  let app: FastifyInstance;
  const clock = testClock();

  beforeAll(async () => {
    r = await openTestRegistry(dialect);
    app = await buildApp({ storage: r.storage, clock, writeRateLimit: LIMIT });
  });
  afterAll(async () => {
    await app.close();
    await r.close();
  });

  it('answers the write past the limit 429 with Retry-After; reads, other keys and ingestion go on', async () => {
    const admin = r.keys.admin;
    const pushed = await call(app, 'POST', '/api/v1/prompts/limited/versions', admin, {
      content: textContent('limited', 'Hello'),
      parent: null,
    });
    expect(pushed.status).toBe(201);
    const sha = (pushed.body as { sha: string }).sha;
    expect((await call(app, 'PUT', '/api/v1/prompts/limited/labels/staging', admin, { ref: sha })).status).toBe(200);
    expect((await call(app, 'POST', '/api/v1/keys', admin, { name: 'ci', role: 'editor' })).status).toBe(201);
    expect((await call(app, 'PUT', '/api/v1/teams/core', admin, { members: [] })).status).toBeLessThan(300);

    const refused = await call(app, 'POST', '/api/v1/reviews', admin, {
      name: 'limited',
      ref: sha,
      label: 'production',
      message: 'ship it',
    });
    expect(refused.status).toBe(429);
    const retryAfter = Number(refused.headers['retry-after']);
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(refused.body).toEqual({
      error: {
        code: 'too_many_writes',
        message: expect.stringMatching(/too many writes with this key: at most 4 per 60 s/),
        fix: expect.stringContaining(`wait ${retryAfter} s`),
        details: { retryAfterSeconds: retryAfter, maxWrites: 4, windowSeconds: 60 },
      },
    });
    // Nothing was written by the refused request.
    expect(
      ((await call(app, 'GET', '/api/v1/reviews', admin)).body as { changeRequests: unknown[] }).changeRequests,
    ).toHaveLength(0);

    expect((await call(app, 'GET', '/api/v1/prompts', admin)).status).toBe(200);
    expect((await call(app, 'GET', '/api/v1/audit', admin)).status).toBe(200);
    expect(
      (
        await call(app, 'POST', '/api/v1/prompts/other/versions', r.keys.editor, {
          content: textContent('other', 'Hi'),
          parent: null,
        })
      ).status,
    ).toBe(201);
    for (let i = 0; i < LIMIT.maxWrites + 2; i += 1) {
      const ingested = await call(app, 'POST', '/api/v1/ingest', r.keys.editor, {
        events: [traceEvent(`limit-${i}`)],
      });
      expect(ingested.status).toBe(200);
    }

    clock.advance(LIMIT.windowMs);
    const later = await call(app, 'POST', '/api/v1/reviews', admin, {
      name: 'limited',
      ref: sha,
      label: 'production',
      message: 'ship it',
    });
    expect(later.status).toBe(201);
  });

  it('is generous by default and can be turned off', async () => {
    const defaults = await buildApp({ storage: r.storage });
    const off = await buildApp({ storage: r.storage, writeRateLimit: false });
    try {
      for (const served of [defaults, off]) {
        for (let i = 0; i < 30; i += 1) {
          const moved = await call(served, 'PUT', '/api/v1/teams/many', r.keys.admin, { members: [] });
          expect(moved.status).toBeLessThan(300);
        }
      }
    } finally {
      await defaults.close();
      await off.close();
    }
  });
});
