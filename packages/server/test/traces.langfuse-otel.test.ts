import { LangfuseClient } from '@langfuse/client';
import { LangfuseSpanProcessor } from '@langfuse/otel';
import { setLangfuseTracerProvider, startObservation } from '@langfuse/tracing';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashApiKey, keyIdOf } from '../src/auth/keys.js';
import { otlpToEvents } from '../src/traces/otlp.js';
import { DIALECTS, openTestRegistry, textContent, type TestRegistry } from './support/registry.js';
import { getJson } from './support/traces.js';

/**
 * An application traced with Langfuse's own packages (`@langfuse/tracing` observations exported by
 * `@langfuse/otel`'s LangfuseSpanProcessor, configured only with a base URL and a key pair) sends its
 * generations to promptops unchanged: they land with the prompt the Langfuse client fetched linked by
 * name, version and sha, and with the model, usage and output Langfuse recorded.
 */

interface TraceList {
  traces: {
    prompt: { name: string; version: number | null; sha: string | null } | null;
    model: string | null;
    usage: { inputTokens: number | null; outputTokens: number | null } | null;
    output: string | null;
    status: string;
    error: string | null;
    attributes: Record<string, unknown>;
  }[];
}

const keyId = (key: string): string => keyIdOf(hashApiKey(key));

describe.each(DIALECTS)('traces from @langfuse/otel (%s)', (dialect) => {
  let registry: TestRegistry;
  let base: string;
  const shas: string[] = [];

  beforeAll(async () => {
    registry = await openTestRegistry(dialect);
    base = await registry.app.listen({ host: '127.0.0.1', port: 0 });
    let parent: string | null = null;
    for (const line of ['Answer {{question}}.', 'Answer {{question}} briefly.']) {
      const response = await registry.app.inject({
        method: 'POST',
        url: '/api/v1/prompts/faq/versions',
        headers: { authorization: `Bearer ${registry.keys.admin}` },
        payload: {
          content: textContent('faq', line, { question: { type: 'string', required: true } }),
          parent,
          message: '',
        },
      });
      expect(response.statusCode).toBe(201);
      parent = (response.json() as { sha: string }).sha;
      shas.push(parent);
    }
  });
  afterAll(async () => {
    setLangfuseTracerProvider(null);
    await registry.close();
  });

  it("links a generation to the prompt the Langfuse client fetched, through Langfuse's exporter", async () => {
    const key = registry.keys.editor;
    const credentials = { publicKey: keyId(key), secretKey: key, baseUrl: base };
    const prompt = await new LangfuseClient(credentials).prompt.get('faq', { version: 2, cacheTtlSeconds: 0 });
    const provider = new NodeTracerProvider({
      // The first ingest starts the server's writer thread: allow a busy machine far more than Langfuse's 5 s.
      spanProcessors: [new LangfuseSpanProcessor({ ...credentials, exportMode: 'immediate', timeout: 120 })],
    });
    setLangfuseTracerProvider(provider);

    startObservation(
      'answer faq',
      {
        prompt,
        model: 'gpt-4o-mini',
        input: prompt.compile({ question: 'refunds' }),
        output: 'Refunds take 5 days.',
        usageDetails: { input: 12, output: 6, total: 18 },
      },
      { asType: 'generation' },
    ).end();
    startObservation(
      'failed',
      { prompt, level: 'ERROR', statusMessage: 'upstream timeout' },
      { asType: 'generation' },
    ).end();
    startObservation('plain step', { input: 'not an LLM call' }).end();
    await provider.forceFlush();
    await provider.shutdown();

    const { status, body } = await getJson<TraceList>(registry.app, registry.keys.viewer, '/api/v1/traces?prompt=faq');
    expect(status).toBe(200);
    expect(body.traces).toHaveLength(2);
    const ok = body.traces.find((t) => t.status === 'ok')!;
    expect(ok).toMatchObject({
      prompt: { name: 'faq', version: 2, sha: shas[1] },
      model: 'gpt-4o-mini',
      usage: { inputTokens: 12, outputTokens: 6 },
      output: 'Refunds take 5 days.',
    });
    expect(ok.attributes['langfuse.observation.type']).toBe('generation');
    expect(body.traces.find((t) => t.status === 'error')).toMatchObject({
      prompt: { name: 'faq', version: 2, sha: shas[1] },
      error: 'upstream timeout',
    });
  });

  it('keeps the name and version of a prompt version the registry does not hold, without a sha', async () => {
    const span = (version: number) => ({
      resourceSpans: [
        {
          scopeSpans: [
            {
              spans: [
                {
                  traceId: '0af7651916cd43dd8448eb211c80319c',
                  spanId: `b7ad6b716920333${version}`,
                  startTimeUnixNano: `${Date.now()}000000`,
                  attributes: [
                    { key: 'langfuse.observation.type', value: { stringValue: 'generation' } },
                    { key: 'langfuse.observation.prompt.name', value: { stringValue: 'faq' } },
                    { key: 'langfuse.observation.prompt.version', value: { intValue: String(version) } },
                  ],
                },
              ],
            },
          ],
        },
      ],
    });
    expect(otlpToEvents(span(9)).events[0]).toMatchObject({ prompt: { name: 'faq', version: 9 } });
    const response = await registry.app.inject({
      method: 'POST',
      url: '/api/public/otel/v1/traces',
      headers: {
        authorization: `Basic ${Buffer.from(`${keyId(registry.keys.editor)}:${registry.keys.editor}`).toString('base64')}`,
        'content-type': 'application/json',
      },
      payload: JSON.stringify(span(9)),
    });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({});
    const { body } = await getJson<TraceList>(
      registry.app,
      registry.keys.viewer,
      '/api/v1/traces?prompt=faq&version=9',
    );
    expect(body.traces).toHaveLength(1);
    expect(body.traces[0]!.prompt).toMatchObject({ name: 'faq', version: 9, sha: null });
  });

  it('refuses a Langfuse key pair that does not belong together, and Basic auth on /v1/traces', async () => {
    const basic = (publicKey: string, secret: string) =>
      `Basic ${Buffer.from(`${publicKey}:${secret}`).toString('base64')}`;
    const post = (url: string, authorization: string) =>
      registry.app.inject({
        method: 'POST',
        url,
        headers: { authorization, 'content-type': 'application/json' },
        payload: '{}',
      });
    const mismatched = await post(
      '/api/public/otel/v1/traces',
      basic(keyId(registry.keys.admin), registry.keys.editor),
    );
    expect(mismatched.statusCode).toBe(401);
    expect(mismatched.body).toContain('langfuse_key_mismatch');
    expect((await post('/v1/traces', basic(keyId(registry.keys.editor), registry.keys.editor))).statusCode).toBe(401);
    expect(
      (await post('/api/public/otel/v1/traces', basic(keyId(registry.keys.viewer), registry.keys.viewer))).statusCode,
    ).toBe(403);
  });
});
