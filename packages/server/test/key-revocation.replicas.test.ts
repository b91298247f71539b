import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../src/app/app.js';
import { createStorage, type Stores } from '../src/app/stores.js';
import { call } from './support/http.js';
import { DIALECTS, openTestRegistry, type TestRegistry } from './support/registry.js';

/**
 * Two app instances on one database stand for two replicas. A key revoked, rotated or suspended through
 * one is refused by the other's very next request, although the other had it cached: every key and
 * membership change appends to the project's audit log in its transaction, which moves the stamp the
 * key cache is checked against.
 */
for (const dialect of DIALECTS)
  describe(`key changes across two replicas on ${dialect}`, () => {
    let a: TestRegistry;
    let bStorage: Stores;
    let b: FastifyInstance;

    beforeAll(async () => {
      a = await openTestRegistry(dialect);
      bStorage = await createStorage(a.dbUrl);
      b = await buildApp({ storage: bStorage });
    });
    afterAll(async () => {
      await b.close();
      await bStorage.close();
      await a.close();
    });

    const newKey = async (body: Record<string, unknown>) => {
      const created = await call<{ key: { keyId: string }; secret: string }>(
        a.app,
        'POST',
        '/api/v1/keys',
        a.keys.admin,
        body,
      );
      expect(created.status).toBe(201);
      return created.body;
    };
    const warm = async (secret: string): Promise<void> => {
      // Twice: the second answer comes from replica B's key cache.
      expect((await call(b, 'GET', '/api/v1/prompts', secret)).status).toBe(200);
      expect((await call(b, 'GET', '/api/v1/prompts', secret)).status).toBe(200);
    };

    it('revoked through replica A, refused by replica B on its next request', async () => {
      const { key, secret } = await newKey({ name: 'replicated', role: 'viewer' });
      await warm(secret);
      expect((await call(a.app, 'POST', `/api/v1/keys/${key.keyId}/revoke`, a.keys.admin)).status).toBe(200);
      const after = await call(b, 'GET', '/api/v1/prompts', secret);
      expect(after.status).toBe(401);
      expect(after.body).toMatchObject({ error: { code: 'unauthorized' } });
    });

    it('rotated through replica A: B refuses the old secret and accepts the new one', async () => {
      const { key, secret } = await newKey({ name: 'rotating', role: 'viewer' });
      await warm(secret);
      const rotated = await call<{ secret: string }>(
        a.app,
        'POST',
        `/api/v1/keys/${key.keyId}/rotate`,
        a.keys.admin,
        {},
      );
      expect((await call(b, 'GET', '/api/v1/prompts', secret)).status).toBe(401);
      expect((await call(b, 'GET', '/api/v1/prompts', rotated.body.secret)).status).toBe(200);
    });

    it("a member's role lowered or removed through A caps or stops their key on B", async () => {
      await call(a.app, 'POST', '/api/v1/members', a.keys.admin, { name: 'rita', role: 'deployer' });
      const { secret } = await newKey({ name: 'rita', role: 'deployer', user: 'rita' });
      await warm(secret);
      expect((await call(b, 'GET', '/api/v1/me', secret)).body).toMatchObject({ role: 'deployer' });
      await call(a.app, 'PATCH', '/api/v1/members/rita', a.keys.admin, { role: 'viewer' });
      expect((await call(b, 'GET', '/api/v1/me', secret)).body).toMatchObject({ role: 'viewer' });
      await call(a.app, 'DELETE', '/api/v1/members/rita', a.keys.admin);
      expect((await call(b, 'GET', '/api/v1/me', secret)).status).toBe(401);
    });
  });
