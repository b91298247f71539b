import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { AuthFailureLimiter } from '../src/auth/rate-limit.js';
import { generateApiKey, hashApiKey, keyIdOf } from '../src/auth/keys.js';
import { buildApp } from '../src/app/app.js';
import { call } from './support/http.js';
import { DIALECTS, openTestRegistry, type TestRegistry } from './support/registry.js';

/** Every substring of `secret` of `length` characters that is not part of the documented `po_` prefix. */
const secretParts = (secret: string, length: number): string[] => {
  const parts: string[] = [];
  for (let i = 0; i + length <= secret.length; i += 1) {
    const part = secret.slice(i, i + length);
    if (!'po_'.includes(part)) parts.push(part);
  }
  return parts;
};

describe('the failure limiter', () => {
  it('blocks a key id or an address after its failures in a window, until the window ends', () => {
    const limiter = new AuthFailureLimiter({ maxFailuresPerKey: 3, maxFailuresPerAddress: 5, windowMs: 10_000 });
    for (let i = 0; i < 3; i += 1) limiter.recordFailure('k1', `10.0.0.${i}`, 1000);
    expect(limiter.retryAfterSeconds('k1', '10.0.0.9', 1000)).toBe(10);
    expect(limiter.retryAfterSeconds('k2', '10.0.0.9', 1000)).toBe(0);
    expect(limiter.retryAfterSeconds('k1', '10.0.0.9', 10_999)).toBe(1);
    expect(limiter.retryAfterSeconds('k1', '10.0.0.9', 11_000)).toBe(0);
    for (let i = 0; i < 5; i += 1) limiter.recordFailure(`x${i}`, '10.0.0.7', 20_000);
    expect(limiter.retryAfterSeconds(null, '10.0.0.7', 20_000)).toBe(10);
    expect(limiter.retryAfterSeconds(null, '10.0.0.8', 20_000)).toBe(0);
  });

  it('stays bounded: the oldest windows go first', () => {
    const limiter = new AuthFailureLimiter({ maxFailuresPerAddress: 1, maxEntries: 100, windowMs: 60_000 });
    for (let i = 0; i < 1000; i += 1) limiter.recordFailure(null, `a${i}`, i);
    expect(limiter.retryAfterSeconds(null, 'a999', 1000)).toBeGreaterThan(0);
    expect(limiter.retryAfterSeconds(null, 'a0', 1000)).toBe(0);
  });
});

for (const dialect of DIALECTS)
  describe(`failed authentication on ${dialect}`, () => {
    let r: TestRegistry;
    let app: FastifyInstance;
    const lines: string[] = [];

    beforeAll(async () => {
      r = await openTestRegistry(dialect);
      app = await buildApp({
        storage: r.storage,
        logger: { level: 'info', stream: { write: (line: string) => void lines.push(line) } },
        // No delay before a blocked address's 429: test/security/auth-lockout.test.ts covers it.
        authRateLimit: { maxFailuresPerKey: 3, maxFailuresPerAddress: 6, windowMs: 60_000, failureDelayMs: 0 },
      });
    });
    afterAll(async () => {
      await app.close();
      await r.close();
    });

    it('a guessed key is refused 429 with Retry-After after 3 failures; other keys and addresses are unaffected', async () => {
      const guess = generateApiKey();
      for (let i = 0; i < 3; i += 1) {
        expect(
          (await call(app, 'GET', '/api/v1/prompts', guess, undefined, { remoteAddress: `10.1.0.${i}` })).status,
        ).toBe(401);
      }
      const limited = await call(app, 'GET', '/api/v1/prompts', guess, undefined, { remoteAddress: '10.1.0.99' });
      expect(limited.status).toBe(429);
      expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
      expect(Number(limited.headers['retry-after'])).toBeLessThanOrEqual(60);
      expect(limited.body).toMatchObject({ error: { code: 'too_many_auth_failures' } });
      // Another key from the same addresses works.
      expect(
        (await call(app, 'GET', '/api/v1/prompts', r.keys.viewer, undefined, { remoteAddress: '10.1.0.1' })).status,
      ).toBe(200);
    });

    it('an address guessing many keys is refused 429, but never a valid key; other addresses are not', async () => {
      for (let i = 0; i < 6; i += 1) {
        const reply = await call(app, 'GET', '/api/v1/prompts', generateApiKey(), undefined, {
          remoteAddress: '10.2.0.1',
        });
        expect(reply.status).toBe(401);
      }
      expect(
        (await call(app, 'GET', '/api/v1/prompts', generateApiKey(), undefined, { remoteAddress: '10.2.0.1' })).status,
      ).toBe(429);
      const valid = await call(app, 'GET', '/api/v1/prompts', r.keys.viewer, undefined, { remoteAddress: '10.2.0.1' });
      expect(valid.status).toBe(200);
      expect(
        (await call(app, 'GET', '/api/v1/prompts', r.keys.viewer, undefined, { remoteAddress: '10.2.0.2' })).status,
      ).toBe(200);
    });

    it('successes do not count: many good requests from one address stay 200', async () => {
      for (let i = 0; i < 20; i += 1) {
        expect(
          (await call(app, 'GET', '/api/v1/me', r.keys.editor, undefined, { remoteAddress: '10.3.0.1' })).status,
        ).toBe(200);
      }
    });

    it('each failure is logged with the key id and address, never any part of the key', async () => {
      lines.length = 0;
      const secret = generateApiKey();
      expect((await call(app, 'GET', '/api/v1/audit', secret, undefined, { remoteAddress: '10.4.0.1' })).status).toBe(
        401,
      );
      const malformed = `Token ${secret}`;
      const response = await app.inject({
        method: 'GET',
        url: '/api/v1/audit',
        headers: { authorization: malformed },
        remoteAddress: '10.4.0.2',
      });
      expect(response.statusCode).toBe(401);
      const failures = lines
        .map((line) => JSON.parse(line) as Record<string, unknown>)
        .filter((l) => l['auth'] !== undefined);
      expect(failures).toEqual([
        expect.objectContaining({
          auth: 'unknown',
          keyId: keyIdOf(hashApiKey(secret)),
          address: '10.4.0.1',
          msg: 'authentication failed',
        }),
        expect.objectContaining({ auth: 'malformed', keyId: null, address: '10.4.0.2' }),
      ]);
      const log = lines.join('');
      expect(log.length).toBeGreaterThan(0);
      for (const part of secretParts(secret, 6)) expect(log).not.toContain(part);
      expect(log).not.toContain('authorization');
    });
  });
