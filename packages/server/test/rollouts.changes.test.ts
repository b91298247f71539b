import { resolveFromSnapshot, type RolloutChangeEvent, type Snapshot } from '@promptops/core';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachDatabase } from './support/databases.js';
import { openTestRegistry, textContent, type TestRegistry } from './support/registry.js';
import { openSse, type SseClient } from './support/sse.js';

/**
 * Rollouts on the change feed and in the snapshot: a connected subscriber gets `event: rollout` for a
 * start, a step and an abort (and the label's move on completion); the snapshot carries active rollouts
 * with their candidate, resolvable by core; its ETag changes when a rollout does.
 */

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const listen = async (app: FastifyInstance): Promise<string> => {
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  if (typeof address !== 'object' || address === null) throw new Error('no address');
  return `http://127.0.0.1:${address.port}`;
};

describeEachDatabase('rollouts on the change feed on %s', (dialect) => {
  let registry: TestRegistry;
  let base = '';
  let stream: SseClient;
  const heads = new Map<string, string | null>();

  const call = async (method: 'GET' | 'POST' | 'PUT', url: string, body?: unknown): Promise<Json> => {
    const response = await registry.app.inject({
      method,
      url,
      headers: { authorization: `Bearer ${registry.keys.deployer}` },
      ...(body === undefined ? {} : { payload: body as Json }),
    });
    expect(response.statusCode, `${method} ${url}: ${response.body}`).toBeLessThan(300);
    return response.json() as Json;
  };
  const push = async (name: string, template: string): Promise<void> => {
    const response = await registry.app.inject({
      method: 'POST',
      url: `/api/v1/prompts/${name}/versions`,
      headers: { authorization: `Bearer ${registry.keys.editor}` },
      payload: { content: textContent(name, template), parent: heads.get(name) ?? null, message: template },
    });
    expect(response.statusCode).toBe(201);
    heads.set(name, (response.json() as Json)['sha'] as string);
  };
  const snapshot = async (): Promise<{ etag: string; body: Snapshot }> => {
    const response = await registry.app.inject({
      method: 'GET',
      url: '/api/v1/snapshot',
      headers: { authorization: `Bearer ${registry.keys.viewer}` },
    });
    return { etag: response.headers.etag as string, body: response.json() as Snapshot };
  };
  const rolloutEvents = (): RolloutChangeEvent[] => stream.parsed<RolloutChangeEvent>('rollout');

  beforeAll(async () => {
    registry = await openTestRegistry(dialect);
    base = await listen(registry.app);
    await push('greeter', 'Hello v1');
    await push('greeter', 'Hello v2');
    await call('PUT', '/api/v1/prompts/greeter/labels/production', { ref: 'v1' });
    stream = await openSse(`${base}/api/v1/stream`, { authorization: `Bearer ${registry.keys.viewer}` });
    await stream.until(() => stream.messages.some((m) => m.event === 'ready'));
  });
  afterAll(async () => {
    await stream.close();
    registry.app.server.closeAllConnections();
    await registry.close();
  });

  it('sends start, step and abort to a connected subscriber, and the snapshot follows', async () => {
    const before = await snapshot();
    const started = await call('POST', '/api/v1/prompts/greeter/rollouts', {
      label: 'production',
      candidate: 'v2',
      steps: [10, 50, 100],
    });
    const id = started['id'] as string;
    await stream.until(() => rolloutEvents().length >= 1);
    expect(rolloutEvents()[0]).toMatchObject({
      type: 'rollout',
      name: 'greeter',
      label: 'production',
      rollout: { id, salt: id, mode: 'split', state: 'running', ramp: 10, candidate: { version: 2 } },
    });
    expect(rolloutEvents()[0]!.rollout!.candidate.content).toMatchObject({ template: 'Hello v2' });

    const during = await snapshot();
    expect(during.etag).not.toBe(before.etag);
    const held = during.body.prompts['greeter']!.rollouts!['production']!;
    expect(held).toMatchObject({ id, mode: 'split', state: 'running', ramp: 10, candidate: { version: 2 } });
    // The snapshot resolves by unit key, as every SDK does.
    const arms = new Set(
      Array.from({ length: 100 }, (_, i) => resolveFromSnapshot(during.body, 'greeter', { unitKey: `u${i}` })!.variant),
    );
    expect(arms).toEqual(new Set(['baseline', 'candidate']));

    await call('POST', `/api/v1/rollouts/${id}/advance`);
    await stream.until(() => rolloutEvents().length >= 2);
    expect(rolloutEvents()[1]!.rollout).toMatchObject({ state: 'running', ramp: 50 });
    const stepped = await snapshot();
    expect(stepped.etag).not.toBe(during.etag);
    expect(stepped.body.prompts['greeter']!.rollouts!['production']!.ramp).toBe(50);

    await call('POST', `/api/v1/rollouts/${id}/abort`, { reason: 'worse' });
    await stream.until(() => rolloutEvents().length >= 3);
    expect(rolloutEvents()[2]).toMatchObject({ name: 'greeter', label: 'production', rollout: null });
    const after = await snapshot();
    expect(after.body.prompts['greeter']!.rollouts).toBeUndefined();
    expect(resolveFromSnapshot(after.body, 'greeter', { unitKey: 'u1' })).toMatchObject({
      variant: 'base',
      version: 1,
    });
  });

  it('a completion sends the label move, then the end of the rollout', async () => {
    const started = await call('POST', '/api/v1/prompts/greeter/rollouts', {
      label: 'production',
      candidate: 'v2',
      steps: [50],
    });
    await call('POST', `/api/v1/rollouts/${started['id']}/advance`);
    await stream.until(() => rolloutEvents().some((e, i) => i >= 4 && e.rollout === null));
    const tail = stream.messages.filter((m) => m.event === 'label' || m.event === 'rollout').slice(-2);
    expect(tail.map((m) => m.event)).toEqual(['label', 'rollout']);
    expect(JSON.parse(tail[0]!.data)).toMatchObject({ label: 'production', version: 2, kind: 'rollout' });
  });
});
