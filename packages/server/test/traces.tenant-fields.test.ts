import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS, openTestRegistry, type TestRegistry } from './support/registry.js';
import { getJson, ingest, SHA_A, SHA_B, traceEvent } from './support/traces.js';

/**
 * A tenant's trace names what it was served three ways: the base version's sha (`prompt.sha`, which
 * per-sha metrics and versions link to), the effective sha and the override sha, plus the tenant; from
 * the ingest API (an SDK's `baseSha`) and from OTLP attributes alike, and `?tenant=` finds them.
 */

const SHA_O = 'c'.repeat(64);

interface Listed {
  traces: {
    id: string;
    tenant: string | null;
    prompt: { sha: string | null; effectiveSha: string | null } | null;
    attributes: Record<string, unknown>;
  }[];
}

describe.each(DIALECTS)('tenant fields on traces (%s)', (dialect) => {
  let registry: TestRegistry;

  beforeAll(async () => {
    registry = await openTestRegistry(dialect);
  });
  afterAll(async () => {
    await registry.close();
  });

  it('stores baseSha as the version sha, sha as the effective sha and the override sha', async () => {
    const event = traceEvent('tf-ingest', {
      tenant: 'tf-acme',
      prompt: { name: 'greeter', version: 1, sha: SHA_B, baseSha: SHA_A, overrideSha: SHA_O.toUpperCase() },
    });
    const response = await ingest(registry.app, registry.keys.editor, { events: [event] });
    expect(response.json<{ accepted: string[] }>().accepted).toEqual(['tf-ingest']);
    const { body } = await getJson<Listed>(registry.app, registry.keys.viewer, '/api/v1/traces?tenant=tf-acme');
    expect(body.traces.map((t) => t.id)).toEqual(['tf-ingest']);
    expect(body.traces[0]).toMatchObject({
      tenant: 'tf-acme',
      prompt: { sha: SHA_A, effectiveSha: SHA_B },
      attributes: { 'promptops.override_sha': SHA_O },
    });
  });

  it('names a bad baseSha or overrideSha', async () => {
    const response = await ingest(registry.app, registry.keys.editor, {
      events: [traceEvent('tf-bad', { prompt: { name: 'greeter', sha: SHA_A, baseSha: 'nope', overrideSha: 'x' } })],
    });
    const paths = response
      .json<{ rejected: { issues: { path: string }[] }[] }>()
      .rejected[0]!.issues.map((i) => i.path);
    expect(paths).toEqual(expect.arrayContaining(['prompt.baseSha', 'prompt.overrideSha']));
  });

  it('reads promptops.tenant, promptops.prompt.base_sha and .override_sha from OTLP', async () => {
    const startMs = BigInt(Date.now());
    const attr = (key: string, stringValue: string) => ({ key, value: { stringValue } });
    const body = {
      resourceSpans: [
        {
          scopeSpans: [
            {
              spans: [
                {
                  traceId: '6b8efff798038103d269b633813fc60c',
                  spanId: 'fee19b7ec3c1b174',
                  name: 'chat',
                  startTimeUnixNano: String(startMs * 1_000_000n),
                  endTimeUnixNano: String((startMs + 5n) * 1_000_000n),
                  attributes: [
                    attr('promptops.prompt.name', 'greeter'),
                    attr('promptops.prompt.sha', SHA_B),
                    attr('promptops.prompt.base_sha', SHA_A),
                    attr('promptops.prompt.override_sha', SHA_O),
                    attr('promptops.tenant', 'tf-globex'),
                  ],
                },
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
    const { body: listed } = await getJson<Listed>(
      registry.app,
      registry.keys.viewer,
      '/api/v1/traces?tenant=tf-globex',
    );
    expect(listed.traces).toHaveLength(1);
    expect(listed.traces[0]).toMatchObject({
      tenant: 'tf-globex',
      prompt: { sha: SHA_A, effectiveSha: SHA_B },
      attributes: { 'promptops.override_sha': SHA_O },
    });
    expect(listed.traces[0]!.attributes).not.toHaveProperty('promptops.prompt.base_sha');
  });
});
