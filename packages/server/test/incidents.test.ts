import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachDatabase } from './support/databases.js';
import { openTestRegistry, textContent, type TestRegistry } from './support/registry.js';
import { ingest } from './support/traces.js';

/**
 * Monitors and incidents through the API, on both databases, with an injected clock and `tick()`: a bad
 * version promoted, traffic with worse scores ingested, the monitor fires, the label rolls back
 * automatically (and stays put), the incident holds its timeline and figures; by hand: open, ack,
 * resolve, postmortem.
 */

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = Record<string, any>;

const T0 = Date.parse('2025-03-01T09:00:00.000Z');

describeEachDatabase('incidents (%s)', (dialect) => {
  let registry: TestRegistry;
  let now = T0;
  const clock = { now: () => new Date(now) };

  const call = async (method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, body?: unknown, role = 'deployer') => {
    const response = await registry.app.inject({
      method,
      url,
      headers: { authorization: `Bearer ${registry.keys[role as 'deployer']}` },
      ...(body === undefined ? {} : { payload: body as Json }),
    });
    return response;
  };
  const ok = async (method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, body?: unknown): Promise<Json> => {
    const response = await call(method, url, body);
    expect(response.statusCode, `${method} ${url}: ${response.body}`).toBeLessThan(300);
    return response.body === '' ? {} : (response.json() as Json);
  };

  /** `count` traces of one version, each scored around `score`. */
  const traffic = async (name: string, sha: string, tag: string, count: number, score: number): Promise<void> => {
    const events = Array.from({ length: count }, (_, i) => ({
      id: `${tag}-${i}`,
      prompt: { name, sha },
      label: 'production',
      latencyMs: 100 + (i % 7),
      startedAt: now,
    }));
    const response = await ingest(registry.app, registry.keys.editor, { events });
    expect(response.statusCode, response.body).toBe(200);
    for (let i = 0; i < count; i += 1) {
      const value = Math.min(1, Math.max(0, score + ((i % 5) - 2) * 0.05));
      const scored = await call(
        'POST',
        `/api/v1/traces/${tag}-${i}/scores`,
        { kind: 'numeric', name: 'quality', value },
        'editor',
      );
      expect(scored.statusCode, scored.body).toBeLessThan(300);
    }
  };

  beforeAll(async () => {
    registry = await openTestRegistry(dialect, { clock });
  });
  afterAll(async () => {
    await registry.close();
  });

  it('a bad version is detected, rolled back automatically and recorded with its timeline', async () => {
    const shas: string[] = [];
    for (const template of ['Hello there', 'Yo.']) {
      const head = (await registry.storage.registry.getPrompt(registry.projectId, 'greeter'))?.headSha ?? null;
      const pushed = await registry.app.inject({
        method: 'POST',
        url: '/api/v1/prompts/greeter/versions',
        headers: { authorization: `Bearer ${registry.keys.editor}` },
        payload: { content: textContent('greeter', template), parent: head, message: template },
      });
      expect(pushed.statusCode, pushed.body).toBe(201);
      shas.push((pushed.json() as Json)['sha'] as string);
    }
    await ok('PUT', '/api/v1/prompts/greeter/labels/production', { ref: 'v1' });
    now += 60_000;
    await traffic('greeter', shas[0]!, 'good', 80, 0.8);
    const monitor = await ok('POST', '/api/v1/prompts/greeter/monitors', {
      label: 'production',
      config: { action: 'rollback', conditions: [{ metric: 'score', threshold: -0.1 }], minSamples: 50 },
    });
    expect(monitor).toMatchObject({ promptName: 'greeter', label: 'production' });

    now += 60_000;
    await ok('PUT', '/api/v1/prompts/greeter/labels/production', { ref: 'v2', reason: 'ship it' });
    now += 30_000;
    await traffic('greeter', shas[1]!, 'bad', 30, 0.3);
    // Too few samples yet: quiet.
    expect(await registry.app.monitorRunner.tick()).toMatchObject({ held: true, looked: 1, fired: 0 });
    now += 30_000;
    await traffic('greeter', shas[1]!, 'bad2', 40, 0.3);
    now += 5_000;
    const fired = await registry.app.monitorRunner.tick();
    expect(fired, JSON.stringify(await registry.storage.incidents.allMonitors())).toMatchObject({
      held: true,
      fired: 1,
    });

    const labels = await ok('GET', '/api/v1/prompts/greeter/labels');
    expect(labels['labels']).toContainEqual(expect.objectContaining({ label: 'production', version: 1 }));
    const history = await ok('GET', '/api/v1/prompts/greeter/deployments?label=production');
    expect(history['deployments'][0]).toMatchObject({
      kind: 'auto-rollback',
      toVersion: 1,
      actor: `monitor:${monitor['id']}`,
    });
    expect(history['deployments'][0]['reason']).toMatch(/score/);

    // Never loops: the label stays put until a person acts.
    now += 60 * 60_000;
    expect(await registry.app.monitorRunner.tick()).toMatchObject({ fired: 0 });

    now += 1000;
    await traffic('greeter', shas[0]!, 'after', 5, 0.8);
    const list = await ok('GET', '/api/v1/incidents');
    expect(list['incidents']).toHaveLength(1);
    const id = list['incidents'][0]['id'] as number;
    const shown = await ok('GET', `/api/v1/incidents/${id}`);
    expect(shown['incident']).toMatchObject({
      state: 'open',
      promptName: 'greeter',
      label: 'production',
      openedBy: `monitor:${monitor['id']}`,
    });
    expect(shown['timeline'].map((e: Json) => e['kind'])).toEqual([
      'introduced',
      'first_bad_trace',
      'detected',
      'opened',
      'notified',
      'mitigated',
      'first_good_trace',
    ]);
    expect(shown['figures']).toMatchObject({
      timeToDetectMs: 35_000,
      timeToMitigateMs: 35_000,
      tracesAffected: 70,
      shareAffected: 1,
    });
    expect(shown['figures']['timeToRecoverMs']).toBe(60 * 60_000 + 36_000);
    expect(shown['figures']['scores']['before']).toBeCloseTo(0.8, 5);
    expect(shown['figures']['scores']['during']).toBeCloseTo(0.3, 5);

    expect((await call('POST', `/api/v1/incidents/${id}/ack`, undefined, 'viewer')).statusCode).toBe(403);
    expect((await ok('POST', `/api/v1/incidents/${id}/ack`))['incident']).toMatchObject({ state: 'acknowledged' });
    expect(
      (await ok('POST', `/api/v1/incidents/${id}/resolve`, { message: 'v2 rewritten' }))['incident'],
    ).toMatchObject({
      state: 'resolved',
    });
    const again = await call('POST', `/api/v1/incidents/${id}/resolve`, {});
    expect(again.statusCode).toBe(409);
    expect(again.json<Json>()['error']['code']).toBe('incident_resolved');
    const postmortem = await call('GET', `/api/v1/incidents/${id}/postmortem`);
    expect(postmortem.headers['content-type']).toMatch(/markdown/);
    expect(postmortem.body).toContain('## Timeline');
    expect(postmortem.body).toContain('rolled back automatically to v1');

    const audit = await registry.storage.registry.listAudit(registry.projectId, { limit: 500 });
    expect(audit.map((entry: { action: string }) => entry.action)).toEqual(
      expect.arrayContaining(['incident.opened', 'incident.acknowledged', 'incident.resolved']),
    );
  });

  it('opens an incident by hand, and names unknown ids', async () => {
    const opened = await ok('POST', '/api/v1/incidents', {
      name: 'greeter',
      label: 'production',
      message: 'users complain',
    });
    expect(opened).toMatchObject({ state: 'open', title: 'users complain', monitorId: null });
    const missing = await call('GET', '/api/v1/incidents/999');
    expect(missing.statusCode).toBe(404);
    expect(missing.json<Json>()['error']['code']).toBe('incident_not_found');
    const bad = await call('POST', '/api/v1/prompts/greeter/monitors', {
      label: 'production',
      config: { action: 'page' },
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.json<Json>()['error']['code']).toBe('invalid_monitor');
    const removed = await call('DELETE', '/api/v1/prompts/greeter/monitors/999');
    expect(removed.json<Json>()['error']['code']).toBe('monitor_not_found');
  });
});
