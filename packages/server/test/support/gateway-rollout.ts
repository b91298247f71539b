import type { AddressInfo } from 'node:net';
import OpenAI, { APIError } from 'openai';
import type { FastifyInstance } from 'fastify';
import { expect } from 'vitest';
import { buildApp } from '../../src/app/app.js';
import { startFakeUpstream, type FakeUpstream } from './fake-upstream.js';
import { call } from './http.js';
import { openTestRegistry, type TestDialect, type TestRegistry } from './registry.js';

/**
 * A prompt `bake` (v1 the baseline on `production`, v2 the candidate) served through the gateway to real
 * traffic from the official `openai` client: each version names its own provider, each provider a local
 * OpenAI-compatible upstream (`baseline`, `candidate`), so a test sees which arm answered. The rollouts
 * scheduler's timer never starts; `look` settles the gateway's traces and ticks it as the lease holder.
 */

export type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** What the gateway answered one call: the arm, sha and rollout it served (an upstream error included). */
export interface GatewayAnswer {
  readonly arm: string | null;
  readonly sha: string | null;
  readonly rollout: string | null;
  readonly status: number;
}

export interface RolloutBake {
  readonly registry: TestRegistry;
  readonly app: FastifyInstance;
  readonly upstreams: { readonly baseline: FakeUpstream; readonly candidate: FakeUpstream };
  readonly v1: { readonly sha: string };
  readonly v2: { readonly sha: string };
  /** An API call as the admin, expected to succeed; its JSON body. */
  api(method: 'GET' | 'POST' | 'PUT', url: string, payload?: unknown): Promise<Json>;
  /** One chat completion through the gateway as `unitKey`. */
  send(unitKey: string): Promise<GatewayAnswer>;
  /** Every trace written, one tick by the lease holder, then the rollout as `GET /api/v1/rollouts/:id` shows it. */
  look(rolloutId: string): Promise<Json>;
  close(): Promise<void>;
}

const content = (system: string, provider: string) => ({
  name: 'bake',
  type: 'chat',
  messages: [{ role: 'system', content: system }],
  config: { provider, model: 'gpt-4o-mini', params: {} },
  variables: { user_name: { type: 'string', required: true } },
  slots: {},
});

/** `failCandidate`: the candidate's upstream answers every call with a 500 in OpenAI's error shape. */
export const openRolloutBake = async (
  dialect: TestDialect,
  options: { failCandidate?: boolean } = {},
): Promise<RolloutBake> => {
  const registry = await openTestRegistry(dialect);
  const baseline = await startFakeUpstream({ record: false });
  const candidate = await startFakeUpstream({ record: false });
  const app = await buildApp({
    storage: registry.storage,
    // Ticked by the test; the timer never starts (start-server.ts starts it).
    rollouts: { holder: 'e2e', tickMs: 60_000 },
    gateway: {
      config: {
        providers: { openai: { baseURL: `${baseline.url}/v1` }, flaky: { baseURL: `${candidate.url}/v1` } },
      },
    },
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  const client = new OpenAI({ apiKey: registry.keys.editor, baseURL: `${base}/v1`, maxRetries: 0 });

  const api = async (method: 'GET' | 'POST' | 'PUT', url: string, payload?: unknown): Promise<Json> => {
    const reply = await call<Json>(app, method, url, registry.keys.admin, payload);
    expect(reply.status, `${method} ${url}: ${reply.text}`).toBeLessThan(300);
    return reply.body;
  };

  const v1 = (await api('POST', '/api/v1/prompts/bake/versions', {
    content: content('Greet {{user_name}}.', 'openai'),
    parent: null,
    message: 'baseline',
  })) as { sha: string };
  const v2 = (await api('POST', '/api/v1/prompts/bake/versions', {
    content: content('Greet {{user_name}} warmly.', 'flaky'),
    parent: v1.sha,
    message: 'candidate',
  })) as { sha: string };
  await api('PUT', '/api/v1/prompts/bake/labels/production', { ref: 'v1' });

  const send = async (unitKey: string): Promise<GatewayAnswer> => {
    if (options.failCandidate === true)
      candidate.script.push({ status: 500, body: { error: { message: 'overloaded', type: 'server_error' } } });
    try {
      const { response } = await client.chat.completions
        .create({
          model: 'prompt:bake@production',
          user: unitKey,
          messages: [{ role: 'user', content: 'hello' }],
          ...({ promptops: { variables: { user_name: 'Ada' } } } as Record<string, unknown>),
        })
        .withResponse();
      return {
        arm: response.headers.get('x-promptops-arm'),
        sha: response.headers.get('x-promptops-sha'),
        rollout: response.headers.get('x-promptops-rollout'),
        status: response.status,
      };
    } catch (error) {
      if (!(error instanceof APIError)) throw error;
      return {
        arm: error.headers?.get('x-promptops-arm') ?? null,
        sha: error.headers?.get('x-promptops-sha') ?? null,
        rollout: error.headers?.get('x-promptops-rollout') ?? null,
        status: error.status ?? 0,
      };
    }
  };

  const look = async (rolloutId: string): Promise<Json> => {
    await app.gateway.settle();
    expect((await app.rolloutScheduler.tick()).held).toBe(true);
    return api('GET', `/api/v1/rollouts/${rolloutId}`);
  };

  return {
    registry,
    app,
    upstreams: { baseline, candidate },
    v1,
    v2,
    api,
    send,
    look,
    close: async () => {
      await app.close();
      await baseline.close();
      await candidate.close();
      await registry.close();
    },
  };
};
