import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachDatabase } from './support/databases.js';
import { openTestRegistry, textContent, type TestRegistry } from './support/registry.js';
import { ingest } from './support/traces.js';

/**
 * The rollouts scheduler deciding on real traces: traces ingested through the API with their rollout and
 * arm, read back per arm by the traces store (the app's default figures), `tick()` driven with an
 * injected clock. A candidate with more errors aborts by itself with the figures recorded; equal arms
 * advance; `show` gives per-arm figures with intervals, the guardrails' verdicts and, for a shadow
 * rollout, its pairs.
 */

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = Record<string, any>;

const T0 = Date.parse('2025-01-01T00:00:00.000Z');

describeEachDatabase('rollouts decided on real traces (%s)', (dialect) => {
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

  const start = async (name: string, plan: Json): Promise<string> => {
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
      stepDuration: '1m',
      minSamples: 50,
      guardrails: ['error_rate:+0.02'],
      ...plan,
    });
    return started['id'] as string;
  };

  /** `count` calls of one arm, every `errorEvery`-th failing, sent in batches the ingest takes. */
  const traffic = async (
    name: string,
    rolloutId: string,
    arm: 'baseline' | 'candidate',
    count: number,
    errorEvery: number,
    extra: (i: number) => Json = () => ({}),
  ): Promise<void> => {
    const events = Array.from({ length: count }, (_, i) => ({
      id: `${rolloutId}-${arm}-${i}`,
      prompt: { name },
      label: 'production',
      rollout: { id: rolloutId, arm },
      latencyMs: 100 + (i % 7),
      startedAt: now - 1000,
      ...(i % errorEvery === 0 ? { status: 'error', error: 'upstream 500' } : {}),
      ...extra(i),
    }));
    for (let i = 0; i < events.length; i += 1000) {
      const response = await ingest(registry.app, registry.keys.editor, { events: events.slice(i, i + 1000) });
      expect(response.statusCode, response.body).toBe(200);
      expect(response.json<Json>()['rejected']).toEqual([]);
    }
  };

  const show = (id: string): Promise<Json> => call('GET', `/api/v1/rollouts/${id}`);

  beforeAll(async () => {
    registry = await openTestRegistry(dialect, { clock });
  });
  afterAll(async () => {
    await registry.close();
  });

  it('aborts by itself when the candidate’s traces have more errors, with the figures recorded', async () => {
    now = T0;
    const id = await start('worse', { steps: [10, 50, 100] });
    now += 5_000;
    await traffic('worse', id, 'baseline', 1800, 100); // 1 % errors
    await traffic('worse', id, 'candidate', 200, 3); // 34 %
    expect(await registry.app.rolloutScheduler.tick()).toMatchObject({ held: true });

    const { rollout, decisions, arms, guardrails } = await show(id);
    expect(rollout).toMatchObject({ state: 'aborted', ramp: 0 });
    expect(rollout['reason']).toMatch(/error_rate/);
    const last = decisions.at(-1);
    expect(last).toMatchObject({ action: 'abort', actor: 'system:rollouts', figures: { cause: 'guardrail_failed' } });
    expect(last.figures.step.samples).toEqual({ baseline: 1800, candidate: 200 });
    expect(last.figures.guardrails[0]).toMatchObject({
      metric: 'error_rate',
      status: 'fail',
      baseline: { count: 1800, value: 18 / 1800 },
      candidate: { count: 200, value: 67 / 200 },
    });
    expect(arms.baseline).toMatchObject({ requests: 1800, units: null });
    const rate = arms.candidate.metrics.error_rate;
    expect(rate).toMatchObject({ count: 200, value: 67 / 200 });
    expect(rate.lower).toBeLessThan(rate.value);
    expect(rate.upper).toBeGreaterThan(rate.value);
    expect(arms.candidate.metrics.latency.count).toBe(200);
    expect(guardrails[0]).toMatchObject({ metric: 'error_rate', status: 'fail' });
    // The label still serves the baseline.
    expect((await call('GET', '/api/v1/prompts/worse/labels'))['labels']).toContainEqual(
      expect.objectContaining({ label: 'production', version: 1 }),
    );
  });

  it('advances equal arms once the step has its duration and samples', async () => {
    now = T0 + 3_600_000;
    const id = await start('equal', { steps: [10, 50, 100] });
    // No trace of it yet: no figures (null, not zeros).
    expect(await show(id)).toMatchObject({ arms: null, guardrails: null, shadow: null });
    now += 5_000;
    await traffic('equal', id, 'baseline', 540, 100);
    await traffic('equal', id, 'candidate', 60, 100);
    await registry.app.rolloutScheduler.tick();
    expect((await show(id))['decisions'].at(-1)).toMatchObject({
      action: 'hold',
      figures: { cause: 'step_in_progress' },
    });

    now += 61_000;
    await registry.app.rolloutScheduler.tick();
    const { rollout, decisions, guardrails } = await show(id);
    expect(rollout).toMatchObject({ state: 'running', ramp: 50, stepIndex: 1 });
    expect(decisions.at(-1)).toMatchObject({ action: 'advance', figures: { cause: 'step_passed' } });
    expect(decisions.at(-1).figures.step.samples).toEqual({ baseline: 540, candidate: 60 });
    expect(guardrails[0]).toMatchObject({ status: 'ok', baseline: { count: 540 }, candidate: { count: 60 } });

    // The new step counts only the traces received since it started.
    now += 1_000;
    await registry.app.rolloutScheduler.tick();
    expect((await show(id))['decisions'].at(-1).figures.step.samples).toEqual({ baseline: 0, candidate: 0 });
    await call('POST', `/api/v1/rollouts/${id}/abort`);
  });

  it('shows a shadow rollout’s pairs, the ones that differ most first', async () => {
    now = T0 + 2 * 3_600_000;
    const id = await start('mirror', { mode: 'shadow' });
    now += 5_000;
    const answer = (i: number) => `Hello user ${i}, welcome back to the shop`;
    await traffic('mirror', id, 'baseline', 4, 1000, (i) => ({ output: answer(i), variables: { user: `u${i}` } }));
    await traffic('mirror', id, 'candidate', 4, 1000, (i) => ({
      id: `${id}-shadow-${i}`,
      shadowOf: `${id}-baseline-${i}`,
      output: i === 2 ? 'Greetings.' : answer(i),
    }));
    const { shadow, arms } = await show(id);
    expect(arms.baseline.requests).toBe(4);
    expect(shadow).toMatchObject({ pairs: 4, assertions: null });
    expect(shadow.length.candidate.mean).toBeLessThan(shadow.length.baseline.mean);
    expect(shadow.differing).toEqual([
      expect.objectContaining({
        traceId: `${id}-baseline-2`,
        shadowTraceId: `${id}-shadow-2`,
        variables: { user: 'u2' },
        difference: 1,
        candidate: { output: 'Greetings.', length: 10 },
      }),
    ]);
    await call('POST', `/api/v1/rollouts/${id}/abort`);
  });
});
