import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachDatabase } from './support/databases.js';
import { openTestRegistry, textContent, type TestRegistry } from './support/registry.js';

/**
 * Default monitors: every label a policy protects gets one (notify, the core defaults) at the runner's
 * next tick, only where the most specific policy protects it; never twice, never on unprotected labels,
 * and never when the label already has a monitor of its own.
 */

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = Record<string, any>;

describeEachDatabase('default monitors (%s)', (dialect) => {
  let registry: TestRegistry;

  const call = async (method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, body?: unknown) => {
    const response = await registry.app.inject({
      method,
      url,
      headers: { authorization: `Bearer ${registry.keys.admin}` },
      ...(body === undefined ? {} : { payload: body as Json }),
    });
    expect(response.statusCode, `${method} ${url}: ${response.body}`).toBeLessThan(300);
    return response.body === '' ? {} : (response.json() as Json);
  };
  const push = (name: string) =>
    call('POST', `/api/v1/prompts/${name}/versions`, { content: textContent(name, 'Hello'), parent: null });

  const monitors = async (name: string): Promise<Json[]> =>
    (await call('GET', `/api/v1/prompts/${name}/monitors`))['monitors'] as Json[];

  beforeAll(async () => {
    registry = await openTestRegistry(dialect);
  });
  afterAll(async () => {
    await registry.close();
  });

  it('creates one notify monitor per protected label at the next tick, and only one', async () => {
    for (const name of ['greeter', 'faq', 'mine']) {
      await push(name);
      await call('PUT', `/api/v1/prompts/${name}/labels/staging`, { ref: 'v1' });
      await call('PUT', `/api/v1/prompts/${name}/labels/production`, { ref: 'v1' });
    }
    await call('POST', '/api/v1/prompts/mine/monitors', {
      label: 'production',
      config: { action: 'rollback', conditions: [{ metric: 'score', threshold: -0.2 }] },
    });
    // Nothing protected yet: no defaults.
    await registry.app.monitorRunner.tick();
    expect(await monitors('greeter')).toEqual([]);

    await call('PUT', '/api/v1/policies/production', { approvals: 0 });
    await registry.app.monitorRunner.tick();
    await registry.app.monitorRunner.tick();
    for (const name of ['greeter', 'faq']) {
      const found = await monitors(name);
      expect(found).toHaveLength(1);
      expect(found[0]).toMatchObject({ label: 'production', createdBy: 'promptops:default-monitor' });
      expect(JSON.parse(found[0]!['config'] as string)).toMatchObject({
        action: 'notify',
        conditions: [
          { metric: 'error_rate', threshold: 0.05 },
          { metric: 'score', threshold: -0.1 },
          { metric: 'thumbs_down_rate', threshold: 0.1 },
        ],
      });
    }
    // The label's own monitor stands in for the default.
    expect((await monitors('mine')).map((m) => m['createdBy'])).not.toContain('promptops:default-monitor');

    // A narrower policy protecting another label: only the prompts it names get a default.
    await call('PUT', '/api/v1/policies/staging', { pattern: 'faq', approvals: 0 });
    await registry.app.monitorRunner.tick();
    expect((await monitors('faq')).map((m) => m['label']).sort()).toEqual(['production', 'staging']);
    expect((await monitors('greeter')).map((m) => m['label'])).toEqual(['production']);

    const audit = await registry.storage.registry.listAudit(registry.projectId, { limit: 500 });
    expect(
      audit.filter(
        (entry: { action: string; actor: string }) =>
          entry.action === 'monitor.created' && entry.actor === 'promptops:default-monitor',
      ),
    ).toHaveLength(3);
  });
});
