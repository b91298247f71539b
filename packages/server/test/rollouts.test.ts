import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS, openTestRegistry, textContent, type TestRegistry } from './support/registry.js';

/**
 * The rollouts API on both databases: start (shadow and split), the plan's errors naming their field,
 * one active rollout per label, pause / resume / advance / abort with their decisions and audit entries,
 * completion moving the label as a `rollout` deployment, and a protected label's policy.
 */

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

for (const dialect of DIALECTS) {
  describe(`rollouts API on ${dialect}`, () => {
    let registry: TestRegistry;
    const heads = new Map<string, string | null>();

    const call = async (
      method: 'GET' | 'POST' | 'PUT',
      url: string,
      body?: unknown,
      key: string = registry.keys.deployer,
    ): Promise<{ status: number; body: Json }> => {
      const response = await registry.app.inject({
        method,
        url,
        headers: { authorization: `Bearer ${key}` },
        ...(body === undefined ? {} : { payload: body as Json }),
      });
      return { status: response.statusCode, body: response.json() as Json };
    };
    const push = async (name: string, template: string): Promise<void> => {
      const result = await call(
        'POST',
        `/api/v1/prompts/${encodeURIComponent(name)}/versions`,
        { content: textContent(name, template), parent: heads.get(name) ?? null, message: template },
        registry.keys.editor,
      );
      expect(result.status).toBe(201);
      heads.set(name, result.body['sha'] as string);
    };
    const start = (name: string, body: Json) => call('POST', `/api/v1/prompts/${name}/rollouts`, body);

    beforeAll(async () => {
      registry = await openTestRegistry(dialect);
      for (const name of ['greeter', 'faq', 'guarded']) {
        await push(name, `${name} v1`);
        await push(name, `${name} v2`);
        expect((await call('PUT', `/api/v1/prompts/${name}/labels/production`, { ref: 'v1' })).status).toBe(200);
      }
    });
    afterAll(async () => {
      await registry.close();
    });

    it('starts a split rollout and shows it with its decision', async () => {
      const started = await start('greeter', {
        label: 'production',
        candidate: 'v2',
        steps: [10, 50, 100],
        stepDuration: '5m',
        minSamples: 20,
        guardrails: ['error_rate:+0.05', 'latency:+200'],
      });
      expect(started.status).toBe(201);
      expect(started.body).toMatchObject({
        name: 'greeter',
        label: 'production',
        mode: 'split',
        state: 'running',
        ramp: 10,
        stepIndex: 0,
        steps: [10, 50, 100],
        candidate: { version: 2 },
        createdBy: 'key:deployer',
      });
      expect(started.body['id']).toMatch(/^ro_[a-z2-7]{12}$/);
      expect(started.body['salt']).toBe(started.body['id']);
      expect(started.body['config']).toMatchObject({
        minStepDurationMs: 300_000,
        minSamplesPerArm: 20,
        guardrails: [
          { metric: 'error_rate', threshold: 0.05 },
          { metric: 'latency', threshold: 200 },
        ],
      });
      const shown = await call('GET', `/api/v1/rollouts/${started.body['id']}`, undefined, registry.keys.viewer);
      expect(shown.status).toBe(200);
      expect(shown.body['decisions']).toMatchObject([{ action: 'start', actor: 'key:deployer' }]);
      const listed = await call(
        'GET',
        '/api/v1/rollouts?prompt=greeter&state=running',
        undefined,
        registry.keys.viewer,
      );
      expect(listed.body['rollouts'].map((r: Json) => r['id'])).toEqual([started.body['id']]);
    });

    it('refuses a second active rollout on the label, naming the first', async () => {
      const [first] = (await call('GET', '/api/v1/rollouts?prompt=greeter')).body['rollouts'] as Json[];
      const second = await start('greeter', { label: 'production', candidate: 'v2', mode: 'shadow' });
      expect(second.status).toBe(409);
      expect(second.body['error']).toMatchObject({ code: 'rollout_active', details: { rolloutId: first!['id'] } });
    });

    it('names the bad field of a plan', async () => {
      const cases: [Json, string][] = [
        [{ steps: [50, 10] }, 'steps[1]'],
        [{ guardrails: ['error_rate:-0.1'] }, 'guardrails[0]'],
        [{ stepDuration: 'soon' }, 'stepDuration'],
        [{ guardrails: ['p99:+1'] }, 'guardrails[0]'],
      ];
      for (const [plan, field] of cases) {
        const answer = await start('faq', { label: 'production', candidate: 'v2', ...plan });
        expect(answer.status, JSON.stringify(plan)).toBe(400);
        expect(answer.body['error']['code']).toBe('invalid_rollout');
        expect(answer.body['error']['issues'].map((i: Json) => i['path'])).toContain(field);
      }
      const same = await start('faq', { label: 'production', candidate: 'v1' });
      expect(same.body['error']).toMatchObject({ code: 'invalid_rollout', issues: [{ path: 'candidate' }] });
      expect((await start('faq', { label: 'nope', candidate: 'v2' })).body['error']['code']).toBe('label_not_found');
      expect((await start('faq', { label: 'production', candidate: 'v9' })).status).toBe(404);
      expect((await call('GET', '/api/v1/rollouts/ro_aaaaaaaaaaaa')).body['error']['code']).toBe('rollout_not_found');
    });

    it('pauses, resumes, advances and aborts, each recorded and audited', async () => {
      const { body } = await start('faq', { label: 'production', candidate: 'v2', steps: [5, 25, 100] });
      const id = body['id'] as string;
      expect((await call('POST', `/api/v1/rollouts/${id}/pause`, { reason: 'looking' })).body).toMatchObject({
        state: 'paused',
        ramp: 5,
        reason: 'looking',
      });
      expect((await call('POST', `/api/v1/rollouts/${id}/advance`)).body['error']['code']).toBe(
        'rollout_transition_invalid',
      );
      expect((await call('POST', `/api/v1/rollouts/${id}/resume`)).body).toMatchObject({ state: 'running', ramp: 5 });
      expect((await call('POST', `/api/v1/rollouts/${id}/advance`)).body).toMatchObject({ stepIndex: 1, ramp: 25 });
      const aborted = await call('POST', `/api/v1/rollouts/${id}/abort`, { reason: 'answers too long' });
      expect(aborted.body).toMatchObject({ state: 'aborted', ramp: 0, reason: 'answers too long' });
      expect(aborted.body['endedAt']).not.toBeNull();
      const shown = await call('GET', `/api/v1/rollouts/${id}`);
      expect(shown.body['decisions'].map((d: Json) => d['action'])).toEqual([
        'start',
        'pause',
        'resume',
        'manual-advance',
        'abort',
      ]);
      const audit = await call('GET', '/api/v1/audit?limit=20', undefined, registry.keys.admin);
      const actions = (audit.body['entries'] as Json[])
        .filter((e) => e['data']?.['rolloutId'] === id)
        .map((e) => e['action']);
      expect(actions).toEqual([
        'rollout.started',
        'rollout.paused',
        'rollout.resumed',
        'rollout.stepped',
        'rollout.aborted',
      ]);
      // The label never moved, and a new rollout may start.
      expect((await call('GET', '/api/v1/prompts/faq/labels')).body['labels']).toContainEqual(
        expect.objectContaining({ label: 'production', version: 1 }),
      );
      expect((await start('faq', { label: 'production', candidate: 'v2', mode: 'shadow' })).status).toBe(201);
    });

    it('completes from its last step: the label moves as a rollout deployment', async () => {
      const [running] = (await call('GET', '/api/v1/rollouts?prompt=greeter&state=running')).body['rollouts'] as Json[];
      const id = running!['id'] as string;
      expect((await call('POST', `/api/v1/rollouts/${id}/advance`)).body).toMatchObject({ stepIndex: 1 });
      const done = await call('POST', `/api/v1/rollouts/${id}/advance`, { reason: 'good' });
      expect(done.body).toMatchObject({ state: 'completed', ramp: 0 });
      const history = await call('GET', '/api/v1/prompts/greeter/deployments?label=production');
      expect(history.body['deployments'][0]).toMatchObject({ kind: 'rollout', toVersion: 2, actor: 'key:deployer' });
    });

    it('a split on a protected label follows its policy; a shadow needs none', async () => {
      expect((await call('PUT', '/api/v1/policies/production', { approvals: 1 }, registry.keys.admin)).status).toBe(
        200,
      );
      try {
        const split = await start('guarded', { label: 'production', candidate: 'v2' });
        expect(split.status).toBe(403);
        expect(split.body['error']['code']).toBe('label_protected');
        expect(split.body['error']['fix']).toContain('/api/v1/reviews');
        const shadow = await start('guarded', { label: 'production', candidate: 'v2', mode: 'shadow' });
        expect(shadow.status).toBe(201);
        expect((await call('POST', `/api/v1/rollouts/${shadow.body['id']}/abort`)).body['state']).toBe('aborted');
      } finally {
        await call('PUT', '/api/v1/policies/production', { protected: false, approvals: 0 }, registry.keys.admin);
      }
    });

    it('is the deployer’s to start and a viewer’s to read', async () => {
      const refused = await call(
        'POST',
        '/api/v1/prompts/guarded/rollouts',
        { label: 'production', candidate: 'v2' },
        registry.keys.editor,
      );
      expect(refused.status).toBe(403);
      expect((await call('GET', '/api/v1/rollouts', undefined, registry.keys.viewer)).status).toBe(200);
    });
  });
}
