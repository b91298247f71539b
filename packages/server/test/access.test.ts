import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Clock } from '../src/context.js';
import { call } from './support/http.js';
import { DIALECTS, openTestRegistry, textContent, type TestRegistry } from './support/registry.js';

/** Projects, users and API keys through the HTTP API, on both databases. */

interface KeyRecord {
  keyId: string;
  name: string;
  role: string;
  effectiveRole: string | null;
  user: string | null;
  createdBy: string;
  status: string;
  revokedAt: string | null;
}
interface Created {
  key: KeyRecord;
  secret: string;
}

for (const dialect of DIALECTS)
  describe(`projects, users and keys on ${dialect}`, () => {
    let r: TestRegistry;
    let offsetMs = 0;
    const clock: Clock = { now: () => new Date(Date.now() + offsetMs) };
    const admin = (): string => r.keys.admin;

    beforeAll(async () => {
      r = await openTestRegistry(dialect, { clock });
    });
    afterAll(async () => {
      await r.close();
    });

    const createKey = async (body: Record<string, unknown>): Promise<Created> => {
      const created = await call<Created>(r.app, 'POST', '/api/v1/keys', admin(), body);
      expect(created.status, created.text).toBe(201);
      return created.body;
    };

    it('adds members, lists them to viewers, changes and removes them, each change audited', async () => {
      const added = await call(r.app, 'POST', '/api/v1/members', admin(), {
        name: 'alice',
        role: 'editor',
        displayName: 'Alice Liddell',
      });
      expect(added.status, added.text).toBe(201);
      expect(added.body).toMatchObject({
        name: 'alice',
        role: 'editor',
        displayName: 'Alice Liddell',
        createdBy: 'key:admin',
      });
      const again = await call(r.app, 'POST', '/api/v1/members', admin(), { name: 'alice', role: 'viewer' });
      expect(again.status).toBe(409);
      expect((again.body as { error: { code: string } }).error.code).toBe('member_exists');

      const list = await call<{ members: { name: string; role: string }[] }>(
        r.app,
        'GET',
        '/api/v1/members',
        r.keys.viewer,
      );
      expect(list.status).toBe(200);
      expect(list.body.members.map((m) => [m.name, m.role])).toEqual([['alice', 'editor']]);
      expect(
        (await call(r.app, 'POST', '/api/v1/members', r.keys.deployer, { name: 'x', role: 'viewer' })).status,
      ).toBe(403);

      const changed = await call(r.app, 'PATCH', '/api/v1/members/alice', admin(), { role: 'reviewer' });
      expect(changed.body).toMatchObject({ name: 'alice', role: 'reviewer' });
      expect((await call(r.app, 'GET', '/api/v1/members/alice', r.keys.viewer)).body).toMatchObject({
        role: 'reviewer',
      });
      expect((await call(r.app, 'GET', '/api/v1/members/nobody', r.keys.viewer)).status).toBe(404);

      await call(r.app, 'POST', '/api/v1/members', admin(), { name: 'zed', role: 'viewer' });
      const removed = await call(r.app, 'DELETE', '/api/v1/members/zed', admin());
      expect(removed.status).toBe(200);
      expect((await call(r.app, 'GET', '/api/v1/members/zed', r.keys.viewer)).status).toBe(404);

      const audit = await call<{ entries: { action: string; target: string; actor: string }[] }>(
        r.app,
        'GET',
        '/api/v1/audit?order=desc&limit=10',
        r.keys.viewer,
      );
      const actions = audit.body.entries.map((e) => `${e.action} ${e.target}`);
      expect(actions).toEqual(
        expect.arrayContaining([
          'member.added #member/alice',
          'member.updated #member/alice',
          'member.added #member/zed',
          'member.removed #member/zed',
        ]),
      );
      // Access targets never read as a prompt's entries.
      const forPrompt = await call<{ entries: unknown[] }>(r.app, 'GET', '/api/v1/audit?prompt=alice', r.keys.viewer);
      expect(forPrompt.body.entries).toEqual([]);
    });

    it('creates a key shown once; lists keys without secrets; a key acting as a user attributes its actions', async () => {
      const { key, secret } = await createKey({ name: 'alice laptop', role: 'editor', user: 'alice' });
      expect(secret).toMatch(/^po_[A-Za-z0-9_-]{43}$/);
      expect(key).toMatchObject({
        name: 'alice laptop',
        role: 'editor',
        effectiveRole: 'editor',
        user: 'alice',
        status: 'active',
        createdBy: 'key:admin',
      });
      expect(key.keyId).toMatch(/^[0-9a-f]{16}$/);

      const list = await call(r.app, 'GET', '/api/v1/keys', admin());
      expect(list.status).toBe(200);
      expect(list.text).not.toContain(secret);
      expect(list.text).not.toContain('"hash"');
      expect((list.body as { keys: KeyRecord[] }).keys.map((k) => k.keyId)).toContain(key.keyId);
      expect((await call(r.app, 'GET', `/api/v1/keys/${key.keyId}`, admin())).body).toMatchObject({
        keyId: key.keyId,
        lastUsedAt: null,
      });
      expect((await call(r.app, 'GET', '/api/v1/keys', r.keys.deployer)).status).toBe(403);

      const me = await call(r.app, 'GET', '/api/v1/me', secret);
      expect(me.body).toMatchObject({
        role: 'editor',
        user: 'alice',
        name: 'alice',
        keyName: 'alice laptop',
        keyId: key.keyId,
      });
      const pushed = await call(r.app, 'POST', '/api/v1/prompts/attributed/versions', secret, {
        content: textContent('attributed', 'hello'),
        parent: null,
      });
      expect(pushed.status, pushed.text).toBe(201);
      expect(pushed.body).toMatchObject({ author: 'alice' });
      const audit = await call<{ entries: { actor: string; target: string }[] }>(
        r.app,
        'GET',
        '/api/v1/audit?actor=alice',
        admin(),
      );
      expect(audit.body.entries.map((e) => e.target)).toContain('attributed@v1');
      expect((await call(r.app, 'GET', `/api/v1/keys/${key.keyId}`, admin())).body).toMatchObject({
        lastUsedAt: expect.any(String),
      });
    });

    it("refuses a key whose role exceeds its user's membership, or for a user who is not a member", async () => {
      const above = await call(r.app, 'POST', '/api/v1/keys', admin(), {
        name: 'too-high',
        role: 'admin',
        user: 'alice',
      });
      expect(above.status).toBe(422);
      expect((above.body as { error: { code: string; message: string } }).error).toMatchObject({
        code: 'role_above_membership',
      });
      const stranger = await call(r.app, 'POST', '/api/v1/keys', admin(), {
        name: 'ghost',
        role: 'viewer',
        user: 'ghost',
      });
      expect(stranger.status).toBe(404);
      const keys = (await call<{ keys: KeyRecord[] }>(r.app, 'GET', '/api/v1/keys', admin())).body.keys;
      expect(keys.map((k) => k.name)).not.toContain('too-high');
    });

    it("caps a user's keys when the membership is lowered, and stops them when it is removed", async () => {
      await call(r.app, 'POST', '/api/v1/members', admin(), { name: 'bob', role: 'deployer' });
      const { key, secret } = await createKey({ name: 'bob ci', role: 'deployer', user: 'bob' });
      expect((await call(r.app, 'GET', '/api/v1/me', secret)).body).toMatchObject({ role: 'deployer' });
      await call(r.app, 'PATCH', '/api/v1/members/bob', admin(), { role: 'viewer' });
      expect((await call(r.app, 'GET', '/api/v1/me', secret)).body).toMatchObject({ role: 'viewer' });
      const push = await call(r.app, 'POST', '/api/v1/prompts/capped/versions', secret, {
        content: textContent('capped', 'x'),
        parent: null,
      });
      expect(push.status).toBe(403);
      expect((await call(r.app, 'GET', `/api/v1/keys/${key.keyId}`, admin())).body).toMatchObject({
        role: 'deployer',
        effectiveRole: 'viewer',
      });
      await call(r.app, 'DELETE', '/api/v1/members/bob', admin());
      expect((await call(r.app, 'GET', '/api/v1/me', secret)).status).toBe(401);
      expect((await call(r.app, 'GET', `/api/v1/keys/${key.keyId}`, admin())).body).toMatchObject({
        status: 'suspended',
      });
      await call(r.app, 'POST', '/api/v1/members', admin(), { name: 'bob', role: 'editor' });
      expect((await call(r.app, 'GET', '/api/v1/me', secret)).body).toMatchObject({ role: 'editor', user: 'bob' });
    });

    it('rotates a key: same name, role and user, new secret, the old one stops at once or after its grace', async () => {
      const { key, secret } = await createKey({ name: 'svc', role: 'viewer' });
      const rotated = await call<Created & { previous: KeyRecord }>(
        r.app,
        'POST',
        `/api/v1/keys/${key.keyId}/rotate`,
        admin(),
        {},
      );
      expect(rotated.status, rotated.text).toBe(200);
      expect(rotated.body.key).toMatchObject({ name: 'svc', role: 'viewer', user: null, status: 'active' });
      expect(rotated.body.key.keyId).not.toBe(key.keyId);
      expect(rotated.body.previous).toMatchObject({ keyId: key.keyId, status: 'revoked' });
      expect((await call(r.app, 'GET', '/api/v1/me', secret)).status).toBe(401);
      expect((await call(r.app, 'GET', '/api/v1/me', rotated.body.secret)).status).toBe(200);

      const graced = await call<Created & { previous: KeyRecord }>(
        r.app,
        'POST',
        `/api/v1/keys/${rotated.body.key.keyId}/rotate`,
        admin(),
        { graceSeconds: 60 },
      );
      expect(graced.body.previous).toMatchObject({ status: 'expiring' });
      expect((await call(r.app, 'GET', '/api/v1/me', rotated.body.secret)).status).toBe(200);
      expect((await call(r.app, 'GET', '/api/v1/me', graced.body.secret)).status).toBe(200);
      // Rotating a key in its grace again is refused: rotate the new one.
      expect((await call(r.app, 'POST', `/api/v1/keys/${rotated.body.key.keyId}/rotate`, admin(), {})).status).toBe(
        422,
      );
      offsetMs = 61_000;
      try {
        expect((await call(r.app, 'GET', '/api/v1/me', rotated.body.secret)).status).toBe(401);
        expect((await call(r.app, 'GET', '/api/v1/me', graced.body.secret)).status).toBe(200);
      } finally {
        offsetMs = 0;
      }
    });

    it('revokes a key at once, never the last working admin key', async () => {
      const { key, secret } = await createKey({ name: 'temp', role: 'editor' });
      const revoked = await call(r.app, 'POST', `/api/v1/keys/${key.keyId}/revoke`, admin());
      expect(revoked.status, revoked.text).toBe(200);
      expect(revoked.body).toMatchObject({ changed: true, key: { status: 'revoked' } });
      expect((await call(r.app, 'GET', '/api/v1/me', secret)).status).toBe(401);
      expect((await call(r.app, 'POST', `/api/v1/keys/${key.keyId}/revoke`, admin())).body).toMatchObject({
        changed: false,
      });
      expect((await call(r.app, 'POST', '/api/v1/keys/ffffffffffffffff/revoke', admin())).status).toBe(404);

      const me = (await call<{ keyId: string }>(r.app, 'GET', '/api/v1/me', admin())).body;
      const last = await call(r.app, 'POST', `/api/v1/keys/${me.keyId}/revoke`, admin());
      expect(last.status).toBe(409);
      expect((last.body as { error: { code: string } }).error.code).toBe('last_admin_key');
      expect((await call(r.app, 'GET', '/api/v1/me', admin())).status).toBe(200);

      // An admin member's key: demoting or removing the member would leave no admin key once the bootstrap key is gone.
      await call(r.app, 'POST', '/api/v1/members', admin(), { name: 'dana', role: 'admin' });
      const dana = await createKey({ name: 'dana', role: 'admin', user: 'dana' });
      expect((await call(r.app, 'POST', `/api/v1/keys/${me.keyId}/revoke`, dana.secret)).status).toBe(200);
      expect((await call(r.app, 'GET', '/api/v1/me', admin())).status).toBe(401);
      for (const [method, body] of [
        ['PATCH', { role: 'deployer' }],
        ['DELETE', undefined],
      ] as const) {
        const refused = await call(r.app, method, '/api/v1/members/dana', dana.secret, body);
        expect(refused.status).toBe(409);
        expect((refused.body as { error: { code: string } }).error.code).toBe('last_admin_key');
      }
      // Rotating the last admin key keeps the project administrable: allowed.
      const rotated = await call<Created>(r.app, 'POST', `/api/v1/keys/${dana.key.keyId}/rotate`, dana.secret, {});
      expect(rotated.status).toBe(200);
      expect((await call(r.app, 'GET', '/api/v1/me', rotated.body.secret)).body).toMatchObject({
        role: 'admin',
        user: 'dana',
      });
      r = { ...r, keys: { ...r.keys, admin: rotated.body.secret } };
    });

    it('lets an admin of the default project create projects; each starts empty with its own admin key', async () => {
      const created = await call<Created & { project: { id: number; name: string } }>(
        r.app,
        'POST',
        '/api/v1/projects',
        admin(),
        {
          name: `team-${dialect}`,
        },
      );
      expect(created.status, created.text).toBe(201);
      expect(created.body.project.name).toBe(`team-${dialect}`);
      expect(created.body.key).toMatchObject({ role: 'admin', name: 'admin', status: 'active' });
      const other = created.body.secret;
      expect((await call(r.app, 'GET', '/api/v1/me', other)).body).toMatchObject({
        project: { name: `team-${dialect}` },
        role: 'admin',
      });
      expect((await call<{ prompts: unknown[] }>(r.app, 'GET', '/api/v1/prompts', other)).body.prompts).toEqual([]);
      expect((await call<{ members: unknown[] }>(r.app, 'GET', '/api/v1/members', other)).body.members).toEqual([]);
      expect((await call<{ keys: unknown[] }>(r.app, 'GET', '/api/v1/keys', other)).body.keys).toHaveLength(1);

      const refused = await call(r.app, 'POST', '/api/v1/projects', other, { name: 'sneaky' });
      expect(refused.status).toBe(403);
      expect((refused.body as { error: { code: string } }).error.code).toBe('not_server_admin');
      expect((await call(r.app, 'GET', '/api/v1/projects', other)).status).toBe(403);
      expect((await call(r.app, 'POST', '/api/v1/projects', admin(), { name: `team-${dialect}` })).status).toBe(409);
      expect((await call(r.app, 'POST', '/api/v1/projects', admin(), { name: 'Bad Name' })).status).toBe(400);
      const list = await call<{ projects: { name: string }[] }>(r.app, 'GET', '/api/v1/projects', admin());
      expect(list.body.projects.map((p) => p.name)).toEqual(['default', `team-${dialect}`]);
    });
  });
