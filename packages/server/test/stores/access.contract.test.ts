import { describe, expect, it } from 'vitest';
import { StorageConflictError } from '../../src/storage/index.js';
import { describeEachDatabase } from '../support/databases.js';
import { AT, shaOf, storesFixture } from './support.js';

/** The access store's contract (access/store.ts) on both databases. Every test gets a fresh, empty database. */

describeEachDatabase('access store contract: %s', (dialect) => {
  const { open, seed } = storesFixture(dialect);

  describe('API keys', () => {
    it('inserts, finds, lists, touches and revokes keys', async () => {
      const storage = await open();
      const { project } = await seed(storage);
      const key = {
        projectId: project.id,
        keyId: 'k1',
        hash: shaOf('po_k1_secret'),
        role: 'admin',
        name: 'bootstrap',
        userId: null,
        createdBy: 'system',
        createdAt: AT,
      } as const;
      await storage.transaction((tx) => tx.access.insertApiKey(key));
      const { userId: _service, ...stored } = key;
      const inserted = await storage.access.findApiKey('k1');
      expect(inserted).toEqual({ ...stored, id: expect.any(Number), lastUsedAt: null, revokedAt: null });
      await storage.transaction((tx) => tx.access.insertApiKey({ ...key, keyId: 'k2', role: 'viewer' }));

      expect(await storage.access.findApiKey('missing')).toBeUndefined();
      expect((await storage.access.listApiKeys(project.id)).map((row) => row.keyId)).toEqual(['k1', 'k2']);

      await storage.access.touchApiKey('k1', '2024-11-25T11:00:00.000Z');
      expect((await storage.access.findApiKey('k1'))?.lastUsedAt).toBe('2024-11-25T11:00:00.000Z');

      expect(await storage.transaction((tx) => tx.access.revokeApiKey(project.id, 'k1', AT))).toBe(true);
      expect(await storage.transaction((tx) => tx.access.revokeApiKey(project.id, 'k1', AT))).toBe(false);
      expect(await storage.transaction((tx) => tx.access.revokeApiKey(project.id + 1, 'k2', AT))).toBe(false);
      expect((await storage.access.findApiKey('k1'))?.revokedAt).toBe(AT);

      await expect(storage.transaction((tx) => tx.access.insertApiKey(key))).rejects.toBeInstanceOf(
        StorageConflictError,
      );
    });
  });
});
