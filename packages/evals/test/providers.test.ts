import { afterEach, describe, expect, it } from 'vitest';
import type { EvalProviderConfig, RenderedPrompt } from '@promptops/core';
import { ProviderError, costOf, createProvider, retryAfterMs, type ProviderOptions } from '../src/index.js';
import { completion, json, message, startModelServer, type ModelServer } from './support/model-server.js';

const KEY = 'sk-test-0123456789abcdef-secret';
const PROMPT: RenderedPrompt = {
  type: 'chat',
  messages: [
    { role: 'system', content: 'Be brief.' },
    { role: 'user', content: 'Hi' },
  ],
};

let server: ModelServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

/** Sleeps recorded instead of waited, so retry tests take no time and show the delays chosen. */
const harness = (env: Record<string, string>, retry: ProviderOptions['retry'] = {}) => {
  const sleeps: number[] = [];
  const logs: string[] = [];
  const options: ProviderOptions = {
    env,
    retry: { baseDelayMs: 100, maxDelayMs: 1000, ...retry },
    http: {
      sleep: (ms) => {
        sleeps.push(ms);
        return Promise.resolve();
      },
      random: () => 0.5,
    },
  };
  return { sleeps, logs, options };
};

const captureError = async (run: () => Promise<unknown>): Promise<ProviderError> => {
  try {
    await run();
  } catch (error) {
    if (error instanceof ProviderError) return error;
    throw error;
  }
  throw new Error('expected a ProviderError');
};

interface Protocol {
  readonly name: string;
  readonly config: (url: string) => EvalProviderConfig;
  readonly env: Record<string, string>;
  readonly ok: (text: string) => unknown;
  readonly keyHeader: (headers: Record<string, unknown>) => unknown;
}

const PROTOCOLS: Protocol[] = [
  {
    name: 'openai',
    config: (url) => ({ id: 'openai', model: 'gpt-4o-mini', params: { baseUrl: `${url}/v1`, temperature: 0 } }),
    env: { OPENAI_API_KEY: KEY },
    ok: (text) => completion(text),
    keyHeader: (headers) => headers.authorization,
  },
  {
    name: 'anthropic',
    config: (url) => ({ id: 'anthropic', model: 'claude-3-5-haiku-latest', params: { baseUrl: url, temperature: 0 } }),
    env: { ANTHROPIC_API_KEY: KEY },
    ok: (text) => message(text),
    keyHeader: (headers) => headers['x-api-key'],
  },
];

for (const protocol of PROTOCOLS) {
  describe(`${protocol.name} provider against a local server`, () => {
    it('succeeds: sends the model, messages and key; reads output and tokens', async () => {
      server = await startModelServer((_req, _i, res) => json(res, 200, protocol.ok('Hello there')));
      const { options } = harness(protocol.env);
      const provider = createProvider(protocol.config(server.url), options);
      const result = await provider.complete({ prompt: PROMPT, vars: {} });
      expect(result.output).toBe('Hello there');
      expect(result.usage.inputTokens).toBeGreaterThan(0);
      expect(result.latencyMs).toBeGreaterThanOrEqual(0);
      const seen = server.requests[0]!;
      expect(seen.body.model).toBe(protocol.config(server.url).model);
      expect(seen.body.temperature).toBe(0);
      expect(seen.body).not.toHaveProperty('baseUrl');
      if (protocol.name === 'openai') {
        expect(seen.url).toBe('/v1/chat/completions');
        expect(protocol.keyHeader(seen.headers)).toBe(`Bearer ${KEY}`);
        expect(seen.body.messages).toEqual(PROMPT.type === 'chat' ? PROMPT.messages : []);
      } else {
        expect(seen.url).toBe('/v1/messages');
        expect(protocol.keyHeader(seen.headers)).toBe(KEY);
        expect(seen.headers['anthropic-version']).toBe('2023-06-01');
        expect(seen.body.system).toBe('Be brief.');
        expect(seen.body.messages).toEqual([{ role: 'user', content: 'Hi' }]);
        expect(seen.body.max_tokens).toBe(1024);
      }
      expect(costOf(provider.config, result.usage)).toBeGreaterThan(0);
    });

    it('429 with Retry-After: waits as told, then succeeds', async () => {
      server = await startModelServer((_req, index, res) =>
        index === 0
          ? json(res, 429, { error: { message: 'rate limited' } }, { 'retry-after': '2' })
          : json(res, 200, protocol.ok('after the wait')),
      );
      const { options, sleeps } = harness(protocol.env);
      const result = await createProvider(protocol.config(server.url), options).complete({ prompt: PROMPT, vars: {} });
      expect(result.output).toBe('after the wait');
      expect(server.requests).toHaveLength(2);
      expect(sleeps).toEqual([2000]);
    });

    it('500: retries with jittered exponential backoff, then reports the status without the key', async () => {
      // The server echoes the key back, as a careless proxy might: it must not reach the error.
      server = await startModelServer((req, _i, res) =>
        json(res, 500, { error: `internal error for ${String(protocol.keyHeader(req.headers))}` }),
      );
      const { options, sleeps } = harness(protocol.env, { maxRetries: 3 });
      const error = await captureError(() =>
        createProvider(protocol.config(server!.url), options).complete({ prompt: PROMPT, vars: {} }),
      );
      expect(server.requests).toHaveLength(4);
      expect(sleeps).toEqual([50, 100, 200]); // random 0.5 * 100 * 2^n
      expect(error.status).toBe(500);
      expect(error.message).toContain('HTTP 500');
      expect(error.message).toContain('[redacted]');
      expect(error.message).not.toContain(KEY);
      expect(String(error.stack)).not.toContain(KEY);
      expect(JSON.stringify(error)).not.toContain(KEY);
    });

    it('500 then success recovers', async () => {
      server = await startModelServer((_req, index, res) =>
        index < 2 ? json(res, 503, 'busy') : json(res, 200, protocol.ok('recovered')),
      );
      const { options } = harness(protocol.env);
      const result = await createProvider(protocol.config(server.url), options).complete({ prompt: PROMPT, vars: {} });
      expect(result.output).toBe('recovered');
      expect(server.requests).toHaveLength(3);
    });

    it('times out a silent server, retries, and says how long it waited', async () => {
      server = await startModelServer(() => new Promise(() => undefined));
      const { options } = harness(protocol.env, { timeoutMs: 150, maxRetries: 1 });
      const error = await captureError(() =>
        createProvider(protocol.config(server!.url), options).complete({ prompt: PROMPT, vars: {} }),
      );
      expect(error.message).toContain('no answer within 150 ms');
      expect(error.message).toContain('after 2 attempts');
      expect(server.requests).toHaveLength(2);
    });

    it('a malformed body fails at once, without retrying', async () => {
      server = await startModelServer((_req, index, res) =>
        index === 0 ? json(res, 200, 'this is not { json') : json(res, 200, { unexpected: true }),
      );
      const { options } = harness(protocol.env);
      const provider = createProvider(protocol.config(server.url), options);
      const first = await captureError(() => provider.complete({ prompt: PROMPT, vars: {} }));
      expect(first.message).toContain('not JSON');
      const second = await captureError(() => provider.complete({ prompt: PROMPT, vars: {} }));
      expect(second.message).toMatch(/no (choices|content)/);
      expect(server.requests).toHaveLength(2);
    });

    it('a 4xx other than 429 is not retried', async () => {
      server = await startModelServer((_req, _i, res) => json(res, 401, { error: 'bad key' }));
      const { options } = harness(protocol.env);
      const error = await captureError(() =>
        createProvider(protocol.config(server!.url), options).complete({ prompt: PROMPT, vars: {} }),
      );
      expect(error.status).toBe(401);
      expect(server.requests).toHaveLength(1);
    });

    it('quotes a long error body up to a word boundary, never inside a word', async () => {
      const body = `${'quotaexceeded '.repeat(20)}andthereasonattheend`;
      server = await startModelServer((_req, _i, res) => json(res, 400, body));
      const { options } = harness(protocol.env);
      const error = await captureError(() =>
        createProvider(protocol.config(server!.url), options).complete({ prompt: PROMPT, vars: {} }),
      );
      // 200 characters end inside the 15th "quotaexceeded"; the quote stops after the 14th.
      expect(error.message).toContain(`${'quotaexceeded '.repeat(13)}quotaexceeded…`);
      expect(/(\w+)…/.exec(error.message)?.[1]).toBe('quotaexceeded');
    });

    it('reads the key from the env variable the suite names', async () => {
      server = await startModelServer((_req, _i, res) => json(res, 200, protocol.ok('ok')));
      const config = protocol.config(server.url);
      const named = { ...config, params: { ...config.params, apiKeyEnv: 'MY_TEAM_KEY' } };
      const { options } = harness({ MY_TEAM_KEY: 'team-key-123456' });
      await createProvider(named, options).complete({ prompt: PROMPT, vars: {} });
      expect(String(protocol.keyHeader(server.requests[0]!.headers))).toContain('team-key-123456');
      expect(server.requests[0]!.body).not.toHaveProperty('apiKeyEnv');
    });
  });
}

describe('provider odds and ends', () => {
  it('anthropic without a key fails before any call, naming the variable', async () => {
    const error = await captureError(() =>
      createProvider({ id: 'anthropic', model: 'claude-3-5-haiku-latest', params: {} }, { env: {} }).complete({
        prompt: PROMPT,
        vars: {},
      }),
    );
    expect(error.message).toContain('ANTHROPIC_API_KEY');
  });

  it('Retry-After reads seconds and HTTP dates', () => {
    expect(retryAfterMs('3')).toBe(3000);
    expect(retryAfterMs(new Date(10_000).toUTCString(), 4000)).toBe(6000);
    expect(retryAfterMs(null)).toBeNull();
    expect(retryAfterMs('soon')).toBeNull();
  });

  it('prices by the longest model prefix, with overrides and unknown models', () => {
    const usage = { inputTokens: 1_000_000, outputTokens: 1_000_000 };
    expect(costOf({ id: 'openai', model: 'gpt-4o-mini-2024-07-18', params: {} }, usage)).toBeCloseTo(0.75);
    expect(costOf({ id: 'openai', model: 'gpt-4o', params: {} }, usage)).toBeCloseTo(12.5);
    expect(costOf({ id: 'openai', model: 'llama3', params: {} }, usage)).toBeNull();
    expect(costOf({ id: 'openai', model: 'llama3', params: { pricing: { input: 1, output: 2 } } }, usage)).toBe(3);
    expect(costOf({ id: 'simulated', model: 'simulated-1', params: {} }, usage)).toBe(0);
  });
});
