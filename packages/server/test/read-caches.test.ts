import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../src/app/app.js';
import { createStorage } from '../src/app/stores.js';
import type { FastifyInstance } from 'fastify';
import type { Stores } from '../src/app/stores.js';
import { hashApiKey, keyIdOf } from '../src/auth/keys.js';
import { DIALECTS, addKey, openTestRegistry, textContent, type TestRegistry } from './support/registry.js';

/**
 * The read path caches verified keys and labels, valid only at the project's change stamp. Two apps on
 * one database stand for two replicas: a change made through one must be seen by the other's very next
 * request, whatever the other had cached.
 */
describe.each(DIALECTS)('read caches on %s', (dialect) => {
  let a: TestRegistry;
  let bStorage: Stores;
  let b: FastifyInstance;
  const get = async (app: FastifyInstance, url: string, key: string) => {
    const response = await app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${key}` } });
    return { status: response.statusCode, body: response.json() as Record<string, unknown> };
  };

  beforeAll(async () => {
    a = await openTestRegistry(dialect);
    bStorage = await createStorage(a.dbUrl);
    b = await buildApp({ storage: bStorage });
    let parent: string | null = null;
    for (const text of ['one', 'two']) {
      const pushed = await a.app.inject({
        method: 'POST',
        url: '/api/v1/prompts/cached/versions',
        headers: { authorization: `Bearer ${a.keys.admin}` },
        payload: { content: textContent('cached', text), parent },
      });
      parent = (pushed.json() as { sha: string }).sha;
    }
  });
  afterAll(async () => {
    await b.close();
    await bStorage.close();
    await a.close();
  });

  it("a label moved through one replica is served by the other's next request", async () => {
    await a.app.inject({
      method: 'PUT',
      url: '/api/v1/prompts/cached/labels/production',
      headers: { authorization: `Bearer ${a.keys.admin}` },
      payload: { ref: 'v1' },
    });
    for (let i = 0; i < 3; i += 1)
      expect((await get(b, '/api/v1/prompts/cached/versions/production', a.keys.viewer)).body['version']).toBe(1);
    await a.app.inject({
      method: 'PUT',
      url: '/api/v1/prompts/cached/labels/production',
      headers: { authorization: `Bearer ${a.keys.admin}` },
      payload: { ref: 'v2' },
    });
    expect((await get(b, '/api/v1/prompts/cached/versions/production', a.keys.viewer)).body['version']).toBe(2);
    await a.app.inject({
      method: 'POST',
      url: '/api/v1/prompts/cached/labels/production/rollback',
      headers: { authorization: `Bearer ${a.keys.admin}` },
      payload: {},
    });
    expect((await get(b, '/api/v1/prompts/cached/versions/production', a.keys.viewer)).body['version']).toBe(1);
  });

  it('a revoked key stops working on the next request of every replica', async () => {
    const key = await addKey(a.storage, a.projectId, 'viewer', `po_test_revoked_${dialect}_0000000000`, 'soon-revoked');
    expect((await get(b, '/api/v1/prompts', key)).status).toBe(200);
    expect((await get(b, '/api/v1/prompts', key)).status).toBe(200); // now served from the key cache
    // Revocation, as every key change, is audited in the same transaction: that moves the stamp.
    await a.storage.transaction(async (tx) => {
      const at = new Date().toISOString();
      await tx.access.revokeApiKey(a.projectId, keyIdOf(hashApiKey(key)), at);
      await tx.registry.appendAudit({
        projectId: a.projectId,
        at,
        actor: 'admin',
        action: 'key.revoked',
        target: 'soon-revoked',
        data: {},
      });
    });
    const after = await get(b, '/api/v1/prompts', key);
    expect(after.status).toBe(401);
    expect(JSON.stringify(after.body)).not.toContain('cached');
  });

  if (dialect === 'sqlite') {
    it('the hot-path stamp read sees only committed entries, never an open transaction', async () => {
      const readSoon = a.storage.registry.latestAuditSeqSoon;
      expect(readSoon).toBeDefined();
      const readNow = (projectId: number): Promise<number> =>
        new Promise((resolve, reject) =>
          readSoon!(projectId, (error, stamp) => (error === null ? resolve(stamp) : reject(error))),
        );
      const before = await readNow(a.projectId);
      expect(before).toBe(await a.storage.registry.latestAuditSeq(a.projectId));
      let release!: () => void;
      const held = new Promise<void>((resolve) => (release = resolve));
      let appended!: () => void;
      const inside = new Promise<void>((resolve) => (appended = resolve));
      const failing = a.storage
        .transaction(async (tx) => {
          await tx.registry.appendAudit({
            projectId: a.projectId,
            at: new Date().toISOString(),
            actor: 'admin',
            action: 'probe',
            target: 'probe',
            data: {},
          });
          appended();
          await held;
          throw new Error('rolled back on purpose');
        })
        .catch((error: Error) => error.message);
      await inside;
      // The entry exists inside the open transaction, but a request arriving now must not see it.
      expect(await readNow(a.projectId)).toBe(before);
      release();
      expect(await failing).toBe('rolled back on purpose');
      expect(await readNow(a.projectId)).toBe(before);
    });
  }
});
