import { rolloutUnitHash } from '@promptops/core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachDatabase } from './support/databases.js';
import { openTestRegistry, textContent, type TestRegistry } from './support/registry.js';
import { ingest } from './support/traces.js';

/**
 * The sample-ratio check counts units, not calls: traces carry the hash of their unit key
 * (`rollout.unit`, core's rolloutUnitHash), and the scheduler counts distinct hashes per arm over the
 * step. One unit making many calls is no mismatch; fewer units in an arm than its share is one, however
 * many calls they make. Traces with no unit fall back to calls, and the decision says which it counted.
 */

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = Record<string, any>;

const T0 = Date.parse('2025-01-01T00:00:00.000Z');

describeEachDatabase('the SRM check over units (%s)', (dialect) => {
  let registry: TestRegistry;
  let now = T0;
  const clock = { now: () => new Date(now) };

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

  /** A split rollout at 50 % that never has enough samples to advance: only the SRM check can move it. */
  const start = async (name: string): Promise<string> => {
    for (const template of [`${name} v1`, `${name} v2`]) {
      const head = (await registry.storage.registry.getPrompt(registry.projectId, name))?.headSha ?? null;
      const response = await registry.app.inject({
        method: 'POST',
        url: `/api/v1/prompts/${name}/versions`,
        headers: { authorization: `Bearer ${registry.keys.editor}` },
        payload: { content: textContent(name, template), parent: head, message: template },
      });
      expect(response.statusCode).toBe(201);
    }
    await call('PUT', `/api/v1/prompts/${name}/labels/production`, { ref: 'v1' });
    const started = await call('POST', `/api/v1/prompts/${name}/rollouts`, {
      label: 'production',
      candidate: 'v2',
      mode: 'split',
      steps: [50, 100],
      stepDuration: '1m',
      minSamples: 10_000,
      guardrails: ['error_rate:+0.02'],
    });
    return started['id'] as string;
  };

  /** Per arm, the calls each unit makes (a unit key of null: calls with no unit). */
  const traffic = async (
    name: string,
    rolloutId: string,
    arm: 'baseline' | 'candidate',
    units: readonly { key: string | null; calls: number }[],
  ): Promise<void> => {
    const events = units.flatMap(({ key, calls }, u) =>
      Array.from({ length: calls }, (_, i) => ({
        id: `${rolloutId}-${arm}-${key ?? 'none'}-${u}-${i}`,
        prompt: { name },
        label: 'production',
        rollout: { id: rolloutId, arm, ...(key === null ? {} : { unit: rolloutUnitHash(rolloutId, key) }) },
        latencyMs: 100,
        startedAt: now - 1000,
      })),
    );
    for (let i = 0; i < events.length; i += 1000) {
      const response = await ingest(registry.app, registry.keys.editor, { events: events.slice(i, i + 1000) });
      expect(response.statusCode, response.body).toBe(200);
      expect(response.json<Json>()['rejected']).toEqual([]);
    }
  };

  const units = (arm: string, count: number, calls = 1) =>
    Array.from({ length: count }, (_, i) => ({ key: `${arm}-user-${i}`, calls }));

  const lastDecision = async (id: string): Promise<Json> => {
    expect(await registry.app.rolloutScheduler.tick()).toMatchObject({ held: true });
    return (await call('GET', `/api/v1/rollouts/${id}`))['decisions'].at(-1) as Json;
  };

  beforeAll(async () => {
    registry = await openTestRegistry(dialect, { clock });
  });
  afterAll(async () => {
    await registry.close();
  });

  it('does not pause when one unit makes many calls', async () => {
    now = T0;
    const id = await start('chatty');
    now += 5_000;
    await traffic('chatty', id, 'baseline', units('b', 20));
    // 20 candidate units, one of them a script making 200 calls: 20 vs 219 calls, 20 vs 20 units.
    await traffic('chatty', id, 'candidate', [...units('c', 19), { key: 'batch-job', calls: 200 }]);
    const decision = await lastDecision(id);
    expect(decision).toMatchObject({ action: 'hold', figures: { cause: 'step_in_progress' } });
    expect(decision['figures']['srm']).toMatchObject({
      tested: true,
      mismatch: false,
      observed: [20, 20],
      counted: 'units',
    });
    expect(decision['figures']['step']['samples']).toEqual({ baseline: 20, candidate: 219 });
    await call('POST', `/api/v1/rollouts/${id}/abort`);
  });

  it('pauses when an arm has fewer units than its share, however many calls they make', async () => {
    now = T0;
    const id = await start('lopsided');
    now += 5_000;
    // 40 vs 40 calls, but 40 vs 10 units at 50 %: chi-square 18, p ~ 2e-5.
    await traffic('lopsided', id, 'baseline', units('b', 40));
    await traffic('lopsided', id, 'candidate', units('c', 10, 4));
    // Calls with no unit key at all are served the baseline and left out of the unit count.
    await traffic('lopsided', id, 'baseline', [{ key: null, calls: 30 }]);
    const decision = await lastDecision(id);
    expect(decision).toMatchObject({ action: 'pause', figures: { cause: 'sample_ratio_mismatch' } });
    expect(decision['figures']['srm']).toMatchObject({ mismatch: true, observed: [40, 10], counted: 'units' });
    expect(decision['reason']).toMatch(/40 baseline and 10 candidate units/);
    expect(decision['reason']).toMatch(/30 calls without a unit left out/);
    const { rollout } = await call('GET', `/api/v1/rollouts/${id}`);
    expect(rollout).toMatchObject({ state: 'paused' });
    await call('POST', `/api/v1/rollouts/${id}/abort`);
  });

  it('counts calls when no trace carries a unit, and says so', async () => {
    now = T0;
    const id = await start('legacy');
    now += 5_000;
    await traffic('legacy', id, 'baseline', [{ key: null, calls: 40 }]);
    await traffic('legacy', id, 'candidate', [{ key: null, calls: 10 }]);
    const decision = await lastDecision(id);
    expect(decision).toMatchObject({ action: 'pause', figures: { cause: 'sample_ratio_mismatch' } });
    expect(decision['figures']['srm']).toMatchObject({ observed: [40, 10], counted: 'calls' });
    expect(decision['reason']).toMatch(/40 baseline and 10 candidate calls \(no trace carries a unit\)/);
    await call('POST', `/api/v1/rollouts/${id}/abort`);
  });

  it('keeps the unit hash on the trace, and refuses anything but a 16-hex hash', async () => {
    const unit = rolloutUnitHash('ro_x', 'user-1');
    expect(unit).toMatch(/^[0-9a-f]{16}$/);
    const ok = await ingest(registry.app, registry.keys.editor, {
      events: [
        { id: 'unit-ok', startedAt: now, prompt: { name: 'chatty' }, rollout: { id: 'ro_x', arm: 'candidate', unit } },
      ],
    });
    expect(ok.json<Json>()['rejected']).toEqual([]);
    const trace = await call('GET', '/api/v1/traces/unit-ok');
    expect(trace['trace']['rollout']).toEqual({ id: 'ro_x', arm: 'candidate', unit });
    const bad = await ingest(registry.app, registry.keys.editor, {
      events: [
        {
          id: 'unit-raw',
          startedAt: now,
          prompt: { name: 'chatty' },
          rollout: { id: 'ro_x', arm: 'candidate', unit: 'user-1' },
        },
      ],
    });
    const rejected = bad.json<Json>()['rejected'] as Json[];
    expect(rejected).toHaveLength(1);
    expect(JSON.stringify(rejected[0])).toMatch(/rollout\.unit/);
    expect(JSON.stringify(rejected[0])).toMatch(/16 hex/);
  });

  it('takes the unit from OTLP as promptops.rollout.unit', async () => {
    const unit = rolloutUnitHash('ro_otlp', 'user-9');
    const startNs = BigInt(now) * 1_000_000n;
    const attribute = (key: string, value: string) => ({ key, value: { stringValue: value } });
    const response = await registry.app.inject({
      method: 'POST',
      url: '/v1/traces',
      headers: { authorization: `Bearer ${registry.keys.editor}`, 'content-type': 'application/json' },
      payload: {
        resourceSpans: [
          {
            scopeSpans: [
              {
                spans: [
                  {
                    traceId: '5b8efff798038103d269b633813fc6aa',
                    spanId: 'eee19b7ec3c1b1aa',
                    name: 'chat',
                    startTimeUnixNano: String(startNs),
                    endTimeUnixNano: String(startNs + 5_000_000n),
                    attributes: [
                      attribute('promptops.prompt.name', 'chatty'),
                      attribute('promptops.rollout.id', 'ro_otlp'),
                      attribute('promptops.rollout.arm', 'baseline'),
                      attribute('promptops.rollout.unit', unit),
                    ],
                  },
                ],
              },
            ],
          },
        ],
      },
    });
    expect(response.statusCode, response.body).toBe(200);
    const trace = await call('GET', '/api/v1/traces/5b8efff798038103d269b633813fc6aa-eee19b7ec3c1b1aa');
    expect(trace['trace']['rollout']).toEqual({ id: 'ro_otlp', arm: 'baseline', unit });
    expect(JSON.stringify(trace['trace']['attributes'] ?? {})).not.toContain('promptops.rollout.unit');
  });
});
