import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedDemo } from '../src/demo/seed.js';
import { DIALECTS, openTestRegistry, type TestRegistry } from './support/registry.js';

/**
 * The demo's tenants through the real services: acme (formal) and globex (German) override the greeter on
 * the production label it follows, set by dana (an admin: production is protected); production itself still
 * serves v18 to everyone else; a few calls served with each tenant's effective prompt make metrics by
 * tenant show them, and no tenant's trace carries another's effective sha. A fix to the shared prompt
 * reaches both tenants.
 */

const GREETER = 'customer_support_greeter';
const V18_SHA = '7ba01d740f0d41a20337a515e24ba53a01f9197032fc142871b8bcd1cac28278';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

for (const dialect of DIALECTS) {
  describe(`the demo's tenants on ${dialect}`, () => {
    let registry: TestRegistry;
    const get = async (url: string): Promise<Json> => {
      const response = await registry.app.inject({
        method: 'GET',
        url,
        headers: { authorization: `Bearer ${registry.keys.viewer}` },
      });
      expect(response.statusCode, response.body).toBe(200);
      return response.json<Json>();
    };

    beforeAll(async () => {
      registry = await openTestRegistry(dialect);
      const project = await registry.storage.registry.getProject(registry.projectId);
      await seedDemo(registry.storage, project!, new Date());
    });
    afterAll(async () => registry.close());

    it('acme and globex override the greeter on production, which still serves v18', async () => {
      const prompt = await get(`/api/v1/prompts/${GREETER}`);
      expect(prompt['version']).toBe(18);
      const production = (prompt['labels'] as Json[]).find((l) => l['label'] === 'production');
      expect(production).toMatchObject({ version: 18, sha: V18_SHA });

      const { tenants } = await get(`/api/v1/prompts/${GREETER}/tenants/effective`);
      expect((tenants as Json[]).map((t) => t['tenant'])).toEqual(['acme', 'globex']);
      for (const tenant of tenants as Json[]) {
        expect(tenant).toMatchObject({ label: 'production', baseSha: null, author: 'dana' });
        expect(tenant['effective']).toMatchObject({ applies: true, baseSha: V18_SHA, baseVersion: 18 });
        expect(tenant['effective']['sha']).not.toBe(V18_SHA);
      }
      expect(tenants[0]['effective']['sha']).not.toBe(tenants[1]['effective']['sha']);

      const acme = await get(`/api/v1/prompts/${GREETER}/tenants/acme/effective`);
      expect(JSON.stringify(acme['diff'])).toContain('valued customer');
      const globex = await get(`/api/v1/prompts/${GREETER}/tenants/globex/effective`);
      expect(JSON.stringify(globex['diff'])).toContain('Kundin');

      const audit = await get('/api/v1/audit?limit=200');
      const sets = (audit['entries'] as Json[]).filter((e) => e['action'] === 'override.set');
      expect(sets.map((e) => [e['data']['tenant'], e['actor'], e['data']['protectedLabel']]).sort()).toEqual([
        ['acme', 'dana', true],
        ['globex', 'dana', true],
      ]);
    });

    it("records calls served with each tenant's effective prompt, shown by metrics by tenant", async () => {
      const { tenants } = await get(`/api/v1/prompts/${GREETER}/tenants/effective`);
      const effective = Object.fromEntries((tenants as Json[]).map((t) => [t['tenant'], t['effective']['sha']]));
      const metrics = await get(`/api/v1/prompts/${GREETER}/metrics?by=tenant&since=7d&bucket=1d`);
      const counts = Object.fromEntries((metrics['series'] as Json[]).map((s) => [s['key'], s['totals']['count']]));
      expect(counts['acme']).toBeGreaterThan(0);
      expect(counts['globex']).toBeGreaterThan(0);
      for (const tenant of ['acme', 'globex']) {
        const { traces } = await get(`/api/v1/traces?tenant=${tenant}&prompt=${GREETER}&limit=500`);
        const served = (traces as Json[]).filter((t) => t['prompt']['effectiveSha'] !== null);
        expect(served.length, tenant).toBeGreaterThan(0);
        // Every call with an override was served this tenant's effective prompt on v18, never another's.
        expect(new Set(served.map((t) => t['prompt']['effectiveSha']))).toEqual(new Set([effective[tenant]]));
        expect(new Set(served.map((t) => t['prompt']['sha']))).toEqual(new Set([V18_SHA]));
      }
    });

    it('a fix to the shared greeter reaches both tenants, each keeping its own wording', async () => {
      const send = async (method: 'POST' | 'PUT', url: string, payload: Json): Promise<Json> => {
        const response = await registry.app.inject({
          method,
          url,
          payload,
          headers: { authorization: `Bearer ${registry.keys.admin}` },
        });
        expect(response.statusCode, response.body).toBeLessThan(300);
        return response.json<Json>();
      };
      const v18 = (await get(`/api/v1/prompts/${GREETER}/versions/v18`))['content'] as Json;
      const [system, ...rest] = v18['messages'] as Json[];
      const fixed = {
        ...v18,
        messages: [{ ...system, content: `${system!['content']}Always greet the user by name.\n` }, ...rest],
      };
      await send('POST', `/api/v1/prompts/${GREETER}/versions`, { content: fixed, parent: V18_SHA, message: 'fix' });
      await send('PUT', `/api/v1/prompts/${GREETER}/labels/production`, {
        ref: 'v19',
        force: true,
        reason: 'greet by name again',
      });
      const { tenants } = await get(`/api/v1/prompts/${GREETER}/tenants/effective`);
      for (const tenant of ['acme', 'globex']) {
        const shown = await get(`/api/v1/prompts/${GREETER}/tenants/${tenant}/override`);
        expect(shown['effective']['content']['messages'][0]['content']).toContain('Always greet the user by name.');
        const own = tenant === 'acme' ? 'valued customer' : 'liebe Kundin, lieber Kunde';
        expect(shown['effective']['content']['variables']['user_name']['default']).toBe(own);
        const listed = (tenants as Json[]).find((t) => t['tenant'] === tenant)!;
        expect(listed['effective']).toMatchObject({ applies: true, baseVersion: 19, sha: shown['effective']['sha'] });
      }
    });
  });
}
