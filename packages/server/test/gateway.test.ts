import type { AddressInfo } from 'node:net';
import OpenAI from 'openai';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../src/app/app.js';
import { startFakeUpstream, type FakeUpstream } from './support/fake-upstream.js';
import { call } from './support/http.js';
import { DIALECTS, openTestRegistry, type TestRegistry } from './support/registry.js';

/**
 * The gateway (`POST /v1/chat/completions`) driven by the official `openai` client, against a local fake
 * upstream speaking OpenAI's protocol: answers, streams, upstream errors passed through (and retried by
 * the client), the gateway's own errors in OpenAI's shape, and the traces it records, on both databases.
 */

const UPSTREAM_KEY = 'sk-upstream-secret';

const greeter = {
  name: 'greeter',
  type: 'chat',
  messages: [{ role: 'system', content: 'You greet {{user_name}} warmly.' }],
  config: { provider: 'openai', model: 'gpt-4o-mini', params: { temperature: 0.2, max_tokens: 50 } },
  variables: { user_name: { type: 'string', required: true } },
  slots: {},
};

/** Text of a raw answer and its headers, for what the client hides (bytes, headers). */
const raw = async (url: string, init: RequestInit): Promise<{ status: number; text: string; headers: Headers }> => {
  const response = await fetch(url, init);
  return { status: response.status, text: await response.text(), headers: response.headers };
};

for (const dialect of DIALECTS)
  describe(`gateway with the openai client on ${dialect}`, () => {
    let registry: TestRegistry;
    let upstream: FakeUpstream;
    let app: FastifyInstance;
    let base: string;
    let client: OpenAI;

    const extra = (variables: Record<string, unknown>) => ({ promptops: { variables } }) as Record<string, unknown>;

    beforeAll(async () => {
      registry = await openTestRegistry(dialect);
      upstream = await startFakeUpstream();
      app = await buildApp({
        storage: registry.storage,
        gateway: {
          config: {
            providers: {
              openai: { baseURL: `${upstream.url}/v1`, apiKeyEnv: 'TEST_UPSTREAM_KEY' },
              nokey: { baseURL: `${upstream.url}/v1`, apiKeyEnv: 'TEST_UNSET_KEY' },
              down: { baseURL: 'http://127.0.0.1:9/v1' },
            },
          },
          source: 'test-gateway.yaml',
          env: { TEST_UPSTREAM_KEY: UPSTREAM_KEY },
        },
      });
      await app.listen({ host: '127.0.0.1', port: 0 });
      base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
      client = new OpenAI({ apiKey: registry.keys.editor, baseURL: `${base}/v1`, maxRetries: 0 });
      const admin = registry.keys.admin;
      const push = async (content: Record<string, unknown>) => {
        const pushed = await call(registry.app, 'POST', `/api/v1/prompts/${String(content['name'])}/versions`, admin, {
          content,
          parent: null,
          message: 'first',
        });
        expect(pushed.status).toBe(201);
        const moved = await call(
          registry.app,
          'PUT',
          `/api/v1/prompts/${String(content['name'])}/labels/production`,
          admin,
          { ref: 'v1' },
        );
        expect(moved.status).toBe(200);
      };
      await push(greeter);
      await push({ ...greeter, name: 'offline', config: { provider: 'simulated', params: {} } });
      await push({ ...greeter, name: 'unlisted', config: { provider: 'acme', model: 'x', params: {} } });
      await push({ ...greeter, name: 'keyless', config: { provider: 'nokey', model: 'x', params: {} } });
      await push({ ...greeter, name: 'unreachable', config: { provider: 'down', model: 'x', params: {} } });
    });

    afterAll(async () => {
      await app?.close();
      await upstream?.close();
      await registry?.close();
    });

    it('answers a chat completion: the prompt rendered first, its params under the request, the server key upstream', async () => {
      const { data, response } = await client.chat.completions
        .create({
          model: 'prompt:greeter',
          messages: [{ role: 'user', content: 'hi there' }],
          temperature: 0.9,
          ...extra({ user_name: 'Ada' }),
        })
        .withResponse();
      expect(data.choices[0]?.message.content).toBe('echo: hi there');
      expect(data.usage?.completion_tokens).toBe(7);
      const sent = upstream.requests.at(-1)!;
      expect(sent.headers.authorization).toBe(`Bearer ${UPSTREAM_KEY}`);
      expect(sent.body).toEqual({
        model: 'gpt-4o-mini',
        temperature: 0.9,
        max_tokens: 50,
        messages: [
          { role: 'system', content: 'You greet Ada warmly.' },
          { role: 'user', content: 'hi there' },
        ],
      });
      expect(response.headers.get('x-promptops-version')).toBe('1');
      expect(response.headers.get('x-promptops-sha')).toMatch(/^[0-9a-f]{64}$/);
      expect(response.headers.get('x-promptops-arm')).toBe('base');
      expect(response.headers.get('x-promptops-rollout')).toBeNull();
      expect(Number(response.headers.get('x-promptops-overhead-ms'))).toBeGreaterThanOrEqual(0);
      expect(response.headers.get('x-request-id')).toBe('req_fake');
    });

    it('streams: the client reads the chunks, and the bytes are the upstream stream unchanged', async () => {
      const stream = await client.chat.completions.create({
        model: 'prompt:greeter@production',
        messages: [{ role: 'user', content: 'stream me' }],
        stream: true,
        ...extra({ user_name: 'Ada' }),
      });
      let text = '';
      for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
      expect(text).toBe('echo: stream me');

      const body = {
        model: 'prompt:greeter',
        stream: true,
        messages: [{ role: 'user', content: 'bytes' }],
        promptops: { variables: { user_name: 'Ada' } },
      };
      const through = await raw(`${base}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${registry.keys.editor}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      const direct = await raw(`${upstream.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(upstream.requests.at(-1)!.body),
      });
      expect(through.headers.get('content-type')).toBe('text/event-stream');
      expect(through.text).toBe(direct.text);
      expect(through.text.endsWith('data: [DONE]\n\n')).toBe(true);
    });

    it('passes an upstream 429 through with its status and body; the client retries it', async () => {
      const limited = {
        error: {
          message: 'Rate limit reached for requests',
          type: 'requests',
          param: null,
          code: 'rate_limit_exceeded',
        },
      };
      upstream.script.push({ status: 429, body: limited, headers: { 'retry-after-ms': '1' } });
      const failed = await client.chat.completions
        .create({ model: 'prompt:greeter', messages: [], ...extra({ user_name: 'Ada' }) })
        .catch((error: unknown) => error);
      expect(failed).toBeInstanceOf(OpenAI.RateLimitError);
      expect((failed as OpenAI.APIError).status).toBe(429);
      expect((failed as OpenAI.APIError).error).toEqual(limited.error);
      expect((failed as OpenAI.APIError).code).toBe('rate_limit_exceeded');

      const before = upstream.requests.length;
      upstream.script.push({ status: 429, body: limited, headers: { 'retry-after-ms': '1' } });
      const retrying = new OpenAI({ apiKey: registry.keys.editor, baseURL: `${base}/v1`, maxRetries: 2 });
      const answer = await retrying.chat.completions.create({
        model: 'prompt:greeter',
        messages: [{ role: 'user', content: 'again' }],
        ...extra({ user_name: 'Ada' }),
      });
      expect(answer.choices[0]?.message.content).toBe('echo: again');
      expect(upstream.requests.length - before).toBe(2);
    });

    it('passes an upstream 500 through; the client retries it', async () => {
      const broken = { error: { message: 'The server had an error', type: 'server_error', param: null, code: null } };
      upstream.script.push({ status: 500, body: broken, headers: { 'retry-after-ms': '1' } });
      const failed = await client.chat.completions
        .create({ model: 'prompt:greeter', messages: [], ...extra({ user_name: 'Ada' }) })
        .catch((error: unknown) => error);
      expect(failed).toBeInstanceOf(OpenAI.InternalServerError);
      expect((failed as OpenAI.APIError).error).toEqual(broken.error);

      upstream.script.push({ status: 500, body: broken, headers: { 'retry-after-ms': '1' } });
      const retrying = new OpenAI({ apiKey: registry.keys.editor, baseURL: `${base}/v1`, maxRetries: 2 });
      const answer = await retrying.chat.completions.create({
        model: 'prompt:greeter',
        messages: [{ role: 'user', content: 'after 500' }],
        ...extra({ user_name: 'Ada' }),
      });
      expect(answer.choices[0]?.message.content).toBe('echo: after 500');
    });

    it('answers a missing prompt with a 404 in OpenAI error shape', async () => {
      const failed = (await client.chat.completions
        .create({ model: 'prompt:greetr', messages: [] })
        .catch((error: unknown) => error)) as OpenAI.APIError;
      expect(failed).toBeInstanceOf(OpenAI.NotFoundError);
      expect(failed.code).toBe('prompt_not_found');
      expect(failed.type).toBe('invalid_request_error');
      expect(failed.message).toMatch(/prompt 'greetr' does not exist/);
      const body = await raw(`${base}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${registry.keys.editor}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'prompt:greeter@staging', messages: [] }),
      });
      expect(body.status).toBe(404);
      const error = (JSON.parse(body.text) as { error: Record<string, unknown> }).error;
      expect(error).toMatchObject({ type: 'invalid_request_error', param: null, code: 'label_not_found' });
      expect(error['message']).toMatch(/no label 'staging'/);
    });

    it('answers missing variables with a 400 naming them', async () => {
      const failed = (await client.chat.completions
        .create({ model: 'prompt:greeter', messages: [{ role: 'user', content: 'hi' }] })
        .catch((error: unknown) => error)) as OpenAI.APIError;
      expect(failed).toBeInstanceOf(OpenAI.BadRequestError);
      expect(failed.code).toBe('invalid_variables');
      expect(failed.message).toMatch(/\{\{user_name\}\} is required/);
    });

    it('refuses malformed bodies in OpenAI error shape, naming the field', async () => {
      const post = (body: string, headers: Record<string, string> = {}) =>
        raw(`${base}/v1/chat/completions`, {
          method: 'POST',
          headers: { authorization: `Bearer ${registry.keys.editor}`, 'content-type': 'application/json', ...headers },
          body,
        });
      const cases: [string, Record<string, string>, string, string | null][] = [
        ['{"model": ', {}, 'invalid_json', null],
        ['[1, 2]', {}, 'invalid_request', 'body'],
        ['{"model": "gpt-4o", "messages": []}', {}, 'invalid_request', 'model'],
        ['{"model": "prompt:greeter", "messages": "hi"}', {}, 'invalid_request', 'messages'],
        ['{"model": "prompt:greeter", "messages": [{"content": "no role"}]}', {}, 'invalid_request', 'messages[0]'],
        ['{"model": "prompt:greeter", "stream": "yes"}', {}, 'invalid_request', 'stream'],
        ['{"model": "prompt:greeter", "promptops": {"vars": {}}}', {}, 'invalid_request', 'promptops.vars'],
        [
          '{"model": "prompt:greeter"}',
          { 'x-promptops-variables': '{not json' },
          'invalid_request',
          'headers.x-promptops-variables',
        ],
        ['{"model": "prompt:greeter", "user": 42}', {}, 'invalid_request', 'user'],
      ];
      for (const [body, headers, code, param] of cases) {
        const answer = await post(body, headers);
        expect(answer.status, body).toBe(400);
        const error = (JSON.parse(answer.text) as { error: Record<string, unknown> }).error;
        expect(error, body).toMatchObject({ type: 'invalid_request_error', code, param });
        expect(typeof error['message'], body).toBe('string');
      }
    });

    it('takes the prompt, variables and unit from headers', async () => {
      const answer = await raw(`${base}/v1/chat/completions`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${registry.keys.editor}`,
          'content-type': 'application/json',
          'x-promptops-prompt': 'greeter@v1',
          'x-promptops-variables': JSON.stringify({ user_name: 'Grace' }),
          'x-promptops-unit': 'user-7',
        },
        body: JSON.stringify({ model: 'anything', messages: [{ role: 'user', content: 'via headers' }] }),
      });
      expect(answer.status).toBe(200);
      expect(answer.headers.get('x-promptops-version')).toBe('1');
      expect(upstream.requests.at(-1)!.body['messages']).toEqual([
        { role: 'system', content: 'You greet Grace warmly.' },
        { role: 'user', content: 'via headers' },
      ]);
    });

    it('runs the simulated provider offline', async () => {
      const before = upstream.requests.length;
      const answer = await client.chat.completions.create({
        model: 'prompt:offline',
        messages: [{ role: 'user', content: 'where is my order?' }],
        ...extra({ user_name: 'Ada' }),
      });
      expect(answer.model).toBe('simulated-1');
      expect(answer.choices[0]?.message.content).toContain('where is my order?');
      const stream = await client.chat.completions.create({
        model: 'prompt:offline',
        messages: [{ role: 'user', content: 'stream it' }],
        stream: true,
        ...extra({ user_name: 'Ada' }),
      });
      let text = '';
      for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
      expect(text).toContain('stream it');
      expect(upstream.requests.length).toBe(before);
    });

    it('names the config when a provider is not configured or its key is unset, and 503s an unreachable one', async () => {
      const unlisted = (await client.chat.completions
        .create({ model: 'prompt:unlisted', messages: [], ...extra({ user_name: 'Ada' }) })
        .catch((error: unknown) => error)) as OpenAI.APIError;
      expect(unlisted.status).toBe(400);
      expect(unlisted.code).toBe('gateway_provider_unconfigured');
      expect(unlisted.message).toMatch(/provider 'acme' is not in the gateway config \(test-gateway\.yaml/);
      const keyless = (await client.chat.completions
        .create({ model: 'prompt:keyless', messages: [], ...extra({ user_name: 'Ada' }) })
        .catch((error: unknown) => error)) as OpenAI.APIError;
      expect(keyless.status).toBe(400);
      expect(keyless.message).toMatch(/TEST_UNSET_KEY/);
      const down = (await client.chat.completions
        .create({ model: 'prompt:unreachable', messages: [], ...extra({ user_name: 'Ada' }) })
        .catch((error: unknown) => error)) as OpenAI.APIError;
      expect(down.status).toBe(503);
      expect(down.code).toBe('upstream_unreachable');
    });

    it('authenticates with a promptops key: none is 401, a viewer 403, both in OpenAI shape', async () => {
      const anonymous = new OpenAI({ apiKey: 'po_not_a_key', baseURL: `${base}/v1`, maxRetries: 0 });
      const refused = (await anonymous.chat.completions
        .create({ model: 'prompt:greeter', messages: [] })
        .catch((error: unknown) => error)) as OpenAI.APIError;
      expect(refused).toBeInstanceOf(OpenAI.AuthenticationError);
      expect(refused.type).toBe('authentication_error');
      const viewer = new OpenAI({ apiKey: registry.keys.viewer, baseURL: `${base}/v1`, maxRetries: 0 });
      const forbidden = (await viewer.chat.completions
        .create({ model: 'prompt:greeter', messages: [] })
        .catch((error: unknown) => error)) as OpenAI.APIError;
      expect(forbidden).toBeInstanceOf(OpenAI.PermissionDeniedError);
      expect(forbidden.code).toBe('forbidden');
    });

    it('records a trace per call: prompt, sha, version, label, tokens, latency, errors', async () => {
      const { response } = await client.chat.completions
        .create({
          model: 'prompt:greeter',
          messages: [{ role: 'user', content: 'trace me' }],
          ...extra({ user_name: 'Ada' }),
        })
        .withResponse();
      const id = response.headers.get('x-promptops-trace-id')!;
      upstream.script.push({ status: 500, body: { error: { message: 'upstream broke', type: 'server_error' } } });
      const failed = (await client.chat.completions
        .create({ model: 'prompt:greeter', messages: [], ...extra({ user_name: 'Ada' }) })
        .withResponse()
        .catch((error: unknown) => error)) as OpenAI.APIError;
      const failedId = failed.headers?.get('x-promptops-trace-id');
      await app.gateway.settle();
      const traces = await call<{ traces: Record<string, unknown>[] }>(
        registry.app,
        'GET',
        '/api/v1/traces?prompt=greeter&limit=200',
        registry.keys.viewer,
      );
      const ok = traces.body.traces.find((trace) => trace['id'] === id);
      expect(ok).toMatchObject({
        prompt: { name: 'greeter', version: 1, sha: response.headers.get('x-promptops-sha') },
        label: 'production',
        output: 'echo: trace me',
        model: 'gpt-4o-mini',
        provider: 'openai',
        usage: { inputTokens: 11, outputTokens: 7 },
        status: 'ok',
        variables: { user_name: 'Ada' },
      });
      expect(ok?.['latencyMs']).toEqual(expect.any(Number));
      const error = traces.body.traces.find((trace) => trace['id'] === failedId);
      expect(error).toMatchObject({
        status: 'error',
        error: expect.stringMatching(/upstream answered 500: upstream broke/),
      });
      expect(app.gateway.stats().traces).toMatchObject({ dropped: 0, failed: 0 });
    });

    it('does not count gateway calls as writes against the write limit', async () => {
      const limited = await buildApp({ storage: registry.storage, writeRateLimit: { maxWrites: 1 } });
      try {
        for (let n = 0; n < 3; n += 1) {
          const answer = await limited.inject({
            method: 'POST',
            url: '/v1/chat/completions',
            headers: { authorization: `Bearer ${registry.keys.editor}` },
            payload: { model: 'prompt:offline', messages: [], promptops: { variables: { user_name: 'Ada' } } },
          });
          expect(answer.statusCode).toBe(200);
        }
      } finally {
        await limited.close();
      }
    });
  });
