import type { AddressInfo } from 'node:net';
import { explainResolution, type LabelRulesChangeEvent, type Snapshot } from '@promptops/core';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { buildApp } from '../src/app/app.js';
import { describeEachDatabase } from './support/databases.js';
import { startFakeUpstream, type FakeUpstream } from './support/fake-upstream.js';
import { call } from './support/http.js';
import { openTestRegistry, type TestRegistry } from './support/registry.js';
import { openSse, type SseClient } from './support/sse.js';

/**
 * Targeting rules on a bare label (no rollout): set through PUT /api/v1/prompts/:name/labels/:label/rules
 * by a deployer, checked by core, carried in the snapshot (a served version with its content) and in
 * `event: label_rules`, evaluated by the gateway from X-Promptops-Context exactly as core resolves the
 * snapshot; on a protected label only versions that reached it through review may be served.
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
  { name: 'pro plan', when: [{ attribute: 'plan', op: 'equals', values: ['pro'] }], serve: { version: 2 } },
  { name: 'beta tenants', when: [{ attribute: 'tenant', op: 'in', values: ['globex'] }], serve: { label: 'beta' } },
  { when: [{ attribute: 'appVersion', op: 'semver_gte', values: ['3.0.0'] }], serve: { version: 3 } },
];

describeEachDatabase('label targeting rules on %s', (dialect) => {
  let registry: TestRegistry;
  let upstream: FakeUpstream;
  let app: FastifyInstance;
  let stream: SseClient;
  const shas: string[] = [];
  const path = '/api/v1/prompts/greeter/labels/production/rules';

  const as = (key: keyof TestRegistry['keys']) => registry.keys[key];
  const snapshot = async (): Promise<Snapshot> =>
    (await call<Snapshot>(app, 'GET', '/api/v1/snapshot', as('viewer'))).body;
  const chat = async (context: Record<string, unknown>) =>
    app.inject({
      method: 'POST',
      url: '/v1/chat/completions',
      headers: { authorization: `Bearer ${as('editor')}`, 'x-promptops-context': JSON.stringify(context) },
      payload: { model: 'prompt:greeter', messages: [{ role: 'user', content: 'hi' }] },
    });
  const ruleEvents = (): LabelRulesChangeEvent[] => stream.parsed<LabelRulesChangeEvent>('label_rules');

  beforeAll(async () => {
    registry = await openTestRegistry(dialect);
    upstream = await startFakeUpstream();
    app = await buildApp({
      storage: registry.storage,
      gateway: { config: { providers: { openai: { baseURL: `${upstream.url}/v1` } } } },
    });
    await app.listen({ host: '127.0.0.1', port: 0 });
    for (const [i, system] of ['Hello v1.', 'Hello v2.', 'Hello v3.', 'Hello v4.'].entries()) {
      const pushed = await call<{ sha: string }>(app, 'POST', '/api/v1/prompts/greeter/versions', as('editor'), {
        content: content(system),
        parent: shas[i - 1] ?? null,
        message: system,
      });
      expect(pushed.status).toBe(201);
      shas.push(pushed.body.sha);
    }
    await call(app, 'PUT', '/api/v1/prompts/greeter/labels/production', as('deployer'), { ref: 'v1' });
    await call(app, 'PUT', '/api/v1/prompts/greeter/labels/beta', as('deployer'), { ref: 'v4' });
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

  it('refuses bad rules naming every field, an editor, an unknown label and an unknown version', async () => {
    const bad = await call<Json>(app, 'PUT', path, as('deployer'), {
      rules: [
        { when: [{ attribute: 'plan', op: 'like', values: ['a'] }], serve: { version: 2 } },
        { when: [], serve: { arm: 'candidate' } },
      ],
    });
    expect(bad.status).toBe(400);
    expect(bad.body['error']['code']).toBe('invalid_targeting_rules');
    expect(bad.body['error']['issues'].map((i: Json) => i['path'])).toEqual(['rules[0].when[0].op', 'rules[1].serve']);
    expect((await call(app, 'PUT', path, as('editor'), { rules: RULES })).status).toBe(403);
    const noLabel = await call<Json>(app, 'PUT', '/api/v1/prompts/greeter/labels/gamma/rules', as('deployer'), {
      rules: RULES,
    });
    expect(noLabel.body['error']['code']).toBe('label_not_found');
    const noVersion = await call<Json>(app, 'PUT', path, as('deployer'), {
      rules: [{ when: [], serve: { version: 9 } }],
    });
    expect(noVersion.status).toBe(404);
  });

  it('sets rules: the snapshot and the feed carry them, and the gateway serves as core resolves', async () => {
    const set = await call<Json>(app, 'PUT', path, as('deployer'), { rules: RULES });
    expect(set.status, JSON.stringify(set.body)).toBe(200);
    expect(set.body['rules'][0]).toEqual({ ...RULES[0], serve: { version: 2, sha: shas[1] } });
    expect((await call<Json>(app, 'GET', path, as('viewer'))).body['rules']).toEqual(set.body['rules']);

    await stream.until(() => ruleEvents().length > 0);
    const event = ruleEvents().at(-1)!;
    expect(event).toMatchObject({ name: 'greeter', label: 'production' });
    expect(event.rules![0]!.serve).toMatchObject({ version: { version: 2, sha: shas[1] } });
    const snap = await snapshot();
    expect(snap.prompts['greeter']!.labelRules!['production']).toEqual(event.rules);

    const cases: [Record<string, unknown>, string, string | undefined][] = [
      [{ plan: 'pro' }, shas[1]!, '0'],
      [{ tenant: 'globex', targetingKey: 'u1' }, shas[3]!, '1'],
      [{ plan: 'pro', tenant: 'globex' }, shas[1]!, '0'],
      [{ appVersion: '3.1.0' }, shas[2]!, '2'],
      [{ appVersion: '2.9.9', tenant: 'initech' }, shas[0]!, undefined],
      [{}, shas[0]!, undefined],
    ];
    for (const [context, sha, rule] of cases) {
      const answer = await chat(context);
      expect(answer.statusCode, answer.body).toBe(200);
      expect(answer.headers['x-promptops-sha'], JSON.stringify(context)).toBe(sha);
      expect(answer.headers['x-promptops-label-rule']).toBe(rule);
      const explained = explainResolution(snap, 'greeter', { context });
      expect(explained.resolution?.sha).toBe(sha);
      expect(explained.cause).toBe(rule === undefined ? 'no_rollout' : 'label_rule');
    }
  });

  it('on a protected label serves only versions that reached it through review, never another label', async () => {
    expect((await call(app, 'PUT', '/api/v1/policies/production', as('admin'), { approvals: 1 })).status).toBe(200);
    try {
      const byLabel = await call<Json>(app, 'PUT', path, as('deployer'), { rules: [RULES[1]] });
      expect(byLabel.status).toBe(403);
      expect(byLabel.body['error']['code']).toBe('label_protected');
      const unreviewed = await call<Json>(app, 'PUT', path, as('deployer'), { rules: [RULES[0]] });
      expect(unreviewed.status).toBe(403);
      expect(unreviewed.body['error']['message']).toContain('never reached it through review');
      // Its current version is allowed; clearing never waits for review.
      const current = await call<Json>(app, 'PUT', path, as('deployer'), {
        rules: [{ when: [{ attribute: 'plan', op: 'equals', values: ['free'] }], serve: { version: 1 } }],
      });
      expect(current.status, JSON.stringify(current.body)).toBe(200);
    } finally {
      await call(app, 'PUT', '/api/v1/policies/production', as('admin'), { protected: false, approvals: 0 });
    }
  });

  it('clears them: the feed says null, the snapshot drops them, the gateway serves the label', async () => {
    const cleared = await call<Json>(app, 'DELETE', path, as('deployer'));
    expect(cleared.status).toBe(200);
    expect(cleared.body['rules']).toEqual([]);
    await stream.until(() => ruleEvents().at(-1)?.rules === null);
    expect((await snapshot()).prompts['greeter']!.labelRules).toBeUndefined();
    expect((await chat({ plan: 'pro' })).headers['x-promptops-sha']).toBe(shas[0]);
    const audit = (await call<Json>(app, 'GET', '/api/v1/audit?limit=50', as('admin'))).body;
    const entries = (audit['entries'] ?? audit['items'] ?? audit) as Json[];
    expect(entries.filter((e) => e['action'] === 'label.rules_set').length).toBe(3);
  });
});
