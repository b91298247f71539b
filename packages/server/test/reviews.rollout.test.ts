import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS, openTestRegistry, textContent, type TestRegistry } from './support/registry.js';

/**
 * A change request may carry a rollout plan: merging it starts the rollout (through the rollouts
 * service) instead of moving the label, so a split on a protected label goes through review.
 */

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const PLAN = {
  mode: 'split',
  steps: [10, 50, 100],
  minSamples: 20,
  stepDuration: '5m',
  guardrails: ['error_rate:+0.05'],
};

for (const dialect of DIALECTS) {
  describe(`change requests proposing a rollout on ${dialect}`, () => {
    let registry: TestRegistry;
    let parent: string | null = null;

    const call = async (
      method: 'GET' | 'POST' | 'PUT',
      url: string,
      body: unknown,
      key: string,
    ): Promise<{ status: number; body: Json }> => {
      const response = await registry.app.inject({
        method,
        url,
        headers: { authorization: `Bearer ${key}` },
        ...(body === undefined ? {} : { payload: body as Json }),
      });
      return { status: response.statusCode, body: response.json() as Json };
    };
    const open = (body: Json) => call('POST', '/api/v1/reviews', body, registry.keys.editor);
    const approveAndMerge = async (id: number): Promise<{ status: number; body: Json }> => {
      expect((await call('POST', `/api/v1/reviews/${id}/approve`, {}, registry.keys.reviewer)).status).toBe(200);
      return call('POST', `/api/v1/reviews/${id}/merge`, {}, registry.keys.editor);
    };
    const production = async (): Promise<number> => {
      const labels = await call('GET', '/api/v1/prompts/guarded/labels', undefined, registry.keys.viewer);
      return (labels.body['labels'] as Json[]).find((l) => l['label'] === 'production')!['version'] as number;
    };

    beforeAll(async () => {
      registry = await openTestRegistry(dialect);
      for (const text of ['guarded v1', 'guarded v2', 'guarded v3']) {
        const pushed = await call(
          'POST',
          '/api/v1/prompts/guarded/versions',
          { content: textContent('guarded', text), parent, message: text },
          registry.keys.editor,
        );
        expect(pushed.status).toBe(201);
        parent = pushed.body['sha'] as string;
      }
      expect(
        (await call('PUT', '/api/v1/prompts/guarded/labels/production', { ref: 'v1' }, registry.keys.deployer)).status,
      ).toBe(200);
      expect((await call('PUT', '/api/v1/policies/production', { approvals: 1 }, registry.keys.admin)).status).toBe(
        200,
      );
    });
    afterAll(async () => {
      await registry.close();
    });

    it('names a bad plan field under rollout', async () => {
      const bad = await open({
        name: 'guarded',
        ref: 'v2',
        label: 'production',
        rollout: { ...PLAN, steps: [50, 10] },
      });
      expect(bad.status).toBe(400);
      expect(bad.body['error']).toMatchObject({ code: 'invalid_rollout' });
      expect(bad.body['error']['issues'][0]['path']).toBe('rollout.steps[1]');
      const unknown = await open({ name: 'guarded', ref: 'v2', label: 'production', rollout: { ramp: 5 } });
      expect(unknown.status).toBe(400);
    });

    it('merging starts the split rollout the request carries; the label stays until the rollout completes', async () => {
      const opened = await open({ name: 'guarded', ref: 'v2', label: 'production', message: 'try v2', rollout: PLAN });
      expect(opened.status).toBe(201);
      expect(opened.body['rollout']).toMatchObject({
        plan: { mode: 'split', steps: [10, 50, 100], minSamplesPerArm: 20, minStepDurationMs: 300_000 },
        rolloutId: null,
      });
      const id = opened.body['id'] as number;

      const merged = await approveAndMerge(id);
      expect(merged.status, JSON.stringify(merged.body)).toBe(200);
      expect(merged.body).toMatchObject({ status: 'merged', deploymentId: null });
      const rolloutId = merged.body['rollout']['rolloutId'] as string;
      expect(rolloutId).toMatch(/^ro_[a-z2-7]{12}$/);
      expect(await production()).toBe(1);

      const shown = await call('GET', `/api/v1/rollouts/${rolloutId}`, undefined, registry.keys.viewer);
      expect(shown.body['rollout']).toMatchObject({
        name: 'guarded',
        label: 'production',
        mode: 'split',
        state: 'running',
        ramp: 10,
        candidate: { version: 2 },
        createdBy: 'key:editor',
      });
      expect(shown.body['decisions'][0]).toMatchObject({ action: 'start', actor: 'key:editor' });
      expect(shown.body['decisions'][0]['reason']).toContain(`change request #${id}`);

      const audit = await call('GET', '/api/v1/audit?order=desc&limit=5', undefined, registry.keys.admin);
      const mergedEntry = (audit.body['entries'] as Json[]).find((e) => e['action'] === 'review.merged')!;
      expect(JSON.stringify(mergedEntry['data'])).toContain(rolloutId);

      // A second proposal for the same label waits for the active rollout: the merge is refused, the request stays open.
      const second = await open({ name: 'guarded', ref: 'v3', label: 'production', rollout: { mode: 'shadow' } });
      const refused = await approveAndMerge(second.body['id'] as number);
      expect(refused.status).toBe(409);
      expect(refused.body['error']).toMatchObject({ code: 'rollout_active' });
      const still = await call('GET', `/api/v1/reviews/${second.body['id']}`, undefined, registry.keys.viewer);
      expect(still.body).toMatchObject({ status: 'open', rollout: { rolloutId: null } });

      // Finishing the first lets it through; completing a rollout moves the label as a rollout deployment.
      const advanced = await call('POST', `/api/v1/rollouts/${rolloutId}/advance`, {}, registry.keys.deployer);
      expect(advanced.body).toMatchObject({ ramp: 50 });
      const completed = await call('POST', `/api/v1/rollouts/${rolloutId}/advance`, {}, registry.keys.deployer);
      expect(completed.body).toMatchObject({ state: 'completed' });
      expect(await production()).toBe(2);
      const again = await call('POST', `/api/v1/reviews/${second.body['id']}/update`, {}, registry.keys.editor);
      expect(again.status).toBe(200);
      const merged2 = await approveAndMerge(second.body['id'] as number);
      expect(merged2.status, JSON.stringify(merged2.body)).toBe(200);
      expect(merged2.body['rollout']['rolloutId']).toMatch(/^ro_/);

      // Every row still matches the audit entries that recorded it.
      const verified = await call('GET', '/api/v1/verify', undefined, registry.keys.admin);
      expect(verified.body).toMatchObject({ ok: true, problems: [] });
    });

    it('a request without a plan still moves the label on merge', async () => {
      const list = await call('GET', '/api/v1/rollouts?prompt=guarded&state=running', undefined, registry.keys.viewer);
      for (const r of list.body['rollouts'] as Json[]) {
        await call('POST', `/api/v1/rollouts/${r['id']}/abort`, {}, registry.keys.deployer);
      }
      const opened = await open({ name: 'guarded', ref: 'v3', label: 'production' });
      expect(opened.body['rollout']).toBeNull();
      const merged = await approveAndMerge(opened.body['id'] as number);
      expect(merged.status).toBe(200);
      expect(await production()).toBe(3);
    });
  });
}
