import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../src/app/app.js';
import { createStorage, type Stores } from '../src/app/stores.js';
import { addMemberKey } from './support/members.js';
import { addKey, DIALECTS, openTestRegistry, textContent, type TestRegistry } from './support/registry.js';

/**
 * Review gates end to end over HTTP, on both databases: protected labels refuse direct promotes, change
 * requests need approvals by someone other than the author, a new sha voids approvals, merges race
 * safely, recovery is never blocked and break glass is recorded.
 */

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const RITA_KEY = 'po_test_rita_reviewer_key_000000000';
const OTHER_KEY = 'po_test_other_project_key_00000000';

for (const dialect of DIALECTS) {
  describe(`review gates on ${dialect}`, () => {
    let registry: TestRegistry;
    const heads = new Map<string, string | null>();

    const call = async (
      method: 'GET' | 'POST' | 'PUT' | 'DELETE',
      url: string,
      body?: unknown,
      key: string = registry.keys.admin,
      app: FastifyInstance = registry.app,
    ): Promise<{ status: number; body: Json }> => {
      const response = await app.inject({
        method,
        url,
        headers: { authorization: `Bearer ${key}` },
        ...(body === undefined ? {} : { payload: body as Json }),
      });
      return { status: response.statusCode, body: response.json() as Json };
    };
    const push = async (name: string, template: string): Promise<Json> => {
      const result = await call(
        'POST',
        `/api/v1/prompts/${encodeURIComponent(name)}/versions`,
        { content: textContent(name, template), parent: heads.get(name) ?? null, message: template.split('\n')[0] },
        registry.keys.editor,
      );
      expect(result.status).toBe(201);
      heads.set(name, result.body['sha'] as string);
      return result.body;
    };
    const open = (name: string, ref: string, key = registry.keys.editor) =>
      call('POST', '/api/v1/reviews', { name, ref, label: 'production', message: `ship ${ref}` }, key);
    const approve = (id: number, key = RITA_KEY, comment = 'looks good') =>
      call('POST', `/api/v1/reviews/${id}/approve`, { comment }, key);

    beforeAll(async () => {
      registry = await openTestRegistry(dialect);
      await addMemberKey(registry.storage, registry.projectId, 'reviewer', RITA_KEY, 'rita');
      await push('greeter', 'Hello.\nAlways greet the user by name.\n');
      const first = await call(
        'PUT',
        '/api/v1/prompts/greeter/labels/production',
        { ref: 'v1' },
        registry.keys.deployer,
      );
      expect(first.status).toBe(200);
      const policy = await call('PUT', '/api/v1/policies/production', { approvals: 1 });
      expect(policy.status).toBe(200);
      expect(policy.body['policy']).toMatchObject({
        label: 'production',
        pattern: '*',
        protected: true,
        approvals: 1,
        minRole: 'reviewer',
        authorMayApprove: false,
        updatedBy: 'key:admin',
      });
    });
    afterAll(async () => {
      await registry.close();
    });

    it('refuses a direct promote to a protected label and points to a change request', async () => {
      await push('greeter', 'Hello.\n');
      const refused = await call(
        'PUT',
        '/api/v1/prompts/greeter/labels/production',
        { ref: 'v2' },
        registry.keys.deployer,
      );
      expect(refused.status).toBe(403);
      expect(refused.body['error']).toMatchObject({
        code: 'label_protected',
        fix: expect.stringContaining('promptops review request greeter v2 --label production'),
      });
      // Unprotected labels move as before.
      expect(
        (await call('PUT', '/api/v1/prompts/greeter/labels/staging', { ref: 'v2' }, registry.keys.deployer)).status,
      ).toBe(200);
      const audit = await call('GET', '/api/v1/audit?order=desc&limit=50');
      expect(
        (audit.body['entries'] as Json[]).some((e) => e['action'] === 'policy.set' && e['actor'] === 'key:admin'),
      ).toBe(true);
    });

    it('opens a change request with the diff, the checks and a timeline', async () => {
      const opened = await open('greeter', 'v2');
      expect(opened.status).toBe(201);
      const cr = opened.body;
      expect(cr).toMatchObject({
        name: 'greeter',
        label: 'production',
        status: 'open',
        author: 'key:editor',
        version: 2,
        baseVersion: 1,
        protected: true,
        mergeable: false,
        from: { version: 1 },
        to: { version: 2 },
      });
      expect((cr['diff']['lines'] as Json[]).filter((l) => l['op'] !== 'equal')).toEqual([
        { op: 'remove', text: 'Always greet the user by name.' },
      ]);
      expect(cr['checks']).toMatchObject({
        approvals: { status: 'pending', required: 1, approvedBy: [] },
        evals: { status: 'passed' },
        base: { status: 'passed' },
        drift: { status: 'not_available' },
      });
      expect(cr['timeline']).toEqual([
        expect.objectContaining({ kind: 'opened', actor: 'key:editor', comment: 'ship v2' }),
      ]);
      const listed = await call('GET', '/api/v1/reviews?status=open', undefined, registry.keys.viewer);
      expect((listed.body['changeRequests'] as Json[]).map((c) => c['id'])).toContain(cr['id']);
    });

    it("a change request's timeline is append-only in the database", async () => {
      const cr = (await open('greeter', 'v2')).body;
      const before = await registry.storage.rawSql(`SELECT count(*) AS n FROM review_events`);
      await expect(registry.storage.rawSql(`UPDATE review_events SET comment = 'rewritten'`)).rejects.toThrow(
        /review events are append-only/,
      );
      await expect(
        registry.storage.rawSql(`DELETE FROM review_events WHERE change_request_id = ${Number(cr['id'])}`),
      ).rejects.toThrow(/review events are append-only/);
      expect(await registry.storage.rawSql(`SELECT count(*) AS n FROM review_events`)).toEqual(before);
      expect((await call('POST', `/api/v1/reviews/${Number(cr['id'])}/close`, {})).status).toBe(200);
    });

    it('refuses server-owned fields in a change request body, naming them', async () => {
      for (const field of ['author', 'status', 'approvals']) {
        const response = await call(
          'POST',
          '/api/v1/reviews',
          { name: 'greeter', ref: 'v2', label: 'production', [field]: field === 'approvals' ? 5 : 'mallory' },
          registry.keys.editor,
        );
        expect(response.status, field).toBe(400);
        expect(response.body['error']['issues']).toEqual([
          { path: field, message: expect.stringContaining('set by the server') },
        ]);
      }
      const approveWithAuthor = await call('POST', '/api/v1/reviews/1/approve', { author: 'rita' }, RITA_KEY);
      expect(approveWithAuthor.status).toBe(400);
      expect(approveWithAuthor.body['error']['issues'][0]['path']).toBe('author');
    });

    it("refuses the author's own approval, counts one approval per person, and a new sha voids approvals", async () => {
      const cr = (await open('greeter', 'v2', registry.keys.reviewer)).body;
      const id = cr['id'] as number;
      const self = await approve(id, registry.keys.reviewer);
      expect(self.status).toBe(403);
      expect(self.body['error']['code']).toBe('self_approval');
      expect((await approve(id, registry.keys.editor)).status).toBe(403); // editors cannot approve at all

      const early = await call('POST', `/api/v1/reviews/${id}/merge`, {}, registry.keys.reviewer);
      expect(early.status).toBe(422);
      expect(early.body['error']['code']).toBe('checks_failed');

      const approved = await approve(id);
      expect(approved.status).toBe(200);
      expect(approved.body['checks']['approvals']).toMatchObject({
        status: 'passed',
        approvedBy: [{ actor: 'rita', comment: 'looks good', counted: true }],
      });
      expect(approved.body['mergeable']).toBe(true);
      expect((await approve(id)).body['error']['code']).toBe('already_approved');

      await push('greeter', 'Hi.\nAlways greet the user by name.\n');
      const updated = await call('POST', `/api/v1/reviews/${id}/update`, { ref: 'v3' }, registry.keys.reviewer);
      expect(updated.status).toBe(200);
      expect(updated.body).toMatchObject({ version: 3, mergeable: false });
      expect(updated.body['checks']['approvals']).toMatchObject({ status: 'pending', approvedBy: [] });
      expect((updated.body['timeline'] as Json[]).map((e) => e['kind'])).toEqual(['opened', 'approved', 'superseded']);
      // An approval of the old sha is refused as stale.
      const stale = await call('POST', `/api/v1/reviews/${id}/approve`, { sha: cr['sha'] }, RITA_KEY);
      expect(stale.status).toBe(409);
      expect(stale.body['error']['code']).toBe('stale_review');

      expect((await approve(id)).status).toBe(200);
      const merged = await call('POST', `/api/v1/reviews/${id}/merge`, { comment: 'go' }, registry.keys.reviewer);
      expect(merged.status).toBe(200);
      expect(merged.body).toMatchObject({ status: 'merged', mergeable: false });
      expect(merged.body['deploymentId']).toEqual(expect.any(Number));
      const production = await call('GET', '/api/v1/prompts/greeter/versions/production');
      expect(production.body['version']).toBe(3);
      const history = await call('GET', '/api/v1/prompts/greeter/deployments?label=production');
      expect(history.body['deployments'][0]).toMatchObject({
        kind: 'merge',
        actor: 'key:reviewer',
        toVersion: 3,
        changeRequest: id,
        reason: 'change request #' + id + ': ship v2',
      });
      const audit = await call('GET', '/api/v1/audit?order=desc&limit=5&prompt=greeter');
      expect((audit.body['entries'] as Json[]).map((e) => [e['action'], e['actor']])).toEqual(
        expect.arrayContaining([
          ['review.merged', 'key:reviewer'],
          ['label.moved', 'key:reviewer'],
        ]),
      );
      expect((await call('GET', '/api/v1/verify')).body['ok']).toBe(true);
    });

    it('lets exactly one of two racing merges on one label win; the other must be re-reviewed', async () => {
      await push('greeter', 'Hi there.\n');
      await push('greeter', 'Hey.\n');
      const a = (await open('greeter', 'v4')).body['id'] as number;
      const b = (await open('greeter', 'v5')).body['id'] as number;
      expect((await approve(a)).status).toBe(200);
      expect((await approve(b)).status).toBe(200);
      const results = await Promise.all([
        call('POST', `/api/v1/reviews/${a}/merge`, {}, registry.keys.editor),
        call('POST', `/api/v1/reviews/${b}/merge`, {}, registry.keys.editor),
      ]);
      const statuses = results.map((r) => r.status).sort();
      expect(statuses).toEqual([200, 409]);
      const loser = results.find((r) => r.status === 409)!;
      expect(loser.body['error']).toMatchObject({ code: 'label_moved', fix: expect.stringContaining('review update') });
      const loserId = results[0]!.status === 409 ? a : b;
      const view = (await call('GET', `/api/v1/reviews/${loserId}`)).body;
      expect(view['checks']['base']['status']).toBe('failed');
      const rebased = await call('POST', `/api/v1/reviews/${loserId}/update`, {}, registry.keys.editor);
      expect(rebased.status).toBe(200);
      expect(rebased.body['checks']).toMatchObject({ base: { status: 'passed' }, approvals: { status: 'pending' } });
      expect(
        (await call('POST', `/api/v1/reviews/${loserId}/close`, { comment: 'superseded' }, registry.keys.editor)).body[
          'status'
        ],
      ).toBe('closed');
    });

    it('never blocks a rollback, and records break glass everywhere', async () => {
      const rollback = await call(
        'POST',
        '/api/v1/prompts/greeter/labels/production/rollback',
        { reason: 'bad' },
        registry.keys.deployer,
      );
      expect(rollback.status).toBe(200);
      expect(rollback.body['deployment']['kind']).toBe('rollback');

      const pending = (await open('greeter', 'v5')).body['id'] as number;
      const cursor = (await call('GET', '/api/v1/changes')).body['cursor'] as number;
      const asDeployer = await call(
        'PUT',
        '/api/v1/prompts/greeter/labels/production',
        { ref: 'v5', force: true, reason: 'hotfix' },
        registry.keys.deployer,
      );
      expect(asDeployer.status).toBe(403);
      const noReason = await call('PUT', '/api/v1/prompts/greeter/labels/production', { ref: 'v5', force: true });
      expect(noReason.status).toBe(400);
      expect(noReason.body['error']['code']).toBe('reason_required');
      const forced = await call('PUT', '/api/v1/prompts/greeter/labels/production', {
        ref: 'v5',
        force: true,
        reason: 'outage: ship the fix now',
      });
      expect(forced.status).toBe(200);
      expect(forced.body['deployment']).toMatchObject({
        kind: 'break-glass',
        actor: 'key:admin',
        reason: 'outage: ship the fix now',
      });
      const audit = await call('GET', '/api/v1/audit?order=desc&limit=1');
      expect(audit.body['entries'][0]).toMatchObject({ action: 'label.forced', actor: 'key:admin' });
      // SDKs following the change feed see the forced move like any other.
      const feed = await call('GET', `/api/v1/changes?after=${cursor}`);
      expect(feed.body['events']).toEqual([
        expect.objectContaining({
          type: 'label',
          name: 'greeter',
          label: 'production',
          version: 5,
          kind: 'break-glass',
        }),
      ]);
      const view = (await call('GET', `/api/v1/reviews/${pending}`)).body;
      expect(view['timeline'].at(-1)).toMatchObject({
        kind: 'forced',
        actor: 'key:admin',
        comment: 'outage: ship the fix now',
      });
      expect(view['checks']['base']['status']).toBe('failed');
      const unprotected = await call('PUT', '/api/v1/prompts/greeter/labels/staging', {
        ref: 'v5',
        force: true,
        reason: 'x',
      });
      expect(unprotected.body['error']['code']).toBe('not_protected');
      expect((await call('GET', '/api/v1/verify')).body['ok']).toBe(true);
    });

    it('checks required eval suites through the eval gate (missing by default, or as the gate says)', async () => {
      await push('summary', 'Summarize.\n');
      expect(
        (await call('PUT', '/api/v1/prompts/summary/labels/production', { ref: 'v1' }, registry.keys.deployer)).status,
      ).toBe(403);
      const exact = await call('PUT', '/api/v1/policies/production', {
        pattern: 'summary',
        approvals: 0,
        suites: [{ suite: 'summary-basics', passRate: 0.9 }],
      });
      expect(exact.status).toBe(200);
      const id = (await open('summary', 'v1')).body['id'] as number;
      const view = (await call('GET', `/api/v1/reviews/${id}`)).body;
      expect(view['policy']['pattern']).toBe('summary'); // the exact name wins over '*'
      expect(view['checks']['evals']).toMatchObject({
        status: 'pending',
        verdict: { suites: [{ suite: 'summary-basics', status: 'missing', required: 0.9 }] },
      });
      expect((await call('POST', `/api/v1/reviews/${id}/merge`, {})).status).toBe(422);

      const passing = await buildApp({
        storage: registry.storage,
        evalGate: {
          check: async (input) => ({
            passed: true,
            prompt: input.prompt,
            sha: input.sha,
            against: { label: input.label, sha: input.labelSha },
            suites: input.suites.map(({ suite }) => ({
              suite,
              status: 'passed',
              runId: 'r1',
              suiteSha: null,
              passRate: 1,
              required: 0.9,
              failedCases: [],
              regressedCases: [],
              cases: { passed: 1, total: 1 },
              message: 'ok',
            })),
            skipped: [],
          }),
        },
      });
      const merged = await call('POST', `/api/v1/reviews/${id}/merge`, {}, registry.keys.editor, passing);
      expect(merged.status).toBe(200);
      expect(merged.body['checks']['evals']['status']).toBe('passed');
      await passing.close();
    });

    it('blames each line on the version that introduced it and the change request that shipped it', async () => {
      const blame = await call(
        'GET',
        '/api/v1/prompts/greeter/blame?label=production',
        undefined,
        registry.keys.viewer,
      );
      expect(blame.status).toBe(200);
      expect(blame.body).toMatchObject({ name: 'greeter', label: 'production', version: 5 });
      expect(blame.body['lines']).toEqual([
        // v5 shipped by the race's winning merge or by the break glass, whichever came first.
        expect.objectContaining({
          line: 1,
          text: 'Hey.',
          version: 5,
          author: 'key:editor',
          deployedBy: expect.objectContaining({ kind: expect.stringMatching(/^(merge|break-glass)$/) }),
        }),
      ]);
      const v3 = await call('GET', '/api/v1/prompts/greeter/blame?ref=v3&label=production');
      expect(v3.body['lines']).toEqual([
        expect.objectContaining({ text: 'Hi.', version: 3, changeRequest: expect.any(Number) }),
        // v2 dropped the line and v3 brought it back: it is v3's in its current form.
        expect.objectContaining({ text: 'Always greet the user by name.', version: 3 }),
      ]);
      const v1 = await call('GET', '/api/v1/prompts/greeter/blame?ref=v1&label=production');
      expect(v1.body['lines'][1]).toMatchObject({
        version: 1,
        changeRequest: null,
        deployedBy: { kind: 'promote', actor: 'key:deployer' },
      });
    });

    it("answers 404 for another project's change requests, and keeps policies per project", async () => {
      const other = await registry.storage.transaction((tx) =>
        tx.registry.createProject('other', new Date().toISOString()),
      );
      await addKey(registry.storage, other.id, 'admin', OTHER_KEY, 'olga');
      for (const [method, url] of [
        ['GET', '/api/v1/reviews/1'],
        ['POST', '/api/v1/reviews/1/approve'],
        ['POST', '/api/v1/reviews/1/merge'],
        ['POST', '/api/v1/reviews/1/close'],
      ] as const) {
        const response = await call(method, url, method === 'GET' ? undefined : {}, OTHER_KEY);
        expect(response.status, url).toBe(404);
        expect(response.body['error']['code']).toBe('change_request_not_found');
      }
      expect((await call('GET', '/api/v1/reviews', undefined, OTHER_KEY)).body['changeRequests']).toEqual([]);
      expect((await call('GET', '/api/v1/policies', undefined, OTHER_KEY)).body['policies']).toEqual([]);
    });

    it('lets owners (users or teams, by pattern) be the only approvers when the policy says so', async () => {
      expect((await call('PUT', '/api/v1/teams/support', { members: ['rita'] })).status).toBe(200);
      expect((await call('PUT', '/api/v1/owners', { pattern: 'support/**', owners: ['support'] })).status).toBe(200);
      expect(
        (await call('PUT', '/api/v1/policies/production', { pattern: 'support/**', codeOwners: true })).status,
      ).toBe(200);
      await push('support/faq', 'FAQ.\n');
      const id = (await open('support/faq', 'v1')).body['id'] as number;
      const outsider = await approve(id, registry.keys.reviewer);
      expect(outsider.status).toBe(403);
      expect(outsider.body['error']['code']).toBe('not_an_approver');
      const owner = await approve(id);
      expect(owner.body['checks']['approvals']).toMatchObject({
        status: 'passed',
        eligible: expect.stringContaining('rita'),
      });
    });
  });
}

describe('two app instances on one PostgreSQL', () => {
  let registry: TestRegistry;
  let second: { storage: Stores; app: FastifyInstance };

  beforeAll(async () => {
    registry = await openTestRegistry('postgres');
    await addMemberKey(registry.storage, registry.projectId, 'reviewer', RITA_KEY, 'rita');
    const storage = await createStorage(registry.dbUrl);
    second = { storage, app: await buildApp({ storage }) };
  });
  afterAll(async () => {
    await second.app.close();
    await second.storage.close();
    await registry.close();
  });

  it('exactly one of two merges racing through different instances wins, every round', async () => {
    const call = async (
      app: FastifyInstance,
      method: 'POST' | 'PUT',
      url: string,
      body: unknown,
      key = registry.keys.admin,
    ) => {
      const response = await app.inject({
        method,
        url,
        headers: { authorization: `Bearer ${key}` },
        payload: body as Json,
      });
      return { status: response.statusCode, body: response.json() as Json };
    };
    let parent: string | null = null;
    const push = async (template: string): Promise<void> => {
      const result = await call(registry.app, 'POST', '/api/v1/prompts/race/versions', {
        content: textContent('race', template),
        parent,
      });
      parent = result.body['sha'] as string;
    };
    await push('round 0');
    await call(registry.app, 'PUT', '/api/v1/prompts/race/labels/production', { ref: 'v1' });
    await call(registry.app, 'PUT', '/api/v1/policies/production', { approvals: 1 });
    for (let round = 1; round <= 5; round += 1) {
      await push(`round ${round} a`);
      await push(`round ${round} b`);
      const ids: number[] = [];
      for (const ref of ['latest', `v${round * 2}`]) {
        const opened = await call(
          registry.app,
          'POST',
          '/api/v1/reviews',
          { name: 'race', ref, label: 'production' },
          registry.keys.editor,
        );
        ids.push(opened.body['id'] as number);
        expect(
          (await call(registry.app, 'POST', `/api/v1/reviews/${opened.body['id']}/approve`, {}, RITA_KEY)).status,
        ).toBe(200);
      }
      const results = await Promise.all([
        call(registry.app, 'POST', `/api/v1/reviews/${ids[0]}/merge`, {}, registry.keys.editor),
        call(second.app, 'POST', `/api/v1/reviews/${ids[1]}/merge`, {}, registry.keys.editor),
      ]);
      expect(results.map((r) => r.status).sort(), `round ${round}`).toEqual([200, 409]);
      expect(results.find((r) => r.status === 409)?.body['error']['code']).toBe('label_moved');
    }
  });
});
