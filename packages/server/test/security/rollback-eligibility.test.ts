import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call as inject } from '../support/http.js';
import { DIALECTS, openTestRegistry, textContent, type TestRegistry } from '../support/registry.js';
import { ingest, traceEvent } from '../support/traces.js';

/**
 * A rollback never waits for review, but on a protected label it may only put back a version that
 * reached the label through the label's policy (an approved merge, or a promote that passed the gate).
 * A version that got there only by break glass is refused, by `--to` and by the default target alike,
 * and the dashboard's data (the deployments' rollback options, a trace's rollback) never offers it.
 */

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

for (const dialect of DIALECTS) {
  describe(`rollback targets of a protected label on ${dialect}`, () => {
    let r: TestRegistry;
    const heads = new Map<string, string | null>();
    const shas = new Map<string, string>();

    const call = (method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, body?: unknown, key = r.keys.admin) =>
      inject<Json>(r.app, method, url, key, body);
    const push = async (name: string, template: string): Promise<void> => {
      const pushed = await call(
        'POST',
        `/api/v1/prompts/${name}/versions`,
        { content: textContent(name, template), parent: heads.get(name) ?? null, message: template },
        r.keys.editor,
      );
      expect(pushed.status, pushed.text).toBe(201);
      heads.set(name, pushed.body['sha'] as string);
      shas.set(`${name}@v${pushed.body['version']}`, pushed.body['sha'] as string);
    };
    const promote = async (name: string, ref: string, label: string, extra: Json = {}, key = r.keys.deployer) => {
      const moved = await call('PUT', `/api/v1/prompts/${name}/labels/${label}`, { ref, ...extra }, key);
      expect(moved.status, moved.text).toBe(200);
    };
    const breakGlass = (name: string, ref: string) =>
      promote(name, ref, 'production', { force: true, reason: 'outage, no time for review' }, r.keys.admin);
    const rollback = (name: string, body: Json = {}, label = 'production') =>
      call('POST', `/api/v1/prompts/${name}/labels/${label}/rollback`, body, r.keys.deployer);
    const serving = async (name: string, label = 'production'): Promise<number> =>
      (await call('GET', `/api/v1/prompts/${name}/versions/${label}`)).body['version'] as number;

    beforeAll(async () => {
      r = await openTestRegistry(dialect);
      for (const line of ['one', 'two', 'three', 'four']) await push('greeter', `Hello ${line}.`);
      // v1 shipped before production was protected: a promote, through the policy of its day.
      await promote('greeter', 'v1', 'production');
      expect((await call('PUT', '/api/v1/policies/production', { approvals: 1 })).status).toBe(200);
      // v2 through an approved change request.
      const opened = await call(
        'POST',
        '/api/v1/reviews',
        { name: 'greeter', ref: 'v2', label: 'production' },
        r.keys.editor,
      );
      expect(opened.status, opened.text).toBe(201);
      const id = opened.body['id'] as number;
      expect((await call('POST', `/api/v1/reviews/${id}/approve`, {}, r.keys.reviewer)).status).toBe(200);
      expect((await call('POST', `/api/v1/reviews/${id}/merge`, {}, r.keys.deployer)).status).toBe(200);
      // v3 and v4 only by break glass.
      await breakGlass('greeter', 'v3');
      await breakGlass('greeter', 'v4');
      expect(await serving('greeter')).toBe(4);
    });
    afterAll(async () => {
      await r.close();
    });

    it('rolls back by default to the previous version that came through review, skipping break glass', async () => {
      const rolled = await rollback('greeter', { reason: 'v4 is broken' });
      expect(rolled.status, rolled.text).toBe(200);
      expect(rolled.body['deployment']).toMatchObject({ kind: 'rollback', fromVersion: 4, toVersion: 2 });
      expect(await serving('greeter')).toBe(2);
    });

    it('refuses --to a version that reached the label only by break glass, naming the commands to use', async () => {
      for (const ref of ['v3', 'v4']) {
        const refused = await rollback('greeter', { to: ref });
        expect(refused.status, refused.text).toBe(403);
        expect(refused.body['error']).toMatchObject({
          code: 'label_protected',
          message: expect.stringContaining('break glass'),
        });
        const fix = refused.body['error']['fix'] as string;
        expect(fix).toContain(`promptops review request greeter ${ref} --label production`);
        expect(fix).toContain(`promptops promote greeter ${ref} --label production --force --reason`);
      }
      // Also by sha: the check is on the version, not on how it is named.
      const bySha = await rollback('greeter', { to: shas.get('greeter@v3')!.slice(0, 12) });
      expect(bySha.status).toBe(403);
      expect(await serving('greeter')).toBe(2);
    });

    it('accepts versions that came through the policy, and a rollback to one keeps it eligible', async () => {
      const toFirst = await rollback('greeter', { to: 'v1' });
      expect(toFirst.status, toFirst.text).toBe(200);
      expect(toFirst.body['deployment']).toMatchObject({ fromVersion: 2, toVersion: 1 });
      // v2 has been reached by a merge and by a rollback since: still eligible.
      const back = await rollback('greeter', { to: 'v2' });
      expect(back.status, back.text).toBe(200);
      expect(await serving('greeter')).toBe(2);
    });

    it('offers the dashboard only the eligible targets (deployment history and trace view)', async () => {
      const history = await call(
        'GET',
        '/api/v1/prompts/greeter/deployments?label=production',
        undefined,
        r.keys.viewer,
      );
      expect(history.status).toBe(200);
      expect(history.body['rollback']).toEqual([
        {
          label: 'production',
          protected: true,
          previous: { version: 1, sha: shas.get('greeter@v1') },
          targets: [{ version: 1, sha: shas.get('greeter@v1') }],
        },
      ]);
      const event = traceEvent('t-rollback-1', {
        prompt: { name: 'greeter', version: 2, sha: shas.get('greeter@v2') },
        label: 'production',
      });
      expect((await ingest(r.app, r.keys.admin, { events: [event] })).statusCode).toBeLessThan(300);
      const trace = await call('GET', '/api/v1/traces/t-rollback-1');
      expect(trace.status, trace.text).toBe(200);
      expect(trace.body['rollback']).toMatchObject({ label: 'production', to: { version: 1 } });
    });

    it('refuses the default rollback when every earlier version came only by break glass', async () => {
      await push('solo', 'First.');
      await push('solo', 'Second.');
      await breakGlass('solo', 'v1');
      await breakGlass('solo', 'v2');
      const refused = await rollback('solo');
      expect(refused.status, refused.text).toBe(403);
      expect(refused.body['error']).toMatchObject({ code: 'label_protected' });
      expect(refused.body['error']['fix']).toContain('promptops review request solo v1 --label production');
      const history = await call('GET', '/api/v1/prompts/solo/deployments');
      expect(history.body['rollback']).toEqual([{ label: 'production', protected: true, previous: null, targets: [] }]);
      expect(await serving('solo')).toBe(2);
    });

    it('changes nothing on an unprotected label: any version it held', async () => {
      expect((await call('DELETE', '/api/v1/policies/production')).status).toBe(200);
      const history = await call('GET', '/api/v1/prompts/greeter/deployments?label=production');
      expect(history.body['rollback'][0]).toMatchObject({ protected: false, previous: { version: 1 } });
      expect((history.body['rollback'][0]['targets'] as Json[]).map((t) => t['version']).sort()).toEqual([1, 3, 4]);
      const toForced = await rollback('greeter', { to: 'v3' });
      expect(toForced.status, toForced.text).toBe(200);
      expect(await serving('greeter')).toBe(3);
      const solo = await rollback('solo');
      expect(solo.status, solo.text).toBe(200);
      expect(await serving('solo')).toBe(1);
    });
  });
}
