import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import OpenAI from 'openai';
import type { FastifyInstance } from 'fastify';
import { assignArm, type Snapshot, type SnapshotRollout } from '@promptops/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../src/app/app.js';
import type { SnapshotEntry } from '../src/changes/snapshot-cache.js';
import { startFakeUpstream, type FakeUpstream } from './support/fake-upstream.js';
import { call } from './support/http.js';
import { DIALECTS, openTestRegistry, type TestRegistry } from './support/registry.js';
import { waitFor } from './support/wait.js';

/**
 * The gateway under a rollout on the label it serves: a split assigns each unit key to an arm exactly as
 * the published vectors (conformance/assignment.json) say, and answers name the arm and rollout; a shadow
 * answers from the baseline, then runs the candidate on a copy after the answer, recorded as a trace
 * paired with the baseline's. The rollout reaches the gateway the way it reaches every SDK: in the
 * project's snapshot (here added to the change feed's snapshot as it is served).
 */

interface UnitVector {
  readonly name: string;
  readonly rolloutId: string;
  readonly salt: string;
  readonly unitKey: string | null;
  readonly arms: readonly { readonly ramp: number; readonly arm: 'baseline' | 'candidate' }[];
}

const VECTORS = (
  JSON.parse(readFileSync(new URL('../../../conformance/assignment.json', import.meta.url), 'utf8')) as {
    units: UnitVector[];
  }
).units;

const content = (system: string, provider: string) => ({
  name: 'greeter',
  type: 'chat',
  messages: [{ role: 'system', content: system }],
  config: { provider, model: 'gpt-4o-mini', params: {} },
  variables: { user_name: { type: 'string', required: true } },
  slots: {},
});

for (const dialect of DIALECTS)
  describe(`gateway rollouts on ${dialect}`, () => {
    let registry: TestRegistry;
    let upstream: FakeUpstream;
    let slow: FakeUpstream;
    let app: FastifyInstance;
    let base: string;
    let v1: { sha: string; version: number };
    let v2: { sha: string; version: number; content: Record<string, unknown> };
    /** The rollout the served snapshot carries on `production`, if any. */
    let rollout: SnapshotRollout | undefined;

    beforeAll(async () => {
      registry = await openTestRegistry(dialect);
      upstream = await startFakeUpstream();
      slow = await startFakeUpstream();
      app = await buildApp({
        storage: registry.storage,
        gateway: {
          config: {
            providers: { openai: { baseURL: `${upstream.url}/v1` }, candidate: { baseURL: `${slow.url}/v1` } },
          },
        },
      });
      const snapshots = app.changeFeed.snapshots;
      const entry = snapshots.entry.bind(snapshots);
      const withRollout = (served: SnapshotEntry): SnapshotEntry => {
        if (rollout === undefined) return served;
        const snapshot = JSON.parse(served.body.toString('utf8')) as Snapshot;
        const greeter = snapshot.prompts['greeter']!;
        const body = { ...snapshot, prompts: { greeter: { ...greeter, rollouts: { production: rollout } } } };
        return { ...served, body: Buffer.from(JSON.stringify(body)) };
      };
      snapshots.entry = (actor, scope) => {
        const served = entry(actor, scope);
        return 'then' in served ? served.then(withRollout) : withRollout(served);
      };
      await app.listen({ host: '127.0.0.1', port: 0 });
      base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
      const admin = registry.keys.admin;
      const push = async (body: Record<string, unknown>, parent: string | null) => {
        const pushed = await call<{ sha: string; version: number }>(
          registry.app,
          'POST',
          '/api/v1/prompts/greeter/versions',
          admin,
          { content: body, parent, message: 'change' },
        );
        expect(pushed.status).toBe(201);
        return pushed.body;
      };
      v1 = await push(content('Greet {{user_name}}.', 'openai'), null);
      const candidate = content('Greet {{user_name}} by name, briefly.', 'candidate');
      v2 = { ...(await push(candidate, v1.sha)), content: candidate };
      expect(
        (await call(registry.app, 'PUT', '/api/v1/prompts/greeter/labels/production', admin, { ref: 'v1' })).status,
      ).toBe(200);
    });

    afterAll(async () => {
      await app?.close();
      await upstream?.close();
      await slow?.close();
      await registry?.close();
    });

    const split = (vector: UnitVector, ramp: number): SnapshotRollout =>
      ({
        id: vector.rolloutId,
        salt: vector.salt,
        mode: 'split',
        state: 'running',
        ramp,
        candidate: { version: v2.version, sha: v2.sha, content: v2.content },
      }) as unknown as SnapshotRollout;

    it('assigns every unit of the published vectors to the arm they name, at every ramp', async () => {
      slow.hold = undefined;
      let checked = 0;
      // A lone surrogate cannot travel in a request (the server refuses text UTF-8 cannot encode).
      for (const vector of VECTORS.filter((v) => v.unitKey === null || v.unitKey.isWellFormed())) {
        for (const { ramp, arm } of vector.arms) {
          rollout = split(vector, ramp);
          const answer = await app.inject({
            method: 'POST',
            url: '/v1/chat/completions',
            headers: { authorization: `Bearer ${registry.keys.editor}` },
            payload: {
              model: 'prompt:greeter',
              messages: [{ role: 'user', content: 'hi' }],
              ...(vector.unitKey === null ? {} : { user: vector.unitKey }),
              promptops: { variables: { user_name: 'Ada' } },
            },
          });
          expect(answer.statusCode, vector.name).toBe(200);
          expect(answer.headers['x-promptops-arm'], `${vector.name} at ${ramp} %`).toBe(arm);
          expect(answer.headers['x-promptops-rollout']).toBe(vector.rolloutId);
          expect(answer.headers['x-promptops-sha']).toBe(arm === 'candidate' ? v2.sha : v1.sha);
          checked += 1;
        }
      }
      expect(checked).toBeGreaterThanOrEqual(100);
    });

    it('takes the unit from X-Promptops-Unit and records the arm and rollout on the trace', async () => {
      const vector = VECTORS.find((v) => v.unitKey === 'user-42')!;
      rollout = split(vector, 100);
      const client = new OpenAI({
        apiKey: registry.keys.editor,
        baseURL: `${base}/v1`,
        maxRetries: 0,
        defaultHeaders: { 'x-promptops-unit': 'user-42' },
      });
      const { response } = await client.chat.completions
        .create({
          model: 'prompt:greeter',
          messages: [{ role: 'user', content: 'hi' }],
          ...({ promptops: { variables: { user_name: 'Ada' } } } as Record<string, unknown>),
        })
        .withResponse();
      expect(response.headers.get('x-promptops-arm')).toBe('candidate');
      const id = response.headers.get('x-promptops-trace-id')!;
      await app.gateway.settle();
      const traces = await call<{ traces: Record<string, unknown>[] }>(
        registry.app,
        'GET',
        `/api/v1/traces?prompt=greeter&arm=candidate&limit=500`,
        registry.keys.viewer,
      );
      expect(traces.body.traces.find((trace) => trace['id'] === id)).toMatchObject({
        prompt: { sha: v2.sha, version: v2.version },
        label: 'production',
        rollout: { id: vector.rolloutId, arm: 'candidate' },
      });
    });

    it('shadow: answers from the baseline, then runs the candidate on a copy after the answer', async () => {
      let release: () => void = () => undefined;
      slow.hold = new Promise<void>((resolve) => (release = resolve));
      const shadowRequests = slow.requests.length;
      rollout = { ...split(VECTORS[0]!, 100), id: 'ro_shadowtest01', salt: 'ro_shadowtest01', mode: 'shadow' };
      const client = new OpenAI({ apiKey: registry.keys.editor, baseURL: `${base}/v1`, maxRetries: 0 });
      const { data, response } = await client.chat.completions
        .create({
          model: 'prompt:greeter',
          stream: false,
          user: 'user-9',
          messages: [{ role: 'user', content: 'shadowed' }],
          ...({ promptops: { variables: { user_name: 'Ada' } } } as Record<string, unknown>),
        })
        .withResponse();
      // The caller has the baseline's answer while the candidate's copy is still held upstream.
      expect(data.choices[0]?.message.content).toBe('echo: shadowed');
      expect(response.headers.get('x-promptops-arm')).toBe('baseline');
      expect(response.headers.get('x-promptops-sha')).toBe(v1.sha);
      expect(response.headers.get('x-promptops-rollout')).toBe('ro_shadowtest01');
      await waitFor(() => slow.requests.length === shadowRequests + 1, 'the shadow call to reach the candidate');
      expect(app.gateway.stats().shadow.running).toBe(1);
      const copy = slow.requests.at(-1)!.body;
      expect(copy['messages']).toEqual([
        { role: 'system', content: 'Greet Ada by name, briefly.' },
        { role: 'user', content: 'shadowed' },
      ]);
      expect(copy['user']).toBe('user-9');
      release();
      slow.hold = undefined;
      await app.gateway.settle();
      const id = response.headers.get('x-promptops-trace-id')!;
      const traces = await call<{ traces: Record<string, unknown>[] }>(
        registry.app,
        'GET',
        '/api/v1/traces?prompt=greeter&limit=500',
        registry.keys.viewer,
      );
      const baseline = traces.body.traces.find((trace) => trace['id'] === id);
      const shadow = traces.body.traces.find((trace) => trace['id'] === `${id}-shadow`);
      expect(baseline).toMatchObject({ prompt: { sha: v1.sha }, rollout: { id: 'ro_shadowtest01', arm: 'baseline' } });
      expect(shadow).toMatchObject({
        prompt: { sha: v2.sha, version: v2.version },
        rollout: { id: 'ro_shadowtest01', arm: 'candidate' },
        output: 'echo: shadowed',
        status: 'ok',
      });
      expect(shadow?.['traceId']).toBe(baseline?.['traceId']);
      expect(app.gateway.stats().shadow).toMatchObject({ done: 1, dropped: 0, failed: 0 });
    });

    it('follows rollouts started and aborted through the API: split arms, then shadow copies', async () => {
      rollout = undefined;
      slow.hold = undefined;
      const deployer = registry.keys.deployer;
      const gatewayCall = (user: string) =>
        app.inject({
          method: 'POST',
          url: '/v1/chat/completions',
          headers: { authorization: `Bearer ${registry.keys.editor}` },
          payload: { model: 'prompt:greeter', user, messages: [], promptops: { variables: { user_name: 'Ada' } } },
        });
      const started = await call<{ id: string; salt: string; ramp: number }>(
        registry.app,
        'POST',
        '/api/v1/prompts/greeter/rollouts',
        deployer,
        { label: 'production', candidate: 'v2', mode: 'split', steps: [50, 100] },
      );
      expect(started.status, started.text).toBe(201);
      const { id, salt, ramp } = started.body;
      const arms = new Set<string>();
      for (let unit = 0; unit < 30; unit += 1) {
        const answer = await gatewayCall(`unit-${unit}`);
        expect(answer.statusCode).toBe(200);
        expect(answer.headers['x-promptops-arm']).toBe(assignArm(salt, `unit-${unit}`, ramp).arm);
        expect(answer.headers['x-promptops-rollout']).toBe(id);
        arms.add(String(answer.headers['x-promptops-arm']));
      }
      expect([...arms].sort()).toEqual(['baseline', 'candidate']);
      expect(
        (await call(registry.app, 'POST', `/api/v1/rollouts/${id}/abort`, deployer, { reason: 'test' })).status,
      ).toBe(200);
      const after = await gatewayCall('unit-0');
      expect(after.headers['x-promptops-arm']).toBe('base');
      expect(after.headers['x-promptops-rollout']).toBeUndefined();

      const shadow = await call<{ id: string }>(registry.app, 'POST', '/api/v1/prompts/greeter/rollouts', deployer, {
        label: 'production',
        candidate: 'v2',
        mode: 'shadow',
        steps: [100],
      });
      expect(shadow.status, shadow.text).toBe(201);
      const answer = await gatewayCall('unit-shadowed');
      expect(answer.headers['x-promptops-arm']).toBe('baseline');
      expect(answer.headers['x-promptops-sha']).toBe(v1.sha);
      const baselineId = String(answer.headers['x-promptops-trace-id']);
      await app.gateway.settle();
      const traces = await call<{ traces: Record<string, unknown>[] }>(
        registry.app,
        'GET',
        `/api/v1/traces?prompt=greeter&limit=500`,
        registry.keys.viewer,
      );
      expect(traces.body.traces.find((trace) => trace['id'] === `${baselineId}-shadow`)).toMatchObject({
        prompt: { sha: v2.sha },
        rollout: { id: shadow.body.id, arm: 'candidate' },
        shadowOf: baselineId,
      });
      await call(registry.app, 'POST', `/api/v1/rollouts/${shadow.body.id}/abort`, deployer, { reason: 'test' });
    });
  });
