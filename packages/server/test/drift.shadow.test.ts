import type { StoredDriftReport } from '@promptops/core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachDatabase } from './support/databases.js';
import { openTestRegistry, textContent, type TestRegistry } from './support/registry.js';
import { ingest } from './support/traces.js';

/**
 * The shadow source: `POST /api/v1/drift` with `source: shadow` and a rollout id pairs each shadow trace
 * with the baseline trace its `shadowOf` names, and reports with the paired tests (McNemar, Wilcoxon), the
 * versions taken from the rollout. Under the minimum the report says "not enough data"; a rollout that
 * is not a shadow one, or of another prompt, is refused naming the field.
 */

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = Record<string, any>;

const NAMES = 'ana bo chen dara eli fay gus hana ivo jun kai lea mo nia oto pia quin rui sol tam'.split(' ');
const vars = { user_name: { type: 'string', required: true } };

describeEachDatabase('drift reports from a shadow rollout (%s)', (dialect) => {
  let registry: TestRegistry;
  const rollouts: Record<string, string> = {};

  const call = async (key: string, method: 'GET' | 'POST' | 'PUT', url: string, body?: unknown) => {
    const response = await registry.app.inject({
      method,
      url,
      headers: { authorization: `Bearer ${key}` },
      ...(body === undefined ? {} : { payload: body as Json }),
    });
    return { status: response.statusCode, body: response.json<Json>() };
  };

  /** Two versions of `name`, v1 on production, a rollout of v2 in `mode`. */
  const startRollout = async (name: string, mode: 'shadow' | 'split'): Promise<string> => {
    const { editor, deployer } = registry.keys;
    let parent: string | null = null;
    for (const template of ['Greet {{user_name}} by name.', 'Greet the user. ({{user_name}})']) {
      const pushed = await call(editor, 'POST', `/api/v1/prompts/${name}/versions`, {
        content: textContent(name, template, vars),
        parent,
      });
      expect(pushed.status, JSON.stringify(pushed.body)).toBe(201);
      parent = pushed.body['sha'] as string;
    }
    expect((await call(deployer, 'PUT', `/api/v1/prompts/${name}/labels/production`, { ref: 'v1' })).status).toBe(200);
    const started = await call(deployer, 'POST', `/api/v1/prompts/${name}/rollouts`, {
      label: 'production',
      candidate: 'v2',
      mode,
      stepDuration: '1h',
    });
    expect(started.status, JSON.stringify(started.body)).toBe(201);
    return started.body['id'] as string;
  };

  /** `n` baseline traces naming the user and their shadows that do not (the shadow stores no variables). */
  const recordPairs = async (name: string, id: string, n: number): Promise<void> => {
    const events = NAMES.slice(0, n).flatMap((user, i) => {
      const base = { prompt: { name }, label: 'production', startedAt: new Date().toISOString() };
      return [
        {
          ...base,
          id: `${id}-b-${i}`,
          rollout: { id, arm: 'baseline' },
          variables: { user_name: user },
          output: `Hi ${user}! Is there anything else I can help with?`,
          latencyMs: 100 + i,
        },
        {
          ...base,
          id: `${id}-s-${i}`,
          rollout: { id, arm: 'candidate' },
          shadowOf: `${id}-b-${i}`,
          output: 'Hello there! Is there anything else I can help with?',
          latencyMs: 100 + i,
        },
      ];
    });
    const response = await ingest(registry.app, registry.keys.editor, { events });
    expect(response.statusCode, response.body).toBe(200);
    expect(response.json<Json>()['rejected']).toEqual([]);
  };

  beforeAll(async () => {
    registry = await openTestRegistry(dialect);
    rollouts['greeter'] = await startRollout('greeter', 'shadow');
    await recordPairs('greeter', rollouts['greeter'], 20);
    rollouts['few'] = await startRollout('few', 'shadow');
    await recordPairs('few', rollouts['few'], 3);
    rollouts['split'] = await startRollout('split', 'split');
  });
  afterAll(async () => {
    await registry.close();
  });

  it('pairs each shadow trace with its baseline trace and reports with the paired tests', async () => {
    const id = rollouts['greeter']!;
    const created = await call(registry.keys.editor, 'POST', '/api/v1/drift', {
      prompt: 'greeter',
      source: 'shadow',
      rollout: id,
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const stored = created.body as StoredDriftReport;
    expect(stored).toMatchObject({
      prompt: 'greeter',
      a: { version: 1 },
      b: { version: 2 },
      source: 'shadow',
      suite: null,
      window: null,
      drifted: true,
    });
    const { report } = stored;
    expect(report.verdict).toMatch(
      /^v2 drifted: outputs mention the user's name 0 % vs 100 % of the time \(20 paired cases/,
    );
    expect(report).toMatchObject({ source: 'shadow', paired: true, n: { a: 20, b: 20, pairs: 20 } });
    expect(report.descriptors.find((d) => d.name === 'mentions.user_name')).toMatchObject({
      a: 1,
      b: 0,
      test: 'mcnemar',
      drifted: true,
    });
    // Equal latencies pair by pair: Wilcoxon has nothing to test on, and nothing drifted.
    expect(report.descriptors.find((d) => d.name === 'length.chars')).toMatchObject({ test: 'wilcoxon' });
    expect(report.descriptors.find((d) => d.name === 'latency')).toMatchObject({ drifted: false });
    // The examples are the recorded pairs, named by the baseline trace.
    expect(report.examples[0]!.id).toMatch(new RegExp(`^${id}-b-\\d+$`));
    expect(report.examples[0]!.b).toBe('Hello there! Is there anything else I can help with?');

    const listed = await call(registry.keys.viewer, 'GET', '/api/v1/prompts/greeter/drift');
    expect(listed.body['reports'][0]).toMatchObject({ id: stored.id, source: 'shadow' });
  });

  it('says "not enough data" under the minimum', async () => {
    const created = await call(registry.keys.editor, 'POST', '/api/v1/drift', {
      prompt: 'few',
      source: 'shadow',
      rollout: rollouts['few'],
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect(created.body['drifted']).toBe(false);
    expect(created.body['report']['verdict']).toMatch(/^v2 vs v1: not enough data to tell \(3 paired cases/);
  });

  it('reads the window given', async () => {
    const created = await call(registry.keys.editor, 'POST', '/api/v1/drift', {
      prompt: 'greeter',
      source: 'shadow',
      rollout: rollouts['greeter'],
      window: { since: '2020-01-01T00:00:00Z', until: '2020-01-02T00:00:00Z' },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect(created.body['report']['n']).toEqual({ a: 0, b: 0, pairs: 0 });
    expect(created.body['window']).toEqual({ since: '2020-01-01T00:00:00.000Z', until: '2020-01-02T00:00:00.000Z' });
  });

  it('refuses a missing rollout, an unknown one, a split one, another prompt’s, other versions', async () => {
    const post = (body: Json) => call(registry.keys.editor, 'POST', '/api/v1/drift', body);
    const missing = await post({ prompt: 'greeter', source: 'shadow' });
    expect(missing.status).toBe(400);
    expect(missing.body['error']['issues']).toEqual([{ path: 'rollout', message: 'is required for a shadow report' }]);
    const unknown = await post({ prompt: 'greeter', source: 'shadow', rollout: 'ro_zzzzzzzzzzzz' });
    expect(unknown.status).toBe(404);
    expect(unknown.body['error']['code']).toBe('rollout_not_found');
    const split = await post({ prompt: 'split', source: 'shadow', rollout: rollouts['split'] });
    expect(split.status).toBe(400);
    expect(split.body['error']['issues'][0]).toMatchObject({ path: 'rollout' });
    expect(split.body['error']['message']).toMatch(/split/);
    const other = await post({ prompt: 'few', source: 'shadow', rollout: rollouts['greeter'] });
    expect(other.status).toBe(400);
    expect(other.body['error']['message']).toMatch(/greeter/);
    const versions = await post({ prompt: 'greeter', source: 'shadow', rollout: rollouts['greeter'], b: 'v1' });
    expect(versions.status).toBe(400);
    expect(versions.body['error']['issues'][0]).toMatchObject({ path: 'b' });
    const noRefs = await post({ prompt: 'greeter', source: 'live' });
    expect(noRefs.status).toBe(400);
    expect(noRefs.body['error']['issues'][0]).toMatchObject({ path: 'a' });
    const stray = await post({ prompt: 'greeter', a: 'v1', b: 'v2', source: 'live', rollout: rollouts['greeter'] });
    expect(stray.status).toBe(400);
    expect(stray.body['error']['issues'][0]).toMatchObject({ path: 'rollout' });
  });
});
