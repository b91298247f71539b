import { context, trace, type Span } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { BatchSpanProcessor, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient, instrumentOpenAI, ResolvedPrompt, type PromptopsClient } from '../src/index.js';
import { greeter, versionOf } from './support/fixtures.js';
import { startLlmServer, type LlmServer } from './support/llm-server.js';
import { ADMIN_KEY, api, startTestServer, type TestServer } from './support/server.js';
import { listTraces } from './support/traces.js';

/**
 * With `@opentelemetry/api` installed and a real tracer provider (NodeTracerProvider: a
 * BasicTracerProvider with an AsyncLocalStorage context manager) exporting to memory, each traced call
 * puts the promptops attributes on the active span, and the event carries the span's ids. Exported to
 * promptops over OTLP as well, the span is the same trace (its promptops.event.id), stored once.
 */

const NAME = 'customer_support_greeter';
const v17 = versionOf(greeter(17), 1);

describe('OpenTelemetry', () => {
  let server: TestServer;
  let llm: LlmServer;
  let client: PromptopsClient;
  const memory = new InMemorySpanExporter();
  let otlp: OTLPTraceExporter;
  let provider: NodeTracerProvider;
  let otlpExports = 0;

  beforeAll(async () => {
    server = await startTestServer('sqlite');
    await api(server.url).push(v17.content, null);
    await api(server.url).promote(NAME, 'production', 'v1');
    llm = await startLlmServer();
    otlp = new OTLPTraceExporter({ url: `${server.url}/v1/traces`, headers: { Authorization: `Bearer ${ADMIN_KEY}` } });
    const exportSpans = otlp.export.bind(otlp);
    otlp.export = (spans, done) =>
      exportSpans(spans, (result) => {
        if (result.code === 0) otlpExports += 1;
        done(result);
      });
    provider = new NodeTracerProvider({
      spanProcessors: [
        new SimpleSpanProcessor(memory),
        new BatchSpanProcessor(otlp, { scheduledDelayMillis: 60_000 }), // what apps run, with its delay
      ],
    });
    provider.register();
    client = createClient({ url: server.url, apiKey: ADMIN_KEY, traces: { flushIntervalMs: 20 } });
    await client.ready(); // also loads @opentelemetry/api
  });

  afterAll(async () => {
    await client?.close();
    await provider?.shutdown();
    trace.disable();
    context.disable();
    await llm?.close();
    await server?.close();
  });

  const inSpan = <T>(name: string, fn: (span: Span) => Promise<T>): Promise<T> =>
    trace.getTracer('test').startActiveSpan(name, async (span) => {
      try {
        return await fn(span);
      } finally {
        span.end();
      }
    });

  it('client.trace() sets the promptops and gen_ai attributes on the active span', async () => {
    const released = new ResolvedPrompt(
      NAME,
      1,
      v17.sha,
      'production',
      'base',
      'fallback',
      'abcdef1234567',
      v17.content,
    );
    let spanIds = { traceId: '', spanId: '' };
    const id = await inSpan('answer', async (span) => {
      spanIds = span.spanContext();
      return client.trace({
        prompt: released,
        variables: { user_name: 'Ada', question: 'q' },
        output: 'Hi Ada',
        model: 'gpt-4o-mini',
        provider: 'openai',
        latencyMs: 42,
        usage: { inputTokens: 30, outputTokens: 4 },
        tenant: 'acme',
      });
    });
    const span = memory.getFinishedSpans().find((s) => s.name === 'answer')!;
    expect(span.attributes).toEqual({
      'promptops.event.id': id,
      'promptops.prompt.name': NAME,
      'promptops.prompt.sha': v17.sha,
      'promptops.prompt.version': 1,
      'promptops.label': 'production',
      'promptops.tenant': 'acme',
      'promptops.release.sha': 'abcdef1234567',
      'gen_ai.request.model': 'gpt-4o-mini',
      'gen_ai.provider.name': 'openai',
      'gen_ai.usage.input_tokens': 30,
      'gen_ai.usage.output_tokens': 4,
    });

    // The event carries the span's ids; the OTLP copy of the span has the same event id: one trace.
    await client.flush();
    await provider.forceFlush(); // the batch processor exports only now: after the SDK's event
    expect(otlpExports).toBeGreaterThan(0);
    const stored = (await listTraces(server.url, { sha: v17.sha })).filter((t) => t.tenant === 'acme');
    expect(stored).toHaveLength(1);
    expect(stored[0]).toMatchObject({
      id,
      traceId: spanIds.traceId,
      spanId: spanIds.spanId,
      releaseSha: 'abcdef1234567',
      variables: { user_name: 'Ada', question: 'q' }, // the SDK's event arrived first: it is the one kept
    });
  });

  it('instrumentOpenAI annotates the span that was active when the call was made', async () => {
    const openai = instrumentOpenAI(new OpenAI({ apiKey: 'sk-test', baseURL: llm.baseURL, maxRetries: 0 }), client);
    const prompt = client.get(NAME);
    await inSpan('llm', async () => {
      await openai.chat.completions.create(prompt.toOpenAI({ user_name: 'Grace', question: 'where?' }));
    });
    const span = memory.getFinishedSpans().find((s) => s.name === 'llm')!;
    const usage = llm.requests.at(-1)!.usage!;
    expect(span.attributes).toMatchObject({
      'promptops.prompt.name': NAME,
      'promptops.prompt.sha': v17.sha,
      'promptops.prompt.version': 1,
      'promptops.label': 'production',
      'gen_ai.operation.name': 'chat',
      'gen_ai.request.model': 'gpt-4o-mini',
      'gen_ai.response.model': 'gpt-4o-mini-2024-07-18',
      'gen_ai.provider.name': 'openai',
      'gen_ai.usage.input_tokens': usage.prompt_tokens,
      'gen_ai.usage.output_tokens': usage.completion_tokens,
    });
    expect(span.attributes['promptops.tenant']).toBeUndefined();
  });

  it('without an active span nothing is annotated and the event has no span ids', async () => {
    const before = memory.getFinishedSpans().length;
    const id = client.trace({ prompt: client.get(NAME), output: 'no span', latencyMs: 1, tenant: 'no-span' });
    await client.flush();
    expect(memory.getFinishedSpans()).toHaveLength(before);
    const [stored] = await listTraces(server.url, { tenant: 'no-span' });
    expect(stored).toMatchObject({ id, traceId: null, spanId: null });
  });

  it('traces.otel: false leaves spans alone', async () => {
    const quiet = createClient({ url: server.url, apiKey: ADMIN_KEY, traces: { otel: false, flushIntervalMs: 10 } });
    await inSpan('quiet', async () => {
      quiet.trace({ prompt: client.get(NAME), output: 'x', latencyMs: 1 });
    });
    await quiet.close();
    expect(memory.getFinishedSpans().find((s) => s.name === 'quiet')!.attributes).toEqual({});
  });
});
