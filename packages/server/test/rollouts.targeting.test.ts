import type { AddressInfo } from 'node:net';
import { explainResolution, type RolloutChangeEvent, type Snapshot } from '@promptops/core';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { buildApp } from '../src/app/app.js';
import { describeEachDatabase } from './support/databases.js';
import { startFakeUpstream, type FakeUpstream } from './support/fake-upstream.js';
import { call } from './support/http.js';
import { openTestRegistry, type TestRegistry } from './support/registry.js';
import { openSse, type SseClient } from './support/sse.js';

/**
 * Targeting rules and the kill switch on a rollout: set through PUT /api/v1/rollouts/:id/rules (checked
 * by core, every bad field named), carried in the snapshot and `event: rollout`, evaluated by the gateway
 * from X-Promptops-Context through core's resolution; POST /api/v1/rollouts/:id/kill serves everyone the
 * baseline at once, and resume turns it off.
 */

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const content = (system: string) => ({
  name: 'greeter',
  type: 'chat',
  messages: [{ role: 'system', content: system }],
  config: { provider: 'openai', model: 'gpt-4o-mini', params: {} },
  variables: {},
  slots: {},
});

const RULES = [
  { name: 'acme first', when: [{ attribute: 'tenant', op: 'in', values: ['acme'] }], serve: { arm: 'candidate' } },
  { name: 'beta tenants', when: [{ attribute: 'tenant', op: 'equals', values: ['globex'] }], serve: { label: 'beta' } },
  {
    when: [{ attribute: 'appVersion', op: 'semver_lt', values: ['2.0.0'] }],
    serve: { arm: 'baseline' },
  },
];

describeEachDatabase('rollout targeting rules on %s', (dialect) => {
  let registry: TestRegistry;
  let upstream: FakeUpstream;
  let app: FastifyInstance;
  let stream: SseClient;
  const shas: string[] = [];
  let id = '';

  const as = (key: keyof TestRegistry['keys']) => registry.keys[key];
  const snapshot = async (): Promise<Snapshot> =>
    (await call<Snapshot>(app, 'GET', '/api/v1/snapshot', as('viewer'))).body;
  const chat = async (headers: Record<string, string>) =>
    app.inject({
      method: 'POST',
      url: '/v1/chat/completions',
      headers: { authorization: `Bearer ${as('editor')}`, ...headers },
      payload: { model: 'prompt:greeter', messages: [{ role: 'user', content: 'hi' }] },
    });
  const rolloutEvents = (): RolloutChangeEvent[] => stream.parsed<RolloutChangeEvent>('rollout');

  beforeAll(async () => {
    registry = await openTestRegistry(dialect);
    upstream = await startFakeUpstream();
    app = await buildApp({
      storage: registry.storage,
      gateway: { config: { providers: { openai: { baseURL: `${upstream.url}/v1` } } } },
    });
    await app.listen({ host: '127.0.0.1', port: 0 });
    for (const [i, system] of ['Hello v1.', 'Hello v2.', 'Hello v3.'].entries()) {
      const pushed = await call<{ sha: string }>(app, 'POST', '/api/v1/prompts/greeter/versions', as('editor'), {
        content: content(system),
        parent: shas[i - 1] ?? null,
        message: system,
      });
      expect(pushed.status).toBe(201);
      shas.push(pushed.body.sha);
    }
    await call(app, 'PUT', '/api/v1/prompts/greeter/labels/production', as('deployer'), { ref: 'v1' });
    await call(app, 'PUT', '/api/v1/prompts/greeter/labels/beta', as('deployer'), { ref: 'v3' });
    const started = await call<Json>(app, 'POST', '/api/v1/prompts/greeter/rollouts', as('deployer'), {
      label: 'production',
      candidate: 'v2',
      steps: [1, 50, 100],
    });
    expect(started.status).toBe(201);
    id = started.body['id'] as string;
    const port = (app.server.address() as AddressInfo).port;
    stream = await openSse(`http://127.0.0.1:${port}/api/v1/stream`, { authorization: `Bearer ${as('viewer')}` });
    await stream.until(() => stream.messages.some((m) => m.event === 'ready'));
  });

  afterAll(async () => {
    await stream?.close();
    app?.server.closeAllConnections();
    await app?.close();
    await upstream?.close();
    await registry?.close();
  });

  it('refuses bad rules naming every field, and a viewer', async () => {
    const bad = await call<Json>(app, 'PUT', `/api/v1/rollouts/${id}/rules`, as('deployer'), {
      rules: [
        { when: [{ attribute: 'tenant', op: 'like', values: ['a'] }], serve: { arm: 'candidate' } },
        { when: [{ attribute: 'e', op: 'regex', values: ['(a+)+{2}'] }], serve: { percentage: 0.001 } },
      ],
    });
    expect(bad.status).toBe(400);
    expect(bad.body['error']['code']).toBe('invalid_targeting_rules');
    expect(bad.body['error']['issues'].map((i: Json) => i['path'])).toEqual([
      'rules[0].when[0].op',
      'rules[1].when[0].values[0]',
      'rules[1].serve.percentage',
    ]);
    const viewer = await call<Json>(app, 'PUT', `/api/v1/rollouts/${id}/rules`, as('viewer'), { rules: RULES });
    expect(viewer.status).toBe(403);
    const missing = await call<Json>(app, 'PUT', '/api/v1/rollouts/ro_nope/rules', as('deployer'), { rules: [] });
    expect(missing.body['error']['code']).toBe('rollout_not_found');
  });

  it('sets rules: the snapshot and the change feed carry them, the gateway and core evaluate them alike', async () => {
    const set = await call<Json>(app, 'PUT', `/api/v1/rollouts/${id}/rules`, as('deployer'), {
      rules: RULES,
      reason: 'acme asked to try it',
    });
    expect(set.status).toBe(200);
    expect(set.body).toMatchObject({ id, rules: RULES, killed: false });
    await stream.until(() => rolloutEvents().some((e) => e.rollout?.rules !== undefined));
    expect(rolloutEvents().at(-1)!.rollout).toMatchObject({ id, rules: RULES, state: 'running' });
    const snap = await snapshot();
    expect(snap.prompts['greeter']!.rollouts!['production']).toMatchObject({ id, rules: RULES });

    const cases: [Record<string, unknown>, string, string, string | undefined][] = [
      [{ tenant: 'acme', targetingKey: 'u1' }, 'candidate', shas[1]!, '0'],
      [{ tenant: 'acme' }, 'candidate', shas[1]!, '0'],
      [{ tenant: 'globex' }, 'base', shas[2]!, '1'],
      [{ tenant: 'initech', appVersion: '1.4.0' }, 'baseline', shas[0]!, '2'],
      [{ tenant: 'initech' }, 'baseline', shas[0]!, undefined],
    ];
    for (const [context, arm, sha, rule] of cases) {
      const answer = await chat({ 'x-promptops-context': JSON.stringify(context) });
      expect(answer.statusCode, answer.body).toBe(200);
      expect(answer.headers['x-promptops-arm'], JSON.stringify(context)).toBe(arm);
      expect(answer.headers['x-promptops-sha']).toBe(sha);
      expect(answer.headers['x-promptops-rule']).toBe(rule);
      const explained = explainResolution(snap, 'greeter', { context });
      expect(explained.resolution?.sha).toBe(sha);
      expect(explained.rule?.index === undefined ? undefined : String(explained.rule.index)).toBe(rule);
    }
    const bad = await chat({ 'x-promptops-context': '["acme"]' });
    expect(bad.statusCode).toBe(400);
    expect(JSON.parse(bad.body)['error']['issues'][0]['path']).toBe('headers.x-promptops-context');
  });

  it('kills the rollout: everyone gets the baseline at once, on the feed and at the gateway; resume turns it off', async () => {
    const killed = await call<Json>(app, 'POST', `/api/v1/rollouts/${id}/kill`, as('deployer'), {
      reason: 'bad answers',
    });
    expect(killed.status).toBe(200);
    expect(killed.body).toMatchObject({ state: 'paused', killed: true, rules: RULES });
    await stream.until(() => rolloutEvents().some((e) => e.rollout?.killed === true));
    expect((await snapshot()).prompts['greeter']!.rollouts!['production']).toMatchObject({ killed: true });
    for (const tenant of ['acme', 'globex']) {
      const answer = await chat({ 'x-promptops-context': JSON.stringify({ tenant }) });
      expect(answer.headers['x-promptops-arm']).toBe('baseline');
      expect(answer.headers['x-promptops-sha']).toBe(shas[0]);
    }
    // Killing a killed rollout changes nothing and records nothing.
    expect((await call<Json>(app, 'POST', `/api/v1/rollouts/${id}/kill`, as('deployer'))).body['killed']).toBe(true);
    const decisions = (await call<Json>(app, 'GET', `/api/v1/rollouts/${id}`, as('viewer'))).body[
      'decisions'
    ] as Json[];
    expect(decisions.map((d) => d['action'])).toEqual(['start', 'rules', 'kill']);

    const resumed = await call<Json>(app, 'POST', `/api/v1/rollouts/${id}/resume`, as('deployer'), {});
    expect(resumed.body).toMatchObject({ state: 'running', killed: false });
    const answer = await chat({ 'x-promptops-context': JSON.stringify({ tenant: 'acme' }) });
    expect(answer.headers['x-promptops-arm']).toBe('candidate');
  });

  it('clears rules with null; a rule serving a label is refused on a protected label', async () => {
    const cleared = await call<Json>(app, 'PUT', `/api/v1/rollouts/${id}/rules`, as('deployer'), { rules: null });
    expect(cleared.body['rules']).toBeNull();
    expect((await snapshot()).prompts['greeter']!.rollouts!['production']!.rules).toBeUndefined();
    expect((await call(app, 'PUT', '/api/v1/policies/production', as('admin'), { approvals: 1 })).status).toBe(200);
    try {
      const refused = await call<Json>(app, 'PUT', `/api/v1/rollouts/${id}/rules`, as('deployer'), { rules: RULES });
      expect(refused.status).toBe(403);
      expect(refused.body['error']).toMatchObject({ code: 'label_protected', details: { rules: ['rules[1]'] } });
      const arms = RULES.filter((r) => !('label' in r.serve));
      expect((await call(app, 'PUT', `/api/v1/rollouts/${id}/rules`, as('deployer'), { rules: arms })).status).toBe(
        200,
      );
    } finally {
      await call(app, 'PUT', '/api/v1/policies/production', as('admin'), { protected: false, approvals: 0 });
    }
  });

  it('refuses rules and the kill switch on a finished rollout', async () => {
    expect((await call(app, 'POST', `/api/v1/rollouts/${id}/abort`, as('deployer'), {})).status).toBe(200);
    const rules = await call<Json>(app, 'PUT', `/api/v1/rollouts/${id}/rules`, as('deployer'), { rules: [] });
    expect(rules.body['error']['code']).toBe('rollout_transition_invalid');
    const kill = await call<Json>(app, 'POST', `/api/v1/rollouts/${id}/kill`, as('deployer'));
    expect(kill.body['error']['code']).toBe('rollout_transition_invalid');
  });
});
