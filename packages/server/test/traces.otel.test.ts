import { SpanStatusCode } from '@opentelemetry/api';
import { OTLPTraceExporter as HttpJsonExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as ProtoExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { CompressionAlgorithm } from '@opentelemetry/otlp-exporter-base';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { SimpleSpanProcessor, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeTraceResponse } from '../src/traces/otlp-proto.js';
import { DIALECTS, openTestRegistry, type TestRegistry } from './support/registry.js';
import { getJson, SHA_A } from './support/traces.js';

/**
 * A real OpenTelemetry JS SDK (NodeTracerProvider) exports spans with promptops and gen_ai attributes
 * over OTLP/HTTP (JSON, protobuf, and gzipped protobuf) to a real listening server; the query API
 * returns them tagged with the sha.
 */

interface TraceList {
  traces: {
    id: string;
    traceId: string;
    spanId: string;
    parentSpanId: string | null;
    prompt: { name: string; version: number; sha: string } | null;
    label: string;
    tenant: string;
    rollout: { id: string; arm: string } | null;
    releaseSha: string;
    model: string;
    provider: string;
    latencyMs: number;
    usage: { inputTokens: number; outputTokens: number };
    status: string;
    error: string | null;
    output: string | null;
    variables: Record<string, unknown> | null;
    attributes: Record<string, unknown>;
  }[];
}

const exporters: [string, (url: string, key: string) => SpanExporter][] = [
  ['http/json', (url, key) => new HttpJsonExporter({ url, headers: { Authorization: `Bearer ${key}` } })],
  ['http/protobuf', (url, key) => new ProtoExporter({ url, headers: { Authorization: `Bearer ${key}` } })],
  [
    'http/protobuf+gzip',
    (url, key) =>
      new ProtoExporter({ url, headers: { Authorization: `Bearer ${key}` }, compression: CompressionAlgorithm.GZIP }),
  ],
];

describe.each(DIALECTS)('OTLP/HTTP from the OpenTelemetry SDK (%s)', (dialect) => {
  let registry: TestRegistry;
  let base: string;

  beforeAll(async () => {
    registry = await openTestRegistry(dialect);
    base = await registry.app.listen({ host: '127.0.0.1', port: 0 });
  });
  afterAll(async () => {
    await registry.close();
  });

  it.each(exporters)('%s: spans come back from the query API with the sha', async (kind, makeExporter) => {
    const provider = new NodeTracerProvider({
      resource: resourceFromAttributes({ 'service.name': 'support-bot' }),
      spanProcessors: [new SimpleSpanProcessor(makeExporter(`${base}/v1/traces`, registry.keys.editor))],
    });
    const tracer = provider.getTracer('otel-test');
    const tenant = `tenant-${kind}`;
    const parent = tracer.startSpan('handle request');
    const common = {
      'promptops.prompt.name': 'greeter',
      'promptops.prompt.sha': SHA_A,
      'promptops.prompt.version': 3,
      'promptops.label': 'production',
      'promptops.tenant': tenant,
      'promptops.rollout.id': 'r-42',
      'promptops.rollout.arm': 'candidate',
      'promptops.release.sha': 'abcdef1',
      'gen_ai.provider.name': 'openai',
      'gen_ai.request.model': 'gpt-4o-mini',
      'gen_ai.response.model': 'gpt-4o-mini-2024-07-18',
      'gen_ai.usage.input_tokens': 31,
      'gen_ai.usage.output_tokens': 9,
      'promptops.variables': JSON.stringify({ user_name: 'Ada' }),
      'gen_ai.output.messages': JSON.stringify([
        { role: 'assistant', parts: [{ type: 'text', content: 'Hello Ada!' }] },
      ]),
      __proto__: 'hostile',
    };
    const { trace } = await import('@opentelemetry/api');
    const ctx = trace.setSpan((await import('@opentelemetry/api')).context.active(), parent);
    const ok = tracer.startSpan('chat gpt-4o-mini', { attributes: common }, ctx);
    ok.end();
    const failed = tracer.startSpan(
      'chat gpt-4o-mini',
      { attributes: { ...common, 'gen_ai.usage.output_tokens': 0 } },
      ctx,
    );
    failed.recordException(new Error('upstream timeout'));
    failed.setStatus({ code: SpanStatusCode.ERROR, message: 'upstream timeout' });
    failed.end();
    parent.end(); // not an LLM span: skipped
    await provider.forceFlush();
    await provider.shutdown();

    const { status, body } = await getJson<TraceList>(
      registry.app,
      registry.keys.viewer,
      `/api/v1/traces?sha=${SHA_A.slice(0, 12)}&tenant=${encodeURIComponent(tenant)}`,
    );
    expect(status).toBe(200);
    expect(body.traces).toHaveLength(2);
    const [errored, fine] = [
      body.traces.find((t) => t.status === 'error')!,
      body.traces.find((t) => t.status === 'ok')!,
    ];
    expect(fine).toMatchObject({
      id: `${fine.traceId}-${fine.spanId}`,
      prompt: { name: 'greeter', version: 3, sha: SHA_A },
      label: 'production',
      tenant,
      rollout: { id: 'r-42', arm: 'candidate' },
      releaseSha: 'abcdef1',
      model: 'gpt-4o-mini',
      provider: 'openai',
      usage: { inputTokens: 31, outputTokens: 9 },
      status: 'ok',
      output: 'Hello Ada!',
      variables: { user_name: 'Ada' },
      attributes: { 'gen_ai.response.model': 'gpt-4o-mini-2024-07-18', 'service.name': 'support-bot' },
    });
    expect(fine.parentSpanId).toMatch(/^[0-9a-f]{16}$/);
    expect(fine.latencyMs).toBeGreaterThanOrEqual(0);
    expect(errored).toMatchObject({ status: 'error', error: 'upstream timeout' });
  });

  it('answers OTLP/JSON with partial_success naming rejected spans; a bad protobuf is 400', async () => {
    const startMs = BigInt(Date.now());
    const span = (spanId: string, attributes: { key: string; value: Record<string, unknown> }[]) => ({
      traceId: '5b8efff798038103d269b633813fc60c',
      spanId,
      name: 'chat',
      startTimeUnixNano: String(startMs * 1_000_000n),
      endTimeUnixNano: String((startMs + 250n) * 1_000_000n),
      attributes,
      events: [
        {
          name: 'feature_flag.evaluation',
          attributes: [
            { key: 'feature_flag.key', value: { stringValue: 'greeter-v18' } },
            { key: 'feature_flag.result.variant', value: { stringValue: 'treatment' } },
          ],
        },
      ],
    });
    const body = {
      resourceSpans: [
        {
          resource: { attributes: [{ key: 'service.name', value: { stringValue: 'json-client' } }] },
          scopeSpans: [
            {
              spans: [
                span('eee19b7ec3c1b174', [
                  { key: 'promptops.prompt.name', value: { stringValue: 'greeter' } },
                  { key: 'gen_ai.usage.input_tokens', value: { intValue: '12' } },
                ]),
                span('eee19b7ec3c1b175', [{ key: 'promptops.prompt.sha', value: { stringValue: 'not-a-sha' } }]),
              ],
            },
          ],
        },
      ],
    };
    const response = await registry.app.inject({
      method: 'POST',
      url: '/v1/traces',
      headers: { authorization: `Bearer ${registry.keys.editor}`, 'content-type': 'application/json' },
      payload: body,
    });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({
      partialSuccess: { rejectedSpans: '1', errorMessage: expect.stringContaining('prompt.sha') },
    });
    const { body: stored } = await getJson<{ trace: TraceList['traces'][number] }>(
      registry.app,
      registry.keys.viewer,
      '/api/v1/traces/5b8efff798038103d269b633813fc60c-eee19b7ec3c1b174',
    );
    expect(stored.trace).toMatchObject({
      rollout: { id: 'greeter-v18', arm: 'treatment' },
      usage: { inputTokens: 12 },
      latencyMs: 250,
    });

    const garbage = await registry.app.inject({
      method: 'POST',
      url: '/v1/traces',
      headers: { authorization: `Bearer ${registry.keys.editor}`, 'content-type': 'application/x-protobuf' },
      payload: Buffer.from([0x0a, 0xff, 0xff, 0xff]),
    });
    expect(garbage.statusCode).toBe(400);
    // OTLP/HTTP: a protobuf google.rpc.Status (security/otlp-input.test.ts reads it).
    expect(garbage.headers['content-type']).toBe('application/x-protobuf');

    const noKey = await registry.app.inject({
      method: 'POST',
      url: '/v1/traces',
      headers: { 'content-type': 'application/json' },
      payload: body,
    });
    expect(noKey.statusCode).toBe(401);
    expect(encodeTraceResponse(0, '')).toHaveLength(0);
  });
});
