import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call } from './support/http.js';
import { DIALECTS, openTestRegistry, textContent, type TestRegistry } from './support/registry.js';

/**
 * No mass assignment: a body field that the operation does not take (who the author is, which project,
 * which role) is a 400 naming the field, and nothing is written.
 */

interface ErrorBody {
  error: { code: string; issues: { path: string; message: string }[] };
}

for (const dialect of DIALECTS)
  describe(`no mass assignment on ${dialect}`, () => {
    let r: TestRegistry;
    let head: string;

    beforeAll(async () => {
      r = await openTestRegistry(dialect);
      const pushed = await call<{ sha: string }>(r.app, 'POST', '/api/v1/prompts/mass/versions', r.keys.admin, {
        content: textContent('mass', 'one'),
        parent: null,
      });
      head = pushed.body.sha;
      await call(r.app, 'POST', '/api/v1/members', r.keys.admin, { name: 'meg', role: 'viewer' });
    });
    afterAll(async () => {
      await r.close();
    });

    const refused = async (
      method: 'POST' | 'PUT' | 'PATCH',
      url: string,
      key: string,
      body: Record<string, unknown>,
      field: string,
    ): Promise<void> => {
      const reply = await call<ErrorBody>(r.app, method, url, key, body);
      expect(reply.status, `${method} ${url} with ${field}: ${reply.text}`).toBe(400);
      expect(reply.body.error.code).toBe('invalid_request');
      expect(reply.body.error.issues).toContainEqual({ path: `body.${field}`, message: `unknown field "${field}"` });
    };

    it('push: author, role, project and createdBy are refused, and no version is written', async () => {
      for (const [field, value] of [
        ['author', 'mallory'],
        ['role', 'admin'],
        ['project', 'other'],
        ['projectId', 2],
        ['createdBy', 'mallory'],
        ['version', 99],
      ] as const) {
        await refused(
          'POST',
          '/api/v1/prompts/mass/versions',
          r.keys.editor,
          { content: textContent('mass', `with ${field}`), parent: head, [field]: value },
          field,
        );
      }
      // Content is strict too: an author inside it is not prompt content.
      const inContent = await call<ErrorBody>(r.app, 'POST', '/api/v1/prompts/mass/versions', r.keys.editor, {
        content: { ...textContent('mass', 'x'), author: 'mallory' },
        parent: head,
      });
      expect(inContent.status).toBe(400);
      expect(inContent.text).toContain('author');
      const log = await call<{ versions: { author: string }[] }>(
        r.app,
        'GET',
        '/api/v1/prompts/mass/versions',
        r.keys.viewer,
      );
      expect(log.body.versions.map((v) => v.author)).toEqual(['key:admin']);
    });

    it('promote and rollback: actor, project, role and kind are refused, and the label does not move', async () => {
      for (const [field, value] of [
        ['actor', 'mallory'],
        ['project', 'other'],
        ['role', 'admin'],
        ['kind', 'break-glass'],
      ] as const) {
        await refused(
          'PUT',
          '/api/v1/prompts/mass/labels/production',
          r.keys.deployer,
          { ref: 'v1', [field]: value },
          field,
        );
        await refused(
          'POST',
          '/api/v1/prompts/mass/labels/production/rollback',
          r.keys.deployer,
          { [field]: value },
          field,
        );
      }
      expect((await call(r.app, 'GET', '/api/v1/prompts/mass/labels', r.keys.viewer)).text).not.toContain('production');
    });

    it('key creation: project, projectId, createdBy, keyId, hash and secret are refused, and no key is made', async () => {
      const before = (await call<{ keys: unknown[] }>(r.app, 'GET', '/api/v1/keys', r.keys.admin)).body.keys.length;
      for (const [field, value] of [
        ['project', 'other'],
        ['projectId', 2],
        ['createdBy', 'mallory'],
        ['keyId', '0123456789abcdef'],
        ['hash', 'a'.repeat(64)],
        ['secret', 'po_chosen_by_the_caller_0000000000'],
      ] as const) {
        await refused('POST', '/api/v1/keys', r.keys.admin, { name: 'ci', role: 'viewer', [field]: value }, field);
      }
      await refused('POST', '/api/v1/keys/0123456789abcdef/rotate', r.keys.admin, { role: 'admin' }, 'role');
      await refused('POST', '/api/v1/keys/0123456789abcdef/revoke', r.keys.admin, { project: 'other' }, 'project');
      expect((await call<{ keys: unknown[] }>(r.app, 'GET', '/api/v1/keys', r.keys.admin)).body.keys).toHaveLength(
        before,
      );
    });

    it('members: project, createdBy and name (on change) are refused, and nothing changes', async () => {
      for (const [field, value] of [
        ['project', 'other'],
        ['projectId', 2],
        ['createdBy', 'mallory'],
        ['userId', 1],
      ] as const) {
        await refused('POST', '/api/v1/members', r.keys.admin, { name: 'nina', role: 'viewer', [field]: value }, field);
      }
      await refused('PATCH', '/api/v1/members/meg', r.keys.admin, { role: 'editor', name: 'root' }, 'name');
      await refused('PATCH', '/api/v1/members/meg', r.keys.admin, { role: 'editor', project: 'other' }, 'project');
      await refused('POST', '/api/v1/projects', r.keys.admin, { name: 'p2', owner: 'mallory' }, 'owner');
      const members = await call<{ members: { name: string; role: string }[] }>(
        r.app,
        'GET',
        '/api/v1/members',
        r.keys.viewer,
      );
      expect(members.body.members).toEqual([expect.objectContaining({ name: 'meg', role: 'viewer' })]);
    });
  });
