import {
  applyOverrideEvent,
  resolveFromSnapshot,
  resolveTenant,
  type OverrideChangeEvent,
  type PromptContent,
  type Snapshot,
} from '@promptops/core';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachDatabase } from './support/databases.js';
import { openTestRegistry, type TestRegistry } from './support/registry.js';
import { openSse, type SseClient } from './support/sse.js';

/**
 * Tenant overrides in the snapshot and on the change feed: the snapshot carries each prompt's current
 * overrides (a pinned one with its base) and its ETag changes when one does; a connected subscriber gets
 * `event: override` for a set and a rollback, and applying them gives what the next snapshot resolves.
 */

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const listen = async (app: FastifyInstance): Promise<string> => {
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  if (typeof address !== 'object' || address === null) throw new Error('no address');
  return `http://127.0.0.1:${address.port}`;
};

const content = (template: string): PromptContent => ({
  name: 'greeter',
  type: 'text',
  template,
  config: { provider: 'openai', model: 'gpt-4o-mini', params: {} },
  variables: { user: { type: 'string', required: true } },
  slots: { greeting: 'Hello' },
});

describeEachDatabase('tenant overrides in the snapshot and on the change feed on %s', (dialect) => {
  let registry: TestRegistry;
  let base = '';
  let stream: SseClient;

  const call = async (method: 'GET' | 'POST' | 'PUT', url: string, body?: unknown): Promise<Json> => {
    const response = await registry.app.inject({
      method,
      url,
      headers: { authorization: `Bearer ${registry.keys.admin}` },
      ...(body === undefined ? {} : { payload: body as Json }),
    });
    expect(response.statusCode, `${method} ${url}: ${response.body}`).toBeLessThan(300);
    return response.json() as Json;
  };
  const snapshot = async (): Promise<{ etag: string; body: Snapshot }> => {
    const response = await registry.app.inject({
      method: 'GET',
      url: '/api/v1/snapshot',
      headers: { authorization: `Bearer ${registry.keys.viewer}` },
    });
    expect(response.statusCode).toBe(200);
    return { etag: response.headers.etag as string, body: response.json() as Snapshot };
  };
  const overrideEvents = (): OverrideChangeEvent[] => stream.parsed<OverrideChangeEvent>('override');
  const tenantView = (snap: Snapshot, tenant: string, label = 'production') =>
    resolveTenant(snap, resolveFromSnapshot(snap, 'greeter', { label })!, tenant);

  beforeAll(async () => {
    registry = await openTestRegistry(dialect);
    base = await listen(registry.app);
    const v1 = await call('POST', '/api/v1/prompts/greeter/versions', {
      content: content('{{> greeting}} {{user}} (v1)'),
      parent: null,
      message: 'v1',
    });
    await call('POST', '/api/v1/prompts/greeter/versions', {
      content: content('{{> greeting}} {{user}} (v2)'),
      parent: v1['sha'],
      message: 'v2',
    });
    await call('PUT', '/api/v1/prompts/greeter/labels/production', { ref: 'v2' });
    await call('PUT', '/api/v1/prompts/greeter/labels/staging', { ref: 'v2' });
    stream = await openSse(`${base}/api/v1/stream`, { authorization: `Bearer ${registry.keys.viewer}` });
    await stream.until(() => stream.messages.some((m) => m.event === 'ready'));
  });
  afterAll(async () => {
    await stream.close();
    registry.app.server.closeAllConnections();
    await registry.close();
  });

  it('the snapshot carries current overrides, a pinned one with its base, and its ETag moves with them', async () => {
    const before = await snapshot();
    expect(before.body.prompts['greeter']!.overrides).toBeUndefined();
    await call('PUT', '/api/v1/prompts/greeter/tenants/acme/override', {
      override: { slots: { greeting: 'Good day' } },
      message: 'formal',
    });
    const first = await snapshot();
    expect(first.etag).not.toBe(before.etag);
    const acme = first.body.prompts['greeter']!.overrides!['acme']!;
    expect(acme).toMatchObject({
      version: 1,
      label: 'production',
      base: null,
      override: { slots: { greeting: 'Good day' } },
    });
    expect(tenantView(first.body, 'acme').content.template).toBe('{{> greeting}} {{user}} (v2)');
    expect(tenantView(first.body, 'acme').content.slots).toEqual({ greeting: 'Good day' });
    expect(tenantView(first.body, 'globex').overrideSha).toBeNull();

    await call('PUT', '/api/v1/prompts/greeter/tenants/globex/override', {
      override: { slots: { greeting: 'Hallo' } },
      label: 'staging',
      base: 'v1',
      message: 'pinned de',
    });
    const second = await snapshot();
    expect(second.etag).not.toBe(first.etag);
    const globex = second.body.prompts['greeter']!.overrides!['globex']!;
    expect(globex.base).toMatchObject({ version: 1, content: { template: '{{> greeting}} {{user}} (v1)' } });
    const served = tenantView(second.body, 'globex', 'staging');
    expect(served.content.template).toBe('{{> greeting}} {{user}} (v1)');
    expect(served.baseSha).toBe(globex.base!.sha);
    // Each tenant only ever gets its own.
    expect(tenantView(second.body, 'acme', 'staging').overrideSha).toBeNull();
    expect(tenantView(second.body, 'globex').overrideSha).toBeNull();

    // Unchanged: the same tag (a conditional request is answered 304).
    const again = await registry.app.inject({
      method: 'GET',
      url: '/api/v1/snapshot',
      headers: { authorization: `Bearer ${registry.keys.viewer}`, 'if-none-match': second.etag },
    });
    expect(again.statusCode).toBe(304);
  });

  it('sends set and rollback to a connected subscriber; applying them matches the snapshot', async () => {
    await stream.until(() => overrideEvents().length >= 2);
    const [set, pinned] = overrideEvents();
    expect(set).toMatchObject({
      type: 'override',
      name: 'greeter',
      tenant: 'acme',
      override: { version: 1, label: 'production', base: null, override: { slots: { greeting: 'Good day' } } },
    });
    expect(pinned).toMatchObject({ tenant: 'globex', override: { label: 'staging', base: { version: 1 } } });
    expect(pinned!.override!.base!.content.template).toBe('{{> greeting}} {{user}} (v1)');
    expect(stream.messages.filter((m) => m.event === 'override').map((m) => m.id)).toEqual(
      overrideEvents().map((e) => String(e.seq)),
    );

    const start = await snapshot();
    await call('PUT', '/api/v1/prompts/greeter/tenants/acme/override', {
      override: { slots: { greeting: 'Greetings' } },
      message: 'v2',
    });
    await call('POST', '/api/v1/prompts/greeter/tenants/acme/override/rollback', { version: 1 });
    await stream.until(() => overrideEvents().length >= 4);
    const [, , changed, rolledBack] = overrideEvents();
    expect(changed!.override).toMatchObject({ version: 2, override: { slots: { greeting: 'Greetings' } } });
    expect(rolledBack!.override).toMatchObject({ version: 3, override: { slots: { greeting: 'Good day' } } });
    expect(rolledBack!.override!.sha).toBe(set!.override!.sha);

    let held = start.body;
    for (const event of [changed!, rolledBack!]) held = applyOverrideEvent(held, event);
    const latest = await snapshot();
    expect(held.prompts['greeter']!.overrides).toEqual(latest.body.prompts['greeter']!.overrides);
    expect(tenantView(held, 'acme')).toEqual(tenantView(latest.body, 'acme'));
  });

  it('long-poll answers override events too', async () => {
    const start = await snapshot();
    await call('PUT', '/api/v1/prompts/greeter/tenants/initech/override', {
      override: { variables: { user: 'there' } },
      message: 'default user',
    });
    const page = await call('GET', `/api/v1/changes?after=${start.body.cursor}&wait=0`);
    expect(page['events']).toEqual([
      expect.objectContaining({
        type: 'override',
        tenant: 'initech',
        override: expect.objectContaining({ version: 1 }),
      }),
    ]);
  });
});
