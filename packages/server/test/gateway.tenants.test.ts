import type { AddressInfo } from 'node:net';
import OpenAI from 'openai';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../src/app/app.js';
import { startFakeUpstream, type FakeUpstream } from './support/fake-upstream.js';
import { call } from './support/http.js';
import { DIALECTS, openTestRegistry, type TestRegistry } from './support/registry.js';

/**
 * The gateway serves a tenant (`X-Promptops-Tenant`) its effective prompt: the shared prompt with the
 * tenant's override, never another tenant's; the answer names the effective and override shas, and the
 * trace records the tenant. Driven by the official `openai` client, on both databases.
 */

const greeter = {
  name: 'greeter',
  type: 'chat',
  messages: [{ role: 'system', content: '{{> greeting}} {{user_name}}.' }],
  config: { provider: 'openai', model: 'gpt-4o-mini', params: { temperature: 0.7 } },
  variables: { user_name: { type: 'string', required: true } },
  slots: { greeting: 'Hi' },
};

for (const dialect of DIALECTS)
  describe(`gateway tenants on ${dialect}`, () => {
    let registry: TestRegistry;
    let upstream: FakeUpstream;
    let app: FastifyInstance;
    let client: OpenAI;
    let base: string;

    const ask = (tenant?: string) =>
      client.chat.completions
        .create(
          {
            model: 'prompt:greeter',
            messages: [{ role: 'user', content: 'hello' }],
            ...({ promptops: { variables: { user_name: 'Ada' } } } as Record<string, unknown>),
          },
          tenant === undefined ? {} : { headers: { 'X-Promptops-Tenant': tenant } },
        )
        .withResponse();

    beforeAll(async () => {
      registry = await openTestRegistry(dialect);
      upstream = await startFakeUpstream();
      app = await buildApp({
        storage: registry.storage,
        gateway: {
          config: { providers: { openai: { baseURL: `${upstream.url}/v1`, apiKeyEnv: 'TEST_UPSTREAM_KEY' } } },
          source: 'test-gateway.yaml',
          env: { TEST_UPSTREAM_KEY: 'sk-upstream' },
        },
      });
      await app.listen({ host: '127.0.0.1', port: 0 });
      base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
      client = new OpenAI({ apiKey: registry.keys.editor, baseURL: `${base}/v1`, maxRetries: 0 });
      const admin = registry.keys.admin;
      const api = registry.app;
      expect(
        (
          await call(api, 'POST', '/api/v1/prompts/greeter/versions', admin, {
            content: greeter,
            parent: null,
            message: 'x',
          })
        ).status,
      ).toBe(201);
      expect((await call(api, 'PUT', '/api/v1/prompts/greeter/labels/production', admin, { ref: 'v1' })).status).toBe(
        200,
      );
      for (const [tenant, override] of [
        ['acme', { slots: { greeting: 'Good day,' }, params: { temperature: 0.1 } }],
        ['globex', { slots: { greeting: 'Hallo' } }],
      ] as const) {
        const set = await call(api, 'PUT', `/api/v1/prompts/greeter/tenants/${tenant}/override`, admin, {
          override,
          message: tenant,
        });
        expect(set.status, JSON.stringify(set.body)).toBe(201);
      }
    });

    afterAll(async () => {
      await app?.close();
      await upstream?.close();
      await registry?.close();
    });

    it("renders each tenant's effective prompt, and the shared one for a tenant without an override", async () => {
      const plain = await ask();
      const plainSha = plain.response.headers.get('x-promptops-sha');
      expect(upstream.requests.at(-1)!.body['messages'][0]).toEqual({ role: 'system', content: 'Hi Ada.' });
      expect(plain.response.headers.get('x-promptops-override-sha')).toBeNull();

      const acme = await ask('acme');
      const sent = upstream.requests.at(-1)!.body;
      expect(sent['messages'][0]).toEqual({ role: 'system', content: 'Good day, Ada.' });
      expect(sent['temperature']).toBe(0.1);
      expect(acme.response.headers.get('x-promptops-sha')).toBe(plainSha);
      expect(acme.response.headers.get('x-promptops-tenant')).toBe('acme');
      expect(acme.response.headers.get('x-promptops-override-sha')).toMatch(/^[0-9a-f]{64}$/);
      const acmeEffective = acme.response.headers.get('x-promptops-effective-sha');
      expect(acmeEffective).toMatch(/^[0-9a-f]{64}$/);
      expect(acmeEffective).not.toBe(plainSha);

      await ask('globex');
      expect(upstream.requests.at(-1)!.body['messages'][0]).toEqual({ role: 'system', content: 'Hallo Ada.' });

      // A tenant without an override (one named like a property of every object, too) gets the shared prompt.
      for (const other of ['initech', 'constructor']) {
        const answer = await ask(other);
        expect(upstream.requests.at(-1)!.body['messages'][0]).toEqual({ role: 'system', content: 'Hi Ada.' });
        expect(answer.response.headers.get('x-promptops-override-sha')).toBeNull();
        expect(answer.response.headers.get('x-promptops-effective-sha')).toBe(plainSha);
      }

      const expected = await call<{ effective: { sha: string; overrideSha: string } }>(
        registry.app,
        'GET',
        '/api/v1/prompts/greeter/tenants/acme/override',
        registry.keys.viewer,
      );
      expect(acmeEffective).toBe(expected.body.effective.sha);
      expect(acme.response.headers.get('x-promptops-override-sha')).toBe(expected.body.effective.overrideSha);
    });

    it('records the tenant and its shas on the trace', async () => {
      const { response } = await ask('acme');
      const id = response.headers.get('x-promptops-trace-id')!;
      await app.gateway.settle();
      const traces = await call<{ traces: Record<string, unknown>[] }>(
        registry.app,
        'GET',
        '/api/v1/traces?prompt=greeter&limit=200',
        registry.keys.viewer,
      );
      const trace = traces.body.traces.find((t) => t['id'] === id);
      expect(trace).toMatchObject({
        tenant: 'acme',
        prompt: {
          sha: response.headers.get('x-promptops-sha'),
          effectiveSha: response.headers.get('x-promptops-effective-sha'),
        },
        attributes: { 'promptops.override_sha': response.headers.get('x-promptops-override-sha') },
      });
      const globex = await call<{ traces: Record<string, unknown>[] }>(
        registry.app,
        'GET',
        '/api/v1/traces?prompt=greeter&tenant=globex&limit=200',
        registry.keys.viewer,
      );
      expect(globex.body.traces.length).toBeGreaterThan(0);
      expect(globex.body.traces.every((t) => t['tenant'] === 'globex')).toBe(true);
    });

    it('refuses a malformed tenant header with a 400 naming it', async () => {
      const answer = await fetch(`${base}/v1/chat/completions`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${registry.keys.editor}`,
          'content-type': 'application/json',
          'x-promptops-tenant': 'a/b',
          'x-promptops-variables': JSON.stringify({ user_name: 'Ada' }),
        },
        body: JSON.stringify({ model: 'prompt:greeter', messages: [] }),
      });
      expect(answer.status).toBe(400);
      expect(await answer.text()).toContain('X-Promptops-Tenant');
    });
  });
