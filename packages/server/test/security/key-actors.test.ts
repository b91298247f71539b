import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call as inject } from '../support/http.js';
import { addKey, DIALECTS, openTestRegistry, textContent, type TestRegistry } from '../support/registry.js';

/**
 * A service key is never a person: it acts as `key:NAME`, in a namespace no member name can enter, so a
 * key named like a member cannot approve, author or be audited as that member. Keys cannot be created
 * with a name that would read as a member's (or with a `:`). A key created for a user acts as the user.
 */

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const IMPOSTOR_KEY = 'po_test_impostor_usera_key_0000000000';

for (const dialect of DIALECTS) {
  describe(`key actors and user actors on ${dialect}`, () => {
    let r: TestRegistry;
    let useraKey = '';

    const call = (
      method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE',
      url: string,
      body?: unknown,
      key = r.keys.admin,
    ) => inject<Json>(r.app, method, url, key, body);
    const open = async (ref: string, key: string): Promise<number> => {
      const opened = await call('POST', '/api/v1/reviews', { name: 'greeter', ref, label: 'production' }, key);
      expect(opened.status, opened.text).toBe(201);
      return opened.body['id'] as number;
    };

    beforeAll(async () => {
      r = await openTestRegistry(dialect);
      expect((await call('POST', '/api/v1/members', { name: 'usera', role: 'reviewer' })).status).toBe(201);
      const created = await call('POST', '/api/v1/keys', { name: 'usera laptop', role: 'reviewer', user: 'usera' });
      expect(created.status, created.text).toBe(201);
      useraKey = created.body['secret'] as string;
      // A key that already bears a member's name (made before the member joined, or before names were checked).
      await addKey(r.storage, r.projectId, 'reviewer', IMPOSTOR_KEY, 'usera');
      let parent: string | null = null;
      for (const template of ['Hello.', 'Hello there.', 'Hi.']) {
        const pushed = await call(
          'POST',
          '/api/v1/prompts/greeter/versions',
          { content: textContent('greeter', template), parent, message: template },
          r.keys.editor,
        );
        expect(pushed.status, pushed.text).toBe(201);
        parent = pushed.body['sha'] as string;
      }
      const policy = await call('PUT', '/api/v1/policies/production', {
        pattern: 'greeter',
        approvals: 1,
        owners: ['usera'],
      });
      expect(policy.status, policy.text).toBe(200);
    });
    afterAll(async () => {
      await r.close();
    });

    it('names a service key key:NAME and a user key by its user', async () => {
      expect((await call('GET', '/api/v1/me', undefined, IMPOSTOR_KEY)).body).toMatchObject({
        name: 'key:usera',
        user: null,
        keyName: 'usera',
      });
      expect((await call('GET', '/api/v1/me', undefined, useraKey)).body).toMatchObject({
        name: 'usera',
        user: 'usera',
        keyName: 'usera laptop',
      });
      const version = await call('GET', '/api/v1/prompts/greeter/versions/v1');
      expect(version.body['author']).toBe('key:editor');
    });

    it("refuses a key named like a member's approval, and counts only the member's", async () => {
      const id = await open('v1', r.keys.editor);
      const impostor = await call('POST', `/api/v1/reviews/${id}/approve`, { comment: 'lgtm' }, IMPOSTOR_KEY);
      expect(impostor.status, impostor.text).toBe(403);
      expect(impostor.body['error']['code']).toBe('not_an_approver');
      expect(impostor.body['error']['message']).toContain('key:usera');
      const member = await call('POST', `/api/v1/reviews/${id}/approve`, { comment: 'lgtm' }, useraKey);
      expect(member.status, member.text).toBe(200);
      expect(member.body['checks']['approvals']).toMatchObject({
        status: 'passed',
        approvedBy: [{ actor: 'usera', counted: true }],
      });
      expect((await call('POST', `/api/v1/reviews/${id}/close`, {}, useraKey)).status).toBe(200);
    });

    it("never lets a key act as the author of a member's change request, nor the member as the key's", async () => {
      const members = await open('v2', useraKey);
      expect((await call('GET', `/api/v1/reviews/${members}`)).body['author']).toBe('usera');
      const update = await call('POST', `/api/v1/reviews/${members}/update`, { ref: 'v3' }, IMPOSTOR_KEY);
      expect(update.status, update.text).toBe(403);
      expect(update.body['error']['code']).toBe('not_author');
      expect((await call('POST', `/api/v1/reviews/${members}/close`, {}, useraKey)).status).toBe(200);

      const keys = await open('v2', IMPOSTOR_KEY);
      const view = await call('GET', `/api/v1/reviews/${keys}`);
      expect(view.body['author']).toBe('key:usera');
      expect(view.body['checks']['approvals']['eligible']).toContain('not the author (key:usera, key:editor)');
      // The member did not write it: their approval is not a self-approval.
      const approved = await call('POST', `/api/v1/reviews/${keys}/approve`, {}, useraKey);
      expect(approved.status, approved.text).toBe(200);
      expect(approved.body['checks']['approvals']['status']).toBe('passed');
    });

    it("audits a key's actions as the key, never as the member", async () => {
      const audit = await call('GET', '/api/v1/audit?order=desc&limit=100');
      const entries = audit.body['entries'] as Json[];
      const opened = entries.filter((e) => e['action'] === 'review.opened').map((e) => e['actor']);
      expect(opened).toEqual(expect.arrayContaining(['key:usera', 'usera', 'key:editor']));
      const asMember = await call('GET', '/api/v1/audit?order=desc&limit=100&actor=usera');
      const actions = (asMember.body['entries'] as Json[]).map((e) => e['action']);
      // usera opened one request, approved two and closed two; the key's open is not among them.
      expect(actions.filter((a) => a === 'review.opened')).toHaveLength(1);
      expect(actions.filter((a) => a === 'review.approved')).toHaveLength(2);
    });

    it('refuses to create a key whose name reads as a member or contains ":"', async () => {
      for (const name of ['usera', 'UserA', 'key:usera', 'ops:bot']) {
        const refused = await call('POST', '/api/v1/keys', { name, role: 'reviewer' });
        expect(refused.status, `${name}: ${refused.text}`).toBe(400);
        // The route's schema refuses ':' (path body.name), the service a member's name (path name).
        expect(refused.body['error']['issues']).toEqual([
          { path: expect.stringMatching(/^(body\.)?name$/), message: expect.any(String) },
        ]);
        expect(refused.body['error']['fix']).toEqual(expect.any(String));
      }
      const member = await call('POST', '/api/v1/keys', { name: 'usera', role: 'admin' });
      expect(member.body['error']['message']).toContain('usera');
      expect((await call('POST', '/api/v1/keys', { name: 'ci bot', role: 'editor' })).status).toBe(201);
    });
  });
}
