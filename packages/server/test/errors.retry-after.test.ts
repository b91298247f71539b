import { PromptopsError } from '@promptops/core';
import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorHandler } from '../src/request/errors.js';

/** The error handler answers each kind with its catalogue status; rate-limited and unavailable say when to retry. */
describe('error answers and Retry-After', () => {
  const app = Fastify();
  beforeAll(async () => {
    app.setErrorHandler(errorHandler);
    app.get('/limited', async () => {
      throw new PromptopsError('rate_limited', 'too_many_writes', 'too many writes with this key', {
        details: { retryAfterSeconds: 7 },
      });
    });
    app.get('/unavailable', async () => {
      throw new PromptopsError('unavailable', 'unavailable', 'the trace writer failed');
    });
    app.get('/conflict', async () => {
      throw new PromptopsError('conflict', 'stale_parent', 'the head moved');
    });
    await app.ready();
  });
  afterAll(() => app.close());

  it('answers a rate-limited error 429 with the Retry-After its details name', async () => {
    const response = await app.inject({ method: 'GET', url: '/limited' });
    expect(response.statusCode).toBe(429);
    expect(response.headers['retry-after']).toBe('7');
    expect(response.json()).toMatchObject({ error: { code: 'too_many_writes', details: { retryAfterSeconds: 7 } } });
  });

  it('answers an unavailable error 503 with a Retry-After even when it names none', async () => {
    const response = await app.inject({ method: 'GET', url: '/unavailable' });
    expect(response.statusCode).toBe(503);
    expect(response.headers['retry-after']).toBe('1');
  });

  it('sends no Retry-After with other kinds', async () => {
    const response = await app.inject({ method: 'GET', url: '/conflict' });
    expect(response.statusCode).toBe(409);
    expect(response.headers['retry-after']).toBeUndefined();
  });
});
