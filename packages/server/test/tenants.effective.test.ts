import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { diffPrompts, effectivePrompt, parseOverride, promptSha, type PromptContent } from '@promptops/core';
import { addKey, DIALECTS, openTestRegistry, type TestRegistry } from './support/registry.js';

/**
 * The dashboard's reads of tenant overrides, on both databases: every tenant's effective sha beside its
 * current override, and one tenant's effective prompt diffed against its base; a viewer may read them,
 * another project's key may not, and an override that no longer fits its base is said so.
 */

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const content = (slots: Record<string, string>, template: string): PromptContent => ({
  name: 'greeter',
  type: 'text',
  template,
  config: { provider: 'openai', model: 'gpt-4o-mini', params: { temperature: 0.5 } },
  variables: { user: { type: 'string', required: true } },
  slots,
});
const V1 = content({ greeting: 'Hello', closing: 'Bye' }, '{{> greeting}} {{user}}. {{> closing}}');
const V2 = content({ closing: 'Bye' }, 'Hi {{user}}. {{> closing}}');
const ACME = { slots: { greeting: 'Good day' }, params: { temperature: 0.1 } };
const GLOBEX = { slots: { closing: 'Tschüss' } };
const OTHER_KEY = 'po_test_other_project_admin_key_00000';

for (const dialect of DIALECTS) {
  describe(`tenant effective reads on ${dialect}`, () => {
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

    beforeAll(async () => {
      registry = await openTestRegistry(dialect);
      const v1 = await call('POST', '/api/v1/prompts/greeter/versions', { content: V1, parent: null, message: 'v1' });
      const v2 = await call('POST', '/api/v1/prompts/greeter/versions', {
        content: V2,
        parent: v1.body['sha'],
        message: 'v2',
      });
      expect(v2.status).toBe(201);
      expect((await call('PUT', '/api/v1/prompts/greeter/labels/production', { ref: 'v1' })).status).toBe(200);
      expect((await call('PUT', `${base}/acme/override`, { override: ACME, message: 'formal' })).status).toBe(201);
      expect((await call('PUT', `${base}/globex/override`, { override: GLOBEX, message: 'de' })).status).toBe(201);
      // initech replaces a slot v1 has; the last test moves production to v2, which lacks it (break glass).
      expect(
        (await call('PUT', `${base}/initech/override`, { override: { slots: { greeting: 'Yo' } }, message: 'x' }))
          .status,
      ).toBe(201);
      const other = await registry.storage.transaction((tx) =>
        tx.registry.createProject('other', new Date().toISOString()),
      );
      await addKey(registry.storage, other.id, 'admin', OTHER_KEY);
    });
    afterAll(async () => registry.close());

    it("lists every tenant's override with its effective sha, base and override shas, for a viewer", async () => {
      const list = await call('GET', `${base}/effective`, undefined, registry.keys.viewer);
      expect(list.status, JSON.stringify(list.body)).toBe(200);
      const byTenant = Object.fromEntries((list.body['tenants'] as Json[]).map((t) => [t['tenant'], t]));
      expect(Object.keys(byTenant).sort()).toEqual(['acme', 'globex', 'initech']);
      const acme = effectivePrompt(V1, parseOverride(ACME));
      expect(byTenant['acme']).toMatchObject({
        version: 1,
        author: 'key:admin',
        message: 'formal',
        effective: { label: 'production', sha: acme.sha, baseSha: promptSha(V1), baseVersion: 1, applies: true },
      });
      expect(byTenant['acme']['effective']['overrideSha']).toBe(acme.overrideSha);
      expect(byTenant['globex']['effective']['sha']).toBe(effectivePrompt(V1, parseOverride(GLOBEX)).sha);
    });

    it("diffs one tenant's effective prompt against its base", async () => {
      const got = await call('GET', `${base}/acme/effective`, undefined, registry.keys.viewer);
      expect(got.status, JSON.stringify(got.body)).toBe(200);
      const acme = effectivePrompt(V1, parseOverride(ACME));
      expect(got.body['effective']).toMatchObject({ sha: acme.sha, baseSha: promptSha(V1), baseVersion: 1 });
      expect(got.body['override']).toMatchObject({ tenant: 'acme', version: 1 });
      const diff = diffPrompts(V1, acme.content, { from: 'x', to: 'y' });
      expect(got.body['diff']['lines']).toEqual(diff.lines);
      expect(got.body['diff']['fields']).toEqual(diff.fields);
      expect(JSON.stringify(got.body['diff'])).toContain('Good day');
      expect(JSON.stringify(got.body['diff'])).not.toContain('Tschüss');
    });

    it("refuses another project's key and a tenant without an override", async () => {
      const list = await call('GET', `${base}/effective`, undefined, OTHER_KEY);
      expect(list.status).toBe(404);
      const one = await call('GET', `${base}/acme/effective`, undefined, OTHER_KEY);
      expect(one.status).toBe(404);
      expect(JSON.stringify(one.body)).not.toContain('Good day');
      const none = await call('GET', `${base}/umbrella/effective`, undefined, registry.keys.viewer);
      expect(none.status).toBe(404);
      expect(none.body['error']['code']).toBe('override_not_found');
    });

    it('says an override no longer fits its base, serving the base (after a forced promote)', async () => {
      const forced = await call('PUT', '/api/v1/prompts/greeter/labels/production', {
        ref: 'v2',
        force: true,
        reason: 'test',
      });
      expect(forced.status, JSON.stringify(forced.body)).toBe(200);
      const list = await call('GET', `${base}/effective`, undefined, registry.keys.viewer);
      const initech = (list.body['tenants'] as Json[]).find((t) => t['tenant'] === 'initech')!;
      expect(initech['effective']).toMatchObject({
        applies: false,
        sha: promptSha(V2),
        baseSha: promptSha(V2),
        overrideSha: null,
        baseVersion: 2,
      });
      expect(initech['effective']['reason']).toContain("'greeting'");
      const one = await call('GET', `${base}/initech/effective`, undefined, registry.keys.viewer);
      expect(one.status).toBe(200);
      expect(one.body['effective']).toMatchObject({ applies: false, sha: promptSha(V2) });
      expect(one.body['diff']['identical']).toBe(true);
    });
  });
}
