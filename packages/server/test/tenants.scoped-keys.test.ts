import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PromptContent } from '@promptops/core';
import { buildApp } from '../src/app/app.js';
import type { Permission } from '../src/auth/permissions.js';
import { DIALECTS, openTestRegistry, type TestRegistry } from './support/registry.js';
import { openSse } from './support/sse.js';
import { ingest, SHA_A, traceEvent } from './support/traces.js';

/**
 * Tenant-scoped API keys on both databases: a key made for tenant acme reads and writes only acme's
 * overrides (routes, snapshot, change feed, traces), is refused every route that does not limit itself to
 * its tenant, and changes acme's override on a protected label only when the label's policy allows
 * tenant self-service; the audit entry records the key's tenant.
 */

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const V1: PromptContent = {
  name: 'greeter',
  type: 'text',
  template: '{{> greeting}} {{user}}.',
  config: { provider: 'openai', model: 'gpt-4o-mini', params: {} },
  variables: { user: { type: 'string', required: true } },
  slots: { greeting: 'Hello' },
};

/** Routes a tenant-scoped key may call: each limits itself to the key's tenant. */
const TENANT_ROUTES = [
  'GET /api/v1/me',
  'GET /api/v1/openapi.json',
  'GET /api/v1/prompts',
  'GET /api/v1/prompts/:name',
  'GET /api/v1/prompts/:name/versions',
  'GET /api/v1/prompts/:name/versions/:ref',
  'GET /api/v1/prompts/:name/diff',
  'GET /api/v1/prompts/:name/labels',
  'GET /api/v1/snapshot',
  'GET /api/v1/stream',
  'GET /api/v1/changes',
  'GET /api/v1/prompts/:name/tenants',
  'GET /api/v1/prompts/:name/tenants/:tenant/override',
  'PUT /api/v1/prompts/:name/tenants/:tenant/override',
  'GET /api/v1/prompts/:name/tenants/:tenant/override/history',
  'POST /api/v1/prompts/:name/tenants/:tenant/override/rollback',
  'GET /api/v1/traces',
  'GET /api/v1/traces/:id',
];

for (const dialect of DIALECTS)
  describe(`tenant-scoped keys on ${dialect}`, () => {
    let registry: TestRegistry;
    let acmeKey = '';
    let acmeViewer = '';
    const call = async (method: 'GET' | 'POST' | 'PUT', url: string, body?: unknown, key = registry.keys.admin) => {
      const response = await registry.app.inject({
        method,
        url,
        headers: { authorization: `Bearer ${key}` },
        ...(body === undefined ? {} : { payload: body as Json }),
      });
      return { status: response.statusCode, text: response.body, body: response.json() as Json };
    };
    const base = '/api/v1/prompts/greeter/tenants';
    const set = (tenant: string, body: Json, key: string) => call('PUT', `${base}/${tenant}/override`, body, key);

    beforeAll(async () => {
      registry = await openTestRegistry(dialect);
      const pushed = await call('POST', '/api/v1/prompts/greeter/versions', { content: V1, parent: null });
      expect(pushed.status).toBe(201);
      for (const label of ['production', 'staging']) {
        expect((await call('PUT', `/api/v1/prompts/greeter/labels/${label}`, { ref: 'v1' })).status).toBe(200);
      }
      const admin = registry.keys.admin;
      expect(
        (await set('acme', { override: { slots: { greeting: 'Good day' } }, message: 'formal' }, admin)).status,
      ).toBe(201);
      expect((await set('globex', { override: { slots: { greeting: 'Hallo' } }, message: 'de' }, admin)).status).toBe(
        201,
      );
      const created = await call('POST', '/api/v1/keys', { name: 'acme portal', role: 'editor', tenant: 'acme' });
      expect(created.status, created.text).toBe(201);
      expect(created.body['key']).toMatchObject({ tenant: 'acme', role: 'editor' });
      acmeKey = created.body['secret'] as string;
      const viewer = await call('POST', '/api/v1/keys', { name: 'acme reader', role: 'viewer', tenant: 'acme' });
      acmeViewer = viewer.body['secret'] as string;
      const ingested = await ingest(registry.app, registry.keys.editor, {
        events: [
          traceEvent('sk-acme', { tenant: 'acme', prompt: { name: 'greeter', version: 1, sha: SHA_A } }),
          traceEvent('sk-globex', { tenant: 'globex', prompt: { name: 'greeter', version: 1, sha: SHA_A } }),
          traceEvent('sk-none', { tenant: null, prompt: { name: 'greeter', version: 1, sha: SHA_A } }),
        ],
      });
      expect(ingested.statusCode, ingested.body).toBe(200);
    });
    afterAll(async () => registry.close());

    it('creates, lists and rotates a key with its tenant; only viewer or editor; /me names the tenant', async () => {
      const me = await call('GET', '/api/v1/me', undefined, acmeKey);
      expect(me.body).toMatchObject({ tenant: 'acme', role: 'editor' });
      expect((await call('GET', '/api/v1/me')).body['tenant']).toBeNull();
      const listed = await call('GET', '/api/v1/keys');
      expect((listed.body['keys'] as Json[]).find((k) => k['name'] === 'acme portal')?.['tenant']).toBe('acme');
      const admin = await call('POST', '/api/v1/keys', { name: 'acme admin', role: 'admin', tenant: 'acme' });
      expect(admin.status).toBe(400);
      expect(admin.body['error']['issues'][0]['path']).toBe('role');
      const badTenant = await call('POST', '/api/v1/keys', { name: 'bad', role: 'viewer', tenant: 'a/b' });
      expect(badTenant.status).toBe(400);
      const spare = await call('POST', '/api/v1/keys', { name: 'acme spare', role: 'viewer', tenant: 'acme' });
      const rotated = await call('POST', `/api/v1/keys/${spare.body['key']['keyId']}/rotate`, {});
      expect(rotated.body['key']).toMatchObject({ tenant: 'acme' });
      const audit = await call('GET', '/api/v1/audit?limit=200');
      const entry = (audit.body['entries'] as Json[]).find(
        (e) => e['action'] === 'key.created' && e['data']['name'] === 'acme portal',
      );
      expect(entry?.['data']).toMatchObject({ tenant: 'acme' });
    });

    it("reads only its own tenant's override; another tenant's is refused alike whether or not it exists", async () => {
      const own = await call('GET', `${base}/acme/override`, undefined, acmeViewer);
      expect(own.status).toBe(200);
      expect(own.body['effective']['content']['slots']['greeting']).toBe('Good day');
      for (const url of [`${base}/globex/override`, `${base}/globex/override/history`, `${base}/initech/override`]) {
        const refused = await call('GET', url, undefined, acmeViewer);
        expect(refused.status, url).toBe(403);
        expect(refused.body['error']['code']).toBe('tenant_scope');
        expect(refused.text).not.toContain('Hallo');
      }
      const list = await call('GET', base, undefined, acmeViewer);
      expect(list.status).toBe(200);
      expect((list.body['tenants'] as Json[]).map((t) => t['tenant'])).toEqual(['acme']);
      expect(list.text).not.toContain('Hallo');
    });

    it("cannot write another tenant's override; writes its own on an unprotected label, recorded with its tenant", async () => {
      const other = await set('globex', { override: { slots: { greeting: 'Hi' } }, message: 'x' }, acmeKey);
      expect(other.status).toBe(403);
      expect(other.body['error']['code']).toBe('tenant_scope');
      const back = await call('POST', `${base}/globex/override/rollback`, { version: 1 }, acmeKey);
      expect(back.status).toBe(403);
      const viewer = await set('acme', { override: { slots: { greeting: 'Hey' } }, message: 'x' }, acmeViewer);
      expect(viewer.status).toBe(403);
      const own = await set(
        'acme',
        { override: { slots: { greeting: 'Greetings' } }, message: 'x', label: 'staging' },
        acmeKey,
      );
      expect(own.status, own.text).toBe(201);
      const audit = await call('GET', '/api/v1/audit?limit=200');
      const entry = (audit.body['entries'] as Json[]).find(
        (e) => e['action'] === 'override.set' && e['data']['label'] === 'staging' && e['data']['tenant'] === 'acme',
      );
      expect(entry?.['data']).toMatchObject({ keyTenant: 'acme' });
      expect(entry?.['data']['protectedLabel']).toBeUndefined();
      const globex = await call('GET', `${base}/globex/override`);
      expect(globex.body['override']['version']).toBe(1);
    });

    it("the snapshot and the change feed carry only the key's tenant's overrides", async () => {
      const snapshot = await call('GET', '/api/v1/snapshot', undefined, acmeViewer);
      expect(snapshot.status).toBe(200);
      expect(Object.keys(snapshot.body['prompts']['greeter']['overrides'])).toEqual(['acme']);
      expect(snapshot.text).not.toContain('Hallo');
      const full = await call('GET', '/api/v1/snapshot', undefined, registry.keys.viewer);
      expect(Object.keys(full.body['prompts']['greeter']['overrides']).sort()).toEqual(['acme', 'globex']);

      const changes = await call('GET', '/api/v1/changes?after=0', undefined, acmeViewer);
      expect(changes.status).toBe(200);
      const tenants = (changes.body['events'] as Json[])
        .filter((e) => e['type'] === 'override')
        .map((e) => e['tenant']);
      expect(tenants.length).toBeGreaterThan(0);
      expect(new Set(tenants)).toEqual(new Set(['acme']));
      expect(changes.text).not.toContain('Hallo');
      const all = await call('GET', '/api/v1/changes?after=0', undefined, registry.keys.viewer);
      expect(all.text).toContain('Hallo');
    });

    it("lists and opens only its tenant's traces", async () => {
      const listed = await call('GET', '/api/v1/traces', undefined, acmeViewer);
      expect(listed.status).toBe(200);
      expect((listed.body['traces'] as Json[]).map((t) => t['id'])).toEqual(['sk-acme']);
      const asked = await call('GET', '/api/v1/traces?tenant=globex', undefined, acmeViewer);
      expect(asked.status).toBe(403);
      expect(asked.body['error']['code']).toBe('tenant_scope');
      expect((await call('GET', '/api/v1/traces?tenant=acme', undefined, acmeViewer)).status).toBe(200);
      expect((await call('GET', '/api/v1/traces/sk-acme', undefined, acmeViewer)).status).toBe(200);
      for (const id of ['sk-globex', 'sk-none']) {
        const other = await call('GET', `/api/v1/traces/${id}`, undefined, acmeViewer);
        expect(other.status, id).toBe(404);
        expect(other.body['error']['code']).toBe('trace_not_found');
      }
      const metrics = await call('GET', '/api/v1/prompts/greeter/metrics?by=tenant', undefined, acmeViewer);
      expect(metrics.status).toBe(403);
      const write = await ingest(registry.app, acmeKey, { events: [traceEvent('sk-write', { tenant: 'globex' })] });
      expect(write.statusCode).toBe(403);
    });

    it('changes its own override on a protected label only when the policy allows tenant self-service', async () => {
      expect((await call('PUT', '/api/v1/policies/production', { approvals: 1 })).status).toBe(200);
      const before = await set('acme', { override: { slots: { greeting: 'Yo' } }, message: 'x' }, acmeKey);
      expect(before.status).toBe(403);
      expect(before.body['error']['code']).toBe('label_protected');
      const policy = await call('PUT', '/api/v1/policies/production', { approvals: 1, tenantSelfService: true });
      expect(policy.status, policy.text).toBe(200);
      expect(policy.body['policy']).toMatchObject({ tenantSelfService: true });
      const own = await set('acme', { override: { slots: { greeting: 'Yo' } }, message: 'self-service' }, acmeKey);
      expect(own.status, own.text).toBe(201);
      const other = await set('globex', { override: { slots: { greeting: 'Yo' } }, message: 'x' }, acmeKey);
      expect(other.status).toBe(403);
      expect(other.body['error']['code']).toBe('tenant_scope');
      // Everyone else keeps the rule: an editor without a tenant scope is still refused.
      const editor = await set(
        'globex',
        { override: { slots: { greeting: 'Yo' } }, message: 'x' },
        registry.keys.editor,
      );
      expect(editor.body['error']['code']).toBe('label_protected');
      const audit = await call('GET', '/api/v1/audit?limit=200');
      const entry = (audit.body['entries'] as Json[]).find(
        (e) => e['action'] === 'override.set' && e['data']['message'] === 'self-service',
      );
      expect(entry?.['data']).toMatchObject({ protectedLabel: true, tenantSelfService: true, keyTenant: 'acme' });
    });

    it("the change stream sends no other tenant's override event", async () => {
      await registry.app.listen({ port: 0, host: '127.0.0.1' });
      const address = registry.app.server.address();
      if (typeof address !== 'object' || address === null) throw new Error('no address');
      const url = `http://127.0.0.1:${address.port}/api/v1/stream?after=0`;
      const stream = await openSse(url, { authorization: `Bearer ${acmeViewer}` });
      try {
        const admin = registry.keys.admin;
        const change = { label: 'staging', message: 'stream' };
        expect((await set('globex', { override: { slots: { greeting: 'Servus' } }, ...change }, admin)).status).toBe(
          201,
        );
        expect((await set('acme', { override: { slots: { greeting: 'Howdy' } }, ...change }, admin)).status).toBe(201);
        // Events arrive in audit order: once acme's later one is here, globex's would have been too.
        await stream.until(() => stream.messages.some((m) => m.event === 'override' && m.data.includes('Howdy')));
        const overrides = stream.messages.filter((m) => m.event === 'override');
        expect(overrides.map((m) => (JSON.parse(m.data) as Json)['tenant'])).toEqual(overrides.map(() => 'acme'));
        expect(stream.messages.some((m) => m.data.includes('Servus') || m.data.includes('Hallo'))).toBe(false);
      } finally {
        await stream.close();
      }
    });

    it('is refused every route that does not limit itself to its tenant (tenant x route matrix)', async () => {
      const routes: { method: string; url: string; permission: Permission | undefined; tenantScoped: boolean }[] = [];
      const app = await buildApp({ storage: registry.storage, onRoute: (route) => routes.push(route) });
      await app.close();
      const guarded = routes.filter(
        (r) => (r.url.startsWith('/api/') || r.url.startsWith('/v1/')) && r.method !== 'HEAD',
      );
      expect(
        guarded
          .filter((r) => r.tenantScoped)
          .map((r) => `${r.method} ${r.url}`)
          .sort(),
      ).toEqual([...TENANT_ROUTES].sort());
      const sample = (url: string): string =>
        url
          .replace(':name', 'greeter')
          .replace(':tenant', 'acme')
          .replace(':ref', 'v1')
          .replace(':label', 'production')
          .replace(':keyId', '0123456789abcdef')
          .replace(':baseId', '2')
          .replace(':team', 'support')
          .replace(':id', '1');
      let refused = 0;
      for (const route of guarded.filter((r) => !r.tenantScoped)) {
        const response = await registry.app.inject({
          method: route.method as 'GET',
          url: sample(route.url),
          headers: { authorization: `Bearer ${acmeKey}` },
          ...(route.method === 'GET' ? {} : { payload: {} }),
        });
        const label = `${route.method} ${route.url}`;
        expect(response.statusCode, label).toBe(403);
        // Langfuse's, OTLP's and OpenAI's error shapes differ; each carries the message.
        expect(response.body, label).toContain("scoped to tenant 'acme'");
        if (route.url.startsWith('/api/v1/'))
          expect(response.json<Json>()['error']['code'], label).toBe('tenant_scope');
        refused += 1;
      }
      expect(refused).toBeGreaterThan(40);
    });

    it('verify shows a tenant scope dropped or changed in SQL (it would widen what the key reaches)', async () => {
      type Report = { problems: { table: string; problem: string; message: string }[] };
      const keyProblems = async (): Promise<Report['problems']> =>
        ((await call('GET', '/api/v1/verify')).body as Report).problems.filter((p) => p.table === 'api_keys');
      expect(await keyProblems()).toEqual([]);
      await registry.storage.rawSql(`UPDATE api_keys SET tenant = NULL WHERE name = 'acme reader'`);
      await registry.storage.rawSql(`UPDATE api_keys SET tenant = 'globex' WHERE name = 'acme portal'`);
      const problems = await keyProblems();
      expect(problems).toHaveLength(2);
      for (const problem of problems) {
        expect(problem).toMatchObject({ problem: 'altered', message: expect.stringContaining('tenant') });
      }
    });
  });
