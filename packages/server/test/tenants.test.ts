import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { effectivePrompt, parseOverride, promptSha, type PromptContent } from '@promptops/core';
import { DIALECTS, openTestRegistry, type TestRegistry } from './support/registry.js';

/**
 * Tenant overrides over HTTP on both databases: versions, history, rollback and audit entries; the
 * effective prompt and its three shas; refusals; a protected label's overrides; the orphaned-slot gate;
 * one tenant never sees another's override.
 */

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const content = (slots: Record<string, string>, template: string): PromptContent => ({
  name: 'greeter',
  type: 'text',
  template,
  config: { provider: 'openai', model: 'gpt-4o-mini', params: {} },
  variables: { user: { type: 'string', required: true } },
  slots,
});
const V1 = content({ greeting: 'Hello', closing: 'Bye' }, '{{> greeting}} {{user}}. {{> closing}}');
const V2 = content({ closing: 'Bye' }, 'Hi {{user}}. {{> closing}}');

for (const dialect of DIALECTS) {
  describe(`tenant overrides on ${dialect}`, () => {
    let registry: TestRegistry;
    const call = async (method: 'GET' | 'POST' | 'PUT', url: string, body?: unknown, key = registry.keys.admin) => {
      const response = await registry.app.inject({
        method,
        url,
        headers: { authorization: `Bearer ${key}` },
        ...(body === undefined ? {} : { payload: body as Json }),
      });
      return { status: response.statusCode, body: response.json() as Json };
    };
    const base = '/api/v1/prompts/greeter/tenants';
    const set = (tenant: string, body: Json, key = registry.keys.editor) =>
      call('PUT', `${base}/${tenant}/override`, body, key);

    beforeAll(async () => {
      registry = await openTestRegistry(dialect);
      const pushed = await call('POST', '/api/v1/prompts/greeter/versions', {
        content: V1,
        parent: null,
        message: 'v1',
      });
      expect(pushed.status).toBe(201);
      const v2 = await call('POST', '/api/v1/prompts/greeter/versions', {
        content: V2,
        parent: pushed.body['sha'],
        message: 'v2 drops greeting',
      });
      expect(v2.status).toBe(201);
      for (const label of ['production', 'staging']) {
        expect((await call('PUT', `/api/v1/prompts/greeter/labels/${label}`, { ref: 'v1' })).status).toBe(200);
      }
    });
    afterAll(async () => registry.close());

    it('sets versions, answers the effective prompt with its three shas, lists, keeps history and rolls back', async () => {
      const first = await set('acme', { override: { slots: { greeting: 'Good day' } }, message: 'formal' });
      expect(first.status).toBe(201);
      expect(first.body['override']).toMatchObject({ tenant: 'acme', version: 1, label: 'production', baseSha: null });
      const again = await set('acme', { override: { slots: { greeting: 'Good day' } }, message: 'same' });
      expect(again.status).toBe(200);
      expect(again.body['override']['version']).toBe(1);
      const second = await set('acme', {
        override: { slots: { greeting: 'Greetings' }, params: { temperature: 0 } },
        message: 'v2',
      });
      expect(second.body['override']['version']).toBe(2);
      expect((await set('globex', { override: { slots: { greeting: 'Hallo' } }, message: 'de' })).status).toBe(201);

      const got = await call('GET', `${base}/acme/override`, undefined, registry.keys.viewer);
      expect(got.status).toBe(200);
      const expected = effectivePrompt(
        V1,
        parseOverride({ slots: { greeting: 'Greetings' }, params: { temperature: 0 } }),
      );
      expect(got.body['effective']).toEqual({ ...expected, label: 'production' });
      expect(got.body['effective']['baseSha']).toBe(promptSha(V1));

      const list = await call('GET', base, undefined, registry.keys.viewer);
      expect(list.body['tenants'].map((t: Json) => [t.tenant, t.version])).toEqual([
        ['acme', 2],
        ['globex', 1],
      ]);
      const history = await call('GET', `${base}/acme/override/history`);
      expect(history.body['versions'].map((v: Json) => v.version)).toEqual([2, 1]);

      const back = await call('POST', `${base}/acme/override/rollback`, { version: 1 }, registry.keys.editor);
      expect(back.status).toBe(201);
      expect(back.body['override']).toMatchObject({ version: 3, sha: first.body['override']['sha'] });

      const audit = await call('GET', '/api/v1/audit?limit=100');
      const actions = (audit.body['entries'] as Json[])
        .filter((e) => String(e['action']).startsWith('override.'))
        .map((e) => [e['action'], e['data']['tenant'], e['data']['version']]);
      expect(actions).toEqual(
        expect.arrayContaining([
          ['override.set', 'acme', 1],
          ['override.set', 'acme', 2],
          ['override.set', 'globex', 1],
          ['override.rolled_back', 'acme', 3],
        ]),
      );
      expect(actions).toHaveLength(4);
    });

    it('refuses a slot the prompt lacks (listing its slots), anything else, latest, and unknown tenants', async () => {
      const slot = await set('acme', { override: { slots: { greting: 'x' } }, message: 'typo' });
      expect(slot.status).toBe(400);
      expect(slot.body['error']).toMatchObject({
        code: 'override_unknown_slot',
        details: { slots: ['closing', 'greeting'] },
      });
      const other = await set('acme', { override: { template: 'x' }, message: 'nope' });
      expect(other.body['error']['code']).toBe('invalid_override');
      const latest = await set('acme', { override: {}, message: 'x', label: 'latest' });
      expect(latest.body['error']['code']).toBe('label_reserved');
      const badTenant = await set('a%2Fb', { override: {}, message: 'x' });
      expect(badTenant.status).toBe(400);
      expect((await call('GET', `${base}/initech/override`)).body['error']['code']).toBe('override_not_found');
    });

    it('never answers one tenant with another tenant’s override', async () => {
      const acme = await call('GET', `${base}/acme/override`);
      const globex = await call('GET', `${base}/globex/override`);
      expect(acme.body['override']['tenant']).toBe('acme');
      expect(globex.body['override']['tenant']).toBe('globex');
      expect(globex.body['effective']['content']['slots']['greeting']).toBe('Hallo');
      expect(acme.body['effective']['content']['slots']['greeting']).toBe('Good day');
    });

    it('on a protected label refuses editors with a fix and records an admin change as such', async () => {
      expect((await call('PUT', '/api/v1/policies/staging', { approvals: 1 })).status).toBe(200);
      const refused = await set('acme', { override: { slots: { closing: 'Ciao' } }, message: 'x', label: 'staging' });
      expect(refused.status).toBe(403);
      expect(refused.body['error']['code']).toBe('label_protected');
      expect(refused.body['error']['fix']).toMatch(/admin/);
      const admin = await set(
        'initech',
        { override: { slots: { closing: 'Ciao' } }, message: 'x', label: 'staging' },
        registry.keys.admin,
      );
      expect(admin.status).toBe(201);
      const audit = await call('GET', '/api/v1/audit?limit=100');
      const entry = (audit.body['entries'] as Json[]).find((e) => e['data']['tenant'] === 'initech');
      expect(entry?.['data']).toMatchObject({ label: 'staging', protectedLabel: true });
    });

    it('refuses a promote that would orphan overridden slots, naming the tenants; an admin may force it', async () => {
      const refused = await call(
        'PUT',
        '/api/v1/prompts/greeter/labels/production',
        { ref: 'v2' },
        registry.keys.deployer,
      );
      expect(refused.status).toBe(409);
      expect(refused.body['error']['code']).toBe('overrides_orphaned');
      expect(refused.body['error']['message']).toContain('acme');
      expect(refused.body['error']['message']).toContain('globex');
      expect(refused.body['error']['details']['tenants']).toEqual({ acme: ['greeting'], globex: ['greeting'] });
      const forced = await call('PUT', '/api/v1/prompts/greeter/labels/production', {
        ref: 'v2',
        force: true,
        reason: 'greeting moves into the template',
      });
      expect(forced.status).toBe(200);
      expect(forced.body['deployment']['kind']).toBe('break-glass');
    });
  });
}
