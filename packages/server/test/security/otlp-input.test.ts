import protobuf from 'protobufjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS, openTestRegistry, type TestRegistry } from '../support/registry.js';
import { getJson, ingest } from '../support/traces.js';

/**
 * `/v1/traces` refuses a body that is not an ExportTraceServiceRequest (null, an array, a
 * string), takes 64-bit times as JSON numbers as the OTLP JSON mapping allows, answers errors with the
 * OTLP `Status` message (JSON or protobuf, as the request was), and speaks of OTLP's content types.
 */

// google.rpc.Status as OTLP/HTTP specifies it, to read protobuf answers independently of the server.
const STATUS_PROTO = `
syntax = "proto3";
package google.rpc;
message Any { string type_url = 1; bytes value = 2; }
message Status { int32 code = 1; string message = 2; repeated Any details = 3; }
`;
const Status = protobuf.parse(STATUS_PROTO).root.lookupType('google.rpc.Status');

interface StatusJson {
  code: number;
  message: string;
  details: { '@type': string; reason?: string; domain?: string; metadata?: Record<string, string> }[];
}

const INVALID_ARGUMENT = 3;
const UNAUTHENTICATED = 16;

describe.each(DIALECTS)('OTLP input (%s)', (dialect) => {
  let registry: TestRegistry;

  beforeAll(async () => {
    registry = await openTestRegistry(dialect);
  });
  afterAll(async () => {
    await registry.close();
  });

  const otlp = (payload: string | Buffer, contentType = 'application/json') =>
    registry.app.inject({
      method: 'POST',
      url: '/v1/traces',
      headers: {
        authorization: `Bearer ${registry.keys.editor}`,
        ...(contentType === '' ? {} : { 'content-type': contentType }),
      },
      payload,
    });

  it.each([
    ['null', 'null'],
    ['an array', '[]'],
    ['a string', '"resourceSpans"'],
    ['a number', '42'],
    ['resourceSpans that is not an array', '{"resourceSpans":{"scopeSpans":[]}}'],
  ])('refuses %s with 400 and an OTLP Status', async (_what, body) => {
    const response = await otlp(body);
    expect(response.statusCode).toBe(400);
    expect(response.headers['content-type']).toMatch(/^application\/json/);
    const status = response.json<StatusJson>();
    expect(status).toMatchObject({
      code: INVALID_ARGUMENT,
      message: expect.stringContaining('ExportTraceServiceRequest'),
    });
    expect(status.details).toEqual([
      expect.objectContaining({
        '@type': 'type.googleapis.com/google.rpc.ErrorInfo',
        reason: 'invalid_otlp',
        domain: 'promptops',
        metadata: { fix: expect.stringContaining('resourceSpans') },
      }),
    ]);
    expect(Object.keys(status).sort()).toEqual(['code', 'details', 'message']);
  });

  it('accepts an empty request (an exporter with nothing to send)', async () => {
    const response = await otlp('{}');
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({});
  });

  it('takes startTimeUnixNano and endTimeUnixNano as JSON numbers above 2^53', async () => {
    // Mid-millisecond, so the double's rounding (a few hundred ns) cannot cross a millisecond.
    const startMs = Date.now() - 60_000;
    const startNs = startMs * 1e6 + 500_000;
    const endNs = startNs + 250e6;
    expect(startNs).toBeGreaterThan(Number.MAX_SAFE_INTEGER);
    const body = `{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"5b8efff798038103d269b633813fc60c","spanId":"aaa19b7ec3c1b174","name":"chat","startTimeUnixNano":${startNs},"endTimeUnixNano":${endNs},"attributes":[{"key":"gen_ai.request.model","value":{"stringValue":"gpt-4o-mini"}}]}]}]}]}`;
    expect(body).toContain(`"startTimeUnixNano":${String(startNs)}`);
    const response = await otlp(body);
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({});
    const stored = await getJson<{ trace: { startedAt: string; latencyMs: number } }>(
      registry.app,
      registry.keys.viewer,
      '/api/v1/traces/5b8efff798038103d269b633813fc60c-aaa19b7ec3c1b174',
    );
    expect(stored.status).toBe(200);
    expect(stored.body.trace.startedAt).toBe(new Date(startMs).toISOString());
    expect(stored.body.trace.latencyMs).toBeCloseTo(250, 3);
  });

  it('answers a bad protobuf body with a protobuf Status', async () => {
    const response = await otlp(Buffer.from([0x0a, 0xff, 0xff, 0xff]), 'application/x-protobuf');
    expect(response.statusCode).toBe(400);
    expect(response.headers['content-type']).toBe('application/x-protobuf');
    const status = Status.toObject(Status.decode(response.rawPayload), { defaults: true }) as {
      code: number;
      message: string;
      details: { type_url?: string; typeUrl?: string }[];
    };
    expect(status.code).toBe(INVALID_ARGUMENT);
    expect(status.message).toContain('ExportTraceServiceRequest');
    expect(status.details.map((d) => d.typeUrl ?? d.type_url)).toEqual(['type.googleapis.com/google.rpc.ErrorInfo']);
  });

  it('answers a bad JSON body, a missing key and a too large body with a JSON Status', async () => {
    const broken = await otlp('{"resourceSpans":');
    expect(broken.statusCode).toBe(400);
    expect(broken.json<StatusJson>()).toMatchObject({ code: INVALID_ARGUMENT });

    const noKey = await registry.app.inject({
      method: 'POST',
      url: '/v1/traces',
      headers: { 'content-type': 'application/json' },
      payload: '{}',
    });
    expect(noKey.statusCode).toBe(401);
    expect(noKey.json<StatusJson>()).toMatchObject({ code: UNAUTHENTICATED, message: expect.any(String) });

    const huge = await otlp(`{"resourceSpans":[],"pad":"${'x'.repeat(6 * 1024 * 1024)}"}`);
    expect(huge.statusCode).toBe(413);
    expect(huge.json<StatusJson>()).toMatchObject({ message: expect.stringContaining('5 MiB') });
  });

  it('names the OTLP content types, not the ingest route, when the body is of another type or missing', async () => {
    for (const [payload, contentType] of [
      ['resourceSpans', 'text/plain'],
      ['', ''],
    ] as const) {
      const response = await otlp(payload, contentType);
      expect([400, 415]).toContain(response.statusCode);
      const status = response.json<StatusJson>();
      expect(status.code).toBe(INVALID_ARGUMENT);
      const text = JSON.stringify(status);
      expect(text).toContain('application/x-protobuf');
      expect(text).toContain('application/json');
      expect(text).not.toMatch(/events|\/api\/v1\/ingest/);
    }
  });

  it('leaves the ingest route its own error shape', async () => {
    const response = await ingest(registry.app, registry.keys.editor, 'null');
    expect(response.statusCode).toBe(400);
    expect(response.json()).toMatchObject({ error: { code: 'invalid_request' } });
  });
});
