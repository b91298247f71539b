import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PERMISSIONS, type Permission } from '../src/auth/permissions.js';
import { permissionPhrase } from '../src/auth/permission-phrase.js';
import { DIALECTS, openTestRegistry, type TestRegistry } from './support/registry.js';

/** Error messages read as sentences: a refused permission names the action verb first. */

describe('permissionPhrase', () => {
  it('says each permission as an action, verb first', () => {
    expect(permissionPhrase('labels:write')).toBe('write labels');
    expect(permissionPhrase('audit:verify')).toBe('verify the audit log');
    for (const permission of Object.keys(PERMISSIONS) as Permission[]) {
      const [object, verb] = permission.split(':') as [string, string];
      const phrase = permissionPhrase(permission);
      expect(phrase.startsWith(`${verb} `), `${permission}: ${phrase}`).toBe(true);
      expect(phrase, permission).not.toContain(':');
      expect(phrase.length, permission).toBeGreaterThan(`${verb} ${object}`.length - 4);
    }
  });
});

for (const dialect of DIALECTS)
  describe(`refusal messages on ${dialect}`, () => {
    let registry: TestRegistry;
    beforeAll(async () => {
      registry = await openTestRegistry(dialect);
    });
    afterAll(async () => {
      await registry.close();
    });

    it("says what the key's role may not do, as a sentence", async () => {
      const response = await registry.app.inject({
        method: 'PUT',
        url: '/api/v1/prompts/greeter/labels/production',
        headers: { authorization: `Bearer ${registry.keys.editor}` },
        payload: { ref: 'v1' },
      });
      expect(response.statusCode).toBe(403);
      expect(response.json()).toMatchObject({
        error: { code: 'forbidden', message: "the key's role 'editor' may not write labels" },
      });
    });
  });
