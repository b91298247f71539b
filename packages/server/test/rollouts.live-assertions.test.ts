import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachDatabase } from './support/databases.js';
import { greeterSuite } from './support/evals.js';
import { openTestRegistry, textContent, type TestRegistry } from './support/registry.js';
import { ingest } from './support/traces.js';

/**
 * Live assertions decide a rollout: the deterministic assertions every case of the prompt's suite carries
 * (here `mentions-var user_name` and `icontains anything else`) run on each traced output with its
 * variables (a shadow call's from its baseline call). A shadow candidate that stops naming the user fails
 * the `assertion_pass_rate` guardrail and aborts by itself; `show` gives the pass rates per arm.
 */

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = Record<string, any>;

const T0 = Date.parse('2025-03-01T00:00:00.000Z');

describeEachDatabase('rollouts decided on live assertions (%s)', (dialect) => {
  let registry: TestRegistry;
  let now = T0;
  const clock = { now: () => new Date(now) };

  const call = async (key: string, method: 'GET' | 'POST' | 'PUT', url: string, body?: unknown): Promise<Json> => {
    const response = await registry.app.inject({
      method,
      url,
      headers: { authorization: `Bearer ${key}` },
      ...(body === undefined ? {} : { payload: body as Json }),
    });
    expect(response.statusCode, `${method} ${url}: ${response.body}`).toBeLessThan(300);
    return response.json() as Json;
  };

  beforeAll(async () => {
    registry = await openTestRegistry(dialect, { clock });
  });
  afterAll(async () => {
    await registry.close();
  });

  it('aborts a shadow rollout whose candidate stops mentioning user_name', async () => {
    const { editor, deployer } = registry.keys;
    for (const template of ['greeter v1', 'greeter v2']) {
      const head = (await registry.storage.registry.getPrompt(registry.projectId, 'greeter'))?.headSha ?? null;
      await call(editor, 'POST', '/api/v1/prompts/greeter/versions', {
        content: textContent('greeter', template),
        parent: head,
        message: template,
      });
    }
    await call(editor, 'POST', '/api/v1/evals/suites', { content: greeterSuite() });
    await call(deployer, 'PUT', '/api/v1/prompts/greeter/labels/production', { ref: 'v1' });
    const started = await call(deployer, 'POST', '/api/v1/prompts/greeter/rollouts', {
      label: 'production',
      candidate: 'v2',
      mode: 'shadow',
      stepDuration: '1m',
      minSamples: 50,
      guardrails: ['assertion_pass_rate:-0.05'],
    });
    const id = started['id'] as string;
    now += 5_000;
    const names = ['Ana', 'Bo', 'Chen', 'Dana'];
    const events = Array.from({ length: 200 }, (_, i) => {
      const name = names[i % names.length]!;
      const base = { prompt: { name: 'greeter' }, label: 'production', latencyMs: 100, startedAt: now - 1000 };
      return [
        {
          ...base,
          id: `${id}-baseline-${i}`,
          rollout: { id, arm: 'baseline' },
          variables: { user_name: name },
          output: `Hello, ${name}! Is there anything else I can help with?`,
        },
        // The shadow call stores no variables: it ran on its baseline call's.
        {
          ...base,
          id: `${id}-shadow-${i}`,
          rollout: { id, arm: 'candidate' },
          shadowOf: `${id}-baseline-${i}`,
          output: 'Hello! Is there anything else I can help with?',
        },
      ];
    });
    const response = await ingest(registry.app, editor, { events: events.flat() });
    expect(response.statusCode, response.body).toBe(200);
    expect(response.json<Json>()['rejected']).toEqual([]);

    await registry.app.rolloutScheduler.tick();
    const { rollout, decisions, arms, shadow } = await call(deployer, 'GET', `/api/v1/rollouts/${id}`);
    expect(rollout).toMatchObject({ state: 'aborted' });
    expect(rollout['reason']).toMatch(/assertion_pass_rate/);
    expect(decisions.at(-1)).toMatchObject({
      action: 'abort',
      actor: 'system:rollouts',
      figures: { cause: 'guardrail_failed' },
    });
    expect(decisions.at(-1).figures.guardrails[0]).toMatchObject({
      metric: 'assertion_pass_rate',
      status: 'fail',
      baseline: { count: 200, value: 1 },
      candidate: { count: 200, value: 0 },
    });
    expect(arms.candidate.metrics.assertion_pass_rate).toMatchObject({ count: 200, value: 0 });
    // The shadow summary: every pair's baseline passes, no candidate does.
    const checked = shadow.assertions.baseline.total as number;
    expect(checked).toBeGreaterThan(0);
    expect(shadow.assertions).toEqual({
      baseline: { passed: checked, total: checked },
      candidate: { passed: 0, total: checked },
    });
    expect(shadow.differing[0]).toMatchObject({ baseline: { passed: true }, candidate: { passed: false } });
  });
});
