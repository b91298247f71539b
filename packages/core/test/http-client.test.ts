import { afterEach, describe, expect, it, vi } from 'vitest';
import { PromptopsError } from '../src/errors.js';
import { ApiError } from '../src/http-error.js';
import { HttpClient, queryString, type HttpInit } from '../src/http-client.js';

interface Call {
  readonly url: string;
  readonly init: HttpInit;
}

/** A fetch that records its calls and answers with `answer` (or never, until aborted). */
const fakeFetch = (answer?: () => Response) => {
  const calls: Call[] = [];
  const fetch = (url: string, init: HttpInit): Promise<Response> => {
    calls.push({ url, init });
    if (answer !== undefined) return Promise.resolve(answer());
    return new Promise((_, reject) => init.signal?.addEventListener('abort', () => reject(init.signal?.reason)));
  };
  return { calls, fetch };
};

const json = (status: number, body: unknown, headers: Record<string, string> = {}): Response =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } });

afterEach(() => {
  vi.useRealTimers();
});

describe('the shared HTTP client', () => {
  it('sends the key, JSON and the query under the base URL, and parses the JSON answer', async () => {
    const { calls, fetch } = fakeFetch(() => json(200, { ok: true }));
    const client = new HttpClient({ baseUrl: 'http://h/api/v1', apiKey: 'k1', fetch });
    const answer = await client.json<{ ok: boolean }>('POST', '/x', {
      json: { a: 1, b: undefined },
      query: { suite: ['s1', 's2'], limit: 5, none: undefined },
    });
    expect(answer).toEqual({ ok: true });
    expect(calls).toHaveLength(1);
    expect(calls[0]?.url).toBe('http://h/api/v1/x?suite=s1&suite=s2&limit=5');
    expect(calls[0]?.init).toMatchObject({
      method: 'POST',
      body: '{"a":1}',
      headers: { accept: 'application/json', authorization: 'Bearer k1', 'content-type': 'application/json' },
    });
  });

  it('sends no authorization header without a key, and no body on a GET', async () => {
    const { calls, fetch } = fakeFetch(() => json(200, {}));
    await new HttpClient({ baseUrl: '/api/v1', fetch }).json('GET', '/me');
    expect(calls[0]?.init.headers).toEqual({ accept: 'application/json' });
    expect(calls[0]?.init).not.toHaveProperty('body');
  });

  it('decodes an error answer into an ApiError with the status, code, fix and Retry-After', async () => {
    const body = { error: { code: 'rate_limited', message: 'slow down', fix: 'wait' } };
    const { fetch } = fakeFetch(() => json(429, body, { 'retry-after': '7' }));
    const error = await new HttpClient({ baseUrl: 'http://h', fetch }).json('GET', '/x').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect(error).toMatchObject({
      status: 429,
      code: 'rate_limited',
      message: 'GET /x: slow down',
      fix: 'wait',
      retryAfterSeconds: 7,
    });
  });

  it('lets the caller describe a body that is no promptops error, and replace an error', async () => {
    const { fetch } = fakeFetch(() => new Response('<html>bad gateway</html>', { status: 502 }));
    const client = new HttpClient({
      baseUrl: 'http://h',
      fetch,
      errorContext: (method, path, status) => ({
        fallbackCode: 'http_error',
        fallbackMessage: `${method} ${path} got ${status}`,
      }),
      onError: (error) => new ApiError(error.status, error.code, error.message, { fix: 'a better fix' }),
    });
    await expect(client.json('GET', '/x')).rejects.toMatchObject({
      code: 'http_error',
      message: 'GET /x got 502',
      fix: 'a better fix',
    });
  });

  it('reports an answer that is not JSON as invalid_response', async () => {
    const { fetch } = fakeFetch(() => new Response('hello', { status: 200 }));
    await expect(new HttpClient({ baseUrl: 'http://h', fetch }).json('GET', '/x')).rejects.toMatchObject({
      code: 'invalid_response',
    });
  });

  it('turns a request that got no answer into server_unreachable, with the socket error code', async () => {
    const fetch = () =>
      Promise.reject(
        new TypeError('fetch failed', { cause: Object.assign(new Error('refused'), { code: 'ECONNREFUSED' }) }),
      );
    const error = await new HttpClient({ baseUrl: 'http://h', fetch }).json('GET', '/x').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PromptopsError);
    expect(error).toMatchObject({ code: 'server_unreachable', details: { cause: 'ECONNREFUSED' } });
    expect((error as Error).message).toContain('refused');
  });

  it('times a request out as server_timeout, or as the noAnswer option says', async () => {
    vi.useFakeTimers();
    const { fetch } = fakeFetch();
    const pending = new HttpClient({ baseUrl: 'http://h', fetch, timeoutMs: 300 })
      .json('GET', '/x')
      .catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(300);
    expect(await pending).toMatchObject({
      code: 'server_timeout',
      message: 'GET http://h/x did not answer within 300 ms',
    });

    const custom = new HttpClient({
      baseUrl: 'http://h',
      fetch,
      timeoutMs: 1000,
      noAnswer: (failure) => new PromptopsError('internal', 'mine', `after ${failure.timeoutMs} ms`),
    });
    const second = custom.json('GET', '/x', { timeoutMs: 50 }).catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(50);
    expect(await second).toMatchObject({ code: 'mine', message: 'after 50 ms' });
  });

  it("passes the caller's abort through, and its PromptopsError reason as is", async () => {
    const { fetch } = fakeFetch();
    const client = new HttpClient({ baseUrl: 'http://h', fetch, timeoutMs: 60_000 });
    const controller = new AbortController();
    const pending = client.json('GET', '/x', { signal: controller.signal }).catch((e: unknown) => e);
    const reason = new PromptopsError('internal', 'stream_idle', 'quiet');
    controller.abort(reason);
    expect(await pending).toBe(reason);
  });

  it('opens a stream without reading it, and rejects an error answer', async () => {
    const ok = fakeFetch(() => new Response('data: x\n\n', { status: 200 }));
    const response = await new HttpClient({ baseUrl: 'http://h', fetch: ok.fetch }).open('GET', '/stream', {
      headers: { accept: 'text/event-stream' },
    });
    expect(await response.text()).toBe('data: x\n\n');
    expect(ok.calls[0]?.init.headers).toMatchObject({ accept: 'text/event-stream' });
    const refused = fakeFetch(() => json(401, { error: { code: 'unauthorized', message: 'no key' } }));
    await expect(
      new HttpClient({ baseUrl: 'http://h', fetch: refused.fetch }).open('GET', '/stream'),
    ).rejects.toMatchObject({
      status: 401,
      code: 'unauthorized',
    });
  });

  it('builds query strings with repeated keys and without undefined values', () => {
    expect(queryString({})).toBe('');
    expect(queryString({ a: 'x y', b: undefined, c: ['1', '2'] })).toBe('?a=x+y&c=1&c=2');
  });
});
