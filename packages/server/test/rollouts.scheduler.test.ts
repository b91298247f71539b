import type { ArmPair, ProportionStats } from '@promptops/core';
import type { FastifyInstance } from 'fastify';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../src/app/app.js';
import { createStorage, type Stores } from '../src/app/stores.js';
import type { ArmObservations, RolloutObservationSource } from '../src/rollouts/observations.js';
import { ROLLOUT_LEASE, rolloutTickMsFrom } from '../src/rollouts/scheduler.js';
import { describeEachDatabase } from './support/databases.js';
import { openTestRegistry, textContent, type TestRegistry } from './support/registry.js';

/**
 * The rollouts scheduler on both databases, driven by `tick()` with an injected clock and a fake source
 * of per-arm figures: a failed guardrail aborts by itself; equal arms ramp up and complete, moving the
 * label; a sample-ratio mismatch pauses; a new app on the same database carries on with nothing lost;
 * two replicas ticking at once record each decision once.
 */

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const T0 = Date.parse('2025-01-01T00:00:00.000Z');

describeEachDatabase('rollouts scheduler on %s', (dialect) => {
  let registry: TestRegistry;
  let now = T0;
  const clock = { now: () => new Date(now) };
  const apps: FastifyInstance[] = [];
  const extraStores: Stores[] = [];
  /** Per rollout: how the fake traces look (error rates per arm, and whether arms follow the ramp). */
  const world = new Map<string, { errors: ArmPair<number>; calls: number; srm?: boolean }>();

  const fake = (storage: Stores): RolloutObservationSource => ({
    async rolloutObservations(projectId, rolloutId): Promise<ArmObservations> {
      const rollout = (await storage.rollouts.getRollout(projectId, rolloutId))!;
      const ramp = rollout.config.steps[rollout.stepIndex]!;
      const { errors, calls, srm } = world.get(rolloutId)!;
      const share = srm === true ? 50 : ramp;
      const requests = {
        baseline: Math.round((calls * (100 - share)) / 100),
        candidate: Math.round((calls * share) / 100),
      };
      const rate = (arm: 'baseline' | 'candidate'): ProportionStats => ({
        count: requests[arm],
        events: Math.round(requests[arm] * errors[arm]),
      });
      return { requests, metrics: { error_rate: { baseline: rate('baseline'), candidate: rate('candidate') } } };
    },
  });

  const app = async (holder: string, storage: Stores = registry.storage): Promise<FastifyInstance> => {
    const built = await buildApp({ storage, clock, rollouts: { observations: fake(storage), holder, tickMs: 10_000 } });
    apps.push(built);
    return built;
  };

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

  const startOn = async (name: string, world0: { errors: ArmPair<number>; calls: number; srm?: boolean }) => {
    for (const template of [`${name} v1`, `${name} v2`]) {
      const response = await registry.app.inject({
        method: 'POST',
        url: `/api/v1/prompts/${name}/versions`,
        headers: { authorization: `Bearer ${registry.keys.editor}` },
        payload: {
          content: textContent(name, template),
          parent: template.endsWith('v1')
            ? null
            : (await registry.storage.registry.getPrompt(registry.projectId, name))!.headSha,
          message: template,
        },
      });
      expect(response.statusCode).toBe(201);
    }
    await call('PUT', `/api/v1/prompts/${name}/labels/production`, { ref: 'v1' });
    const started = await call('POST', `/api/v1/prompts/${name}/rollouts`, {
      label: 'production',
      candidate: 'v2',
      steps: [10, 50, 100],
      stepDuration: '1m',
      minSamples: 50,
      guardrails: ['error_rate:+0.02'],
    });
    world.set(started['id'] as string, world0);
    return started['id'] as string;
  };

  const show = (id: string): Promise<Json> => call('GET', `/api/v1/rollouts/${id}`);

  beforeAll(async () => {
    registry = await openTestRegistry(dialect, { clock });
  });
  afterEach(async () => {
    // Each test's rollout is finished by it; the others' would be decided again by the next test's ticks.
    await Promise.all(apps.splice(0).map((a) => a.close()));
  });
  afterAll(async () => {
    await Promise.all(extraStores.map((s) => s.close()));
    await registry.close();
  });

  it('gives its lease up when stopped, so another replica need not wait', async () => {
    const built = await app('stopping');
    expect((await built.rolloutScheduler.tick()).held).toBe(true);
    expect((await registry.storage.leases.get(ROLLOUT_LEASE))?.holder).toBe('stopping');
    await built.close();
    expect(await registry.storage.leases.get(ROLLOUT_LEASE)).toBeUndefined();
  });

  it('aborts by itself when a guardrail fails', async () => {
    const id = await startOn('worse', { errors: { baseline: 0.01, candidate: 0.3 }, calls: 2000 });
    const scheduler = (await app('a')).rolloutScheduler;
    expect(await scheduler.tick()).toEqual({ held: true, looked: 1 });
    const { rollout, decisions } = await show(id);
    expect(rollout).toMatchObject({ state: 'aborted', ramp: 0 });
    expect(rollout['reason']).toMatch(/error_rate/);
    expect(decisions.at(-1)).toMatchObject({
      action: 'abort',
      actor: 'system:rollouts',
      figures: { cause: 'guardrail_failed' },
    });
    expect((await call('GET', '/api/v1/prompts/worse/labels'))['labels']).toContainEqual(
      expect.objectContaining({ label: 'production', version: 1 }),
    );
  });

  it('pauses on a sample-ratio mismatch, with the reason', async () => {
    const id = await startOn('skewed', { errors: { baseline: 0.01, candidate: 0.01 }, calls: 2000, srm: true });
    await (await app('a')).rolloutScheduler.tick();
    const { rollout, decisions } = await show(id);
    expect(rollout['state']).toBe('paused');
    expect(rollout['reason']).toMatch(/sample-ratio mismatch/);
    expect(decisions.at(-1)).toMatchObject({ action: 'pause', figures: { cause: 'sample_ratio_mismatch' } });
    await call('POST', `/api/v1/rollouts/${id}/abort`);
  });

  it('ramps equal arms up and completes, across a restart, the label moving; two replicas decide once', async () => {
    const id = await startOn('equal', { errors: { baseline: 0.01, candidate: 0.01 }, calls: 2000 });
    const first = (await app('a')).rolloutScheduler;
    await first.tick();
    expect((await show(id))['decisions'].at(-1)).toMatchObject({
      action: 'hold',
      figures: { cause: 'step_in_progress' },
    });
    await first.tick(); // the same hold again is not recorded again
    expect((await show(id))['decisions']).toHaveLength(2);

    now += 2 * 60_000;
    // Two replicas tick at once: one holds the lease, the step advances once.
    const second = (await app('b')).rolloutScheduler;
    const results = await Promise.all([first.tick(), second.tick()]);
    expect(results.filter((r) => r.held)).toHaveLength(1);
    const stepped = await show(id);
    expect(stepped['rollout']).toMatchObject({ state: 'running', stepIndex: 1, ramp: 50 });
    expect(stepped['decisions'].filter((d: Json) => d['action'] === 'advance')).toHaveLength(1);

    // A restart: the apps and their stores go away; a new app on the same database carries on.
    await Promise.all(apps.splice(0).map((a) => a.close()));
    const storage = await createStorage(registry.dbUrl);
    extraStores.push(storage);
    now += 2 * 60_000; // past the step's minute, and past the old holders' lease
    const restarted = (await app('c', storage)).rolloutScheduler;
    expect((await restarted.tick()).held).toBe(true);
    const done = await show(id);
    expect(done['rollout']).toMatchObject({ state: 'completed', stepIndex: 1 });
    expect(done['decisions'].map((d: Json) => d['action'])).toEqual(['start', 'hold', 'advance', 'complete']);
    const history = await call('GET', '/api/v1/prompts/equal/deployments?label=production');
    expect(history['deployments'][0]).toMatchObject({ kind: 'rollout', toVersion: 2, actor: 'system:rollouts' });
  });
});

describe('PROMPTOPS_ROLLOUT_TICK_MS', () => {
  it('is a whole number of milliseconds, 100 or more', () => {
    expect(rolloutTickMsFrom({})).toBeUndefined();
    expect(rolloutTickMsFrom({ PROMPTOPS_ROLLOUT_TICK_MS: '2500' })).toBe(2500);
    expect(() => rolloutTickMsFrom({ PROMPTOPS_ROLLOUT_TICK_MS: '10s' })).toThrow(/PROMPTOPS_ROLLOUT_TICK_MS/);
    expect(() => rolloutTickMsFrom({ PROMPTOPS_ROLLOUT_TICK_MS: '5' })).toThrow(/100 or more/);
  });
});
