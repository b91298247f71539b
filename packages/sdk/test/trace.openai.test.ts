import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PromptopsError } from '@promptops/core';
import { DIALECTS } from '../../server/test/support/registry.js';
import { createClient, instrumentOpenAI, type PromptopsClient } from '../src/index.js';
import { greeter, versionOf } from './support/fixtures.js';
import { replyTo, startLlmServer, type LlmServer } from './support/llm-server.js';
import { ADMIN_KEY, api, startTestServer, type TestServer } from './support/server.js';
import { listTraces, type StoredTrace } from './support/traces.js';

/**
 * The official `openai` client, instrumented, against a local chat-completions server: every call made
 * with a resolved prompt is recorded with the sha that was served, its variables, output, model, latency
 * and tokens, and errors (500, 429, timeout, abort) too. Read back from a real promptops server.
 */

const NAME = 'customer_support_greeter';
const v17 = versionOf(greeter(17), 1);
const v18 = versionOf(greeter(18), 2);

describe.each(DIALECTS)('instrumentOpenAI against a real server (%s)', (dialect) => {
  let server: TestServer;
  let llm: LlmServer;
  let client: PromptopsClient;
  let openai: OpenAI;
  const errors: PromptopsError[] = [];

  beforeAll(async () => {
    server = await startTestServer(dialect);
    const registry = api(server.url);
    await registry.push(v17.content, null);
    await registry.push(v18.content, v17.sha);
    await registry.promote(NAME, 'production', 'v1');
    await registry.promote(NAME, 'staging', 'v2');
    llm = await startLlmServer();
    client = createClient({
      url: server.url,
      apiKey: ADMIN_KEY,
      traces: { flushIntervalMs: 50 },
      onError: (error) => errors.push(error),
    });
    await client.ready();
    openai = instrumentOpenAI(new OpenAI({ apiKey: 'sk-test', baseURL: llm.baseURL, maxRetries: 0 }), client);
  });

  afterAll(async () => {
    await client?.close();
    await llm?.close();
    await server?.close();
  });

  it('records every call with the served sha: ok, 500, 429, timeout, abort, streamed, pinned', async () => {
    const production = client.get(NAME);
    const staging = client.get(NAME, { label: 'staging' });
    expect([production.sha, staging.sha]).toEqual([v17.sha, v18.sha]);
    const vars = (i: number) => ({ user_name: `user-${i}`, question: `where is order ${i}?` });

    // Three plain calls; the body the model server received is exactly toOpenAI()'s.
    for (let i = 0; i < 3; i += 1) {
      const completion = await openai.chat.completions.create(production.toOpenAI(vars(i)));
      expect(completion.choices[0]?.message.content).toBe(replyTo(production.toOpenAI(vars(i)).messages));
    }
    expect(llm.requests.map((request) => request.body)).toEqual([0, 1, 2].map((i) => production.toOpenAI(vars(i))));

    // withResponse() still works on the instrumented call.
    const { data, response } = await openai.chat.completions.create(staging.toOpenAI(vars(3))).withResponse();
    expect(response.status).toBe(200);
    expect(data.usage?.prompt_tokens).toBeGreaterThan(0);

    // Errors: the app sees the same errors as without instrumentation.
    llm.mode = 500;
    await expect(openai.chat.completions.create(production.toOpenAI(vars(4)))).rejects.toBeInstanceOf(
      OpenAI.InternalServerError,
    );
    llm.mode = 429;
    await expect(openai.chat.completions.create(production.toOpenAI(vars(5)))).rejects.toBeInstanceOf(
      OpenAI.RateLimitError,
    );
    llm.mode = 'hang';
    await expect(openai.chat.completions.create(production.toOpenAI(vars(6)), { timeout: 300 })).rejects.toBeInstanceOf(
      OpenAI.APIConnectionTimeoutError,
    );
    const controller = new AbortController();
    const aborted = openai.chat.completions.create(staging.toOpenAI(vars(7)), { signal: controller.signal });
    setTimeout(() => controller.abort(), 100);
    await expect(aborted).rejects.toBeInstanceOf(OpenAI.APIUserAbortError);
    llm.mode = 'ok';

    // Streaming, spread into new params (the link rides on the messages array), with usage.
    const stream = await openai.chat.completions.create({
      ...staging.toOpenAI(vars(8)),
      stream: true,
      stream_options: { include_usage: true },
    });
    let streamed = '';
    for await (const chunk of stream) streamed += chunk.choices[0]?.delta.content ?? '';
    expect(streamed).toBe(replyTo(staging.toOpenAI(vars(8)).messages));

    // A pinned version, and a call that did not come from a prompt (not recorded by default).
    const pinned = client.get(`${NAME}@v2`);
    await openai.chat.completions.create(pinned.toOpenAI(vars(9)));
    await openai.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] });

    expect(await client.flush()).toBe(true);
    expect(client.traceStats()).toMatchObject({ queued: 0, sent: 10, dropped: 0, rejected: 0 });
    expect(errors).toEqual([]);

    const byUser = (traces: StoredTrace[]) =>
      Object.fromEntries(traces.map((trace) => [String(trace.variables?.['user_name']), trace]));
    const onV17 = byUser(await listTraces(server.url, { sha: v17.sha }));
    const onV18 = byUser(await listTraces(server.url, { sha: v18.sha.slice(0, 12) }));
    expect(Object.keys(onV17).sort()).toEqual(['user-0', 'user-1', 'user-2', 'user-4', 'user-5', 'user-6']);
    expect(Object.keys(onV18).sort()).toEqual(['user-3', 'user-7', 'user-8', 'user-9']);
    expect(await listTraces(server.url)).toHaveLength(10); // the promptless call is not there

    const ok = onV17['user-0']!;
    const answered = llm.requests[0]!;
    expect(ok).toMatchObject({
      prompt: { name: NAME, version: 1, sha: v17.sha },
      label: 'production',
      variables: vars(0),
      output: answered.answer,
      model: 'gpt-4o-mini-2024-07-18',
      provider: 'openai',
      usage: { inputTokens: answered.usage!.prompt_tokens, outputTokens: answered.usage!.completion_tokens },
      status: 'ok',
      error: null,
      attributes: expect.objectContaining({
        'gen_ai.request.model': 'gpt-4o-mini',
        'gen_ai.response.id': 'chatcmpl-1',
        'promptops.source': 'snapshot',
      }),
    });
    expect(ok.latencyMs).toBeGreaterThan(0);
    expect(onV18['user-3']).toMatchObject({ label: 'staging', status: 'ok', prompt: { version: 2 } });
    expect(onV18['user-9']).toMatchObject({ label: null, status: 'ok', prompt: { version: 2, sha: v18.sha } });

    expect(onV17['user-4']).toMatchObject({
      status: 'error',
      error: expect.stringContaining('InternalServerError: 500'),
      output: null,
      attributes: expect.objectContaining({ 'http.response.status_code': 500 }),
    });
    expect(onV17['user-5']).toMatchObject({ status: 'error', error: expect.stringContaining('RateLimitError: 429') });
    expect(onV17['user-6']).toMatchObject({
      status: 'error',
      error: expect.stringMatching(/^APIConnectionTimeoutError: /),
    });
    expect(onV17['user-6']!.latencyMs).toBeGreaterThanOrEqual(290);
    expect(onV18['user-7']).toMatchObject({ status: 'error', error: expect.stringMatching(/^APIUserAbortError: /) });

    const streamedTrace = onV18['user-8']!;
    const streamedRequest = llm.requests.find((request) => request.body.stream === true)!;
    expect(streamedTrace).toMatchObject({
      status: 'ok',
      output: streamedRequest.answer,
      model: 'gpt-4o-mini-2024-07-18',
      usage: {
        inputTokens: streamedRequest.usage!.prompt_tokens,
        outputTokens: streamedRequest.usage!.completion_tokens,
      },
      attributes: expect.objectContaining({ 'promptops.stream': true, 'gen_ai.response.finish_reasons': ['stop'] }),
    });
  });

  it('a stream the caller stops early is recorded with what it got, marked incomplete', async () => {
    const prompt = client.get(NAME);
    const stream = await openai.chat.completions.create({
      ...prompt.toOpenAI({ user_name: 'early', question: 'a long story please' }),
      stream: true,
    });
    for await (const chunk of stream) {
      if (chunk.choices[0]?.delta.content) break;
    }
    await client.flush();
    const [trace] = (await listTraces(server.url, { sha: v17.sha })).filter(
      (t) => t.variables?.['user_name'] === 'early',
    );
    expect(trace).toMatchObject({
      status: 'ok',
      output: 'Hello! ',
      attributes: expect.objectContaining({ 'promptops.stream.incomplete': true }),
    });
  });

  it('records calls without a prompt when asked to', async () => {
    const other = createClient({ url: server.url, apiKey: ADMIN_KEY, traces: { flushIntervalMs: 10 } });
    const plain = instrumentOpenAI(new OpenAI({ apiKey: 'sk-test', baseURL: llm.baseURL, maxRetries: 0 }), other, {
      recordCallsWithoutPrompt: true,
      provider: 'local-llm',
    });
    await plain.chat.completions.create({ model: 'tiny', messages: [{ role: 'user', content: 'no prompt here' }] });
    await other.close();
    const traces = (await listTraces(server.url)).filter((trace) => trace.provider === 'local-llm');
    expect(traces).toHaveLength(1);
    expect(traces[0]).toMatchObject({ prompt: null, model: 'tiny-2024-07-18', status: 'ok' });
  });
});
