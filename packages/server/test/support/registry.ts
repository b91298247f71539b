import { tmpdir } from 'node:os';
import type { FastifyInstance } from 'fastify';
import { bootstrap } from '../../src/auth/bootstrap.js';
import { insertAuditedKey } from '../../src/access/service.js';
import { systemClock, type Clock } from '../../src/context.js';
import { buildApp, type AppOptions } from '../../src/app/app.js';
import { createStorage, type RawSqlAccess } from '../../src/app/stores.js';
import { ROLES, type Role } from '../../src/access/store.js';
import type { Stores } from '../../src/app/stores.js';
import { testDatabaseWithCleanup, type TestDatabase } from './databases.js';

export { DIALECTS, type TestDatabase, type TestDialect } from './databases.js';

export const ADMIN_KEY = 'po_test_admin_key_000000000000000000';

/**
 * A fresh database from the one fixture (databases.ts), with a cleanup that removes it early; the fixture
 * removes it when the test file ends anyway.
 */
export const freshDbUrl = testDatabaseWithCleanup;

/**
 * A service key of the given role with a known secret, stored and audited the way the key API stores
 * keys (so verify finds it recorded), without the API's name checks (tests name keys on purpose).
 */
export const addKey = async (
  storage: Stores,
  projectId: number,
  role: Role,
  key: string,
  name: string = role,
): Promise<string> => {
  await storage.transaction(async (tx) => {
    await tx.access.lockProjectAccess(projectId);
    await insertAuditedKey(tx, key, {
      projectId,
      name,
      role,
      userId: null,
      user: null,
      createdBy: 'test',
      at: new Date().toISOString(),
    });
  });
  return key;
};

export interface TestRegistry {
  readonly dbUrl: string;
  readonly storage: Stores & RawSqlAccess;
  readonly app: FastifyInstance;
  readonly projectId: number;
  /** One key per role, acting as a user named after the role. */
  readonly keys: Readonly<Record<Role, string>>;
  close(): Promise<void>;
}

export const openTestRegistry = async (
  dialect: TestDatabase,
  options: { clock?: Clock; app?: Partial<Omit<AppOptions, 'storage' | 'clock'>> } = {},
): Promise<TestRegistry> => {
  const db = await freshDbUrl(dialect);
  const storage = await createStorage(db.url);
  const clock = options.clock ?? systemClock;
  const { project } = await bootstrap(storage, clock, {
    initAdminKey: ADMIN_KEY,
    dataDir: tmpdir(),
    url: 'http://test',
  });
  const keys = {} as Record<Role, string>;
  for (const role of ROLES) {
    keys[role] =
      role === 'admin' ? ADMIN_KEY : await addKey(storage, project.id, role, `po_test_${role}_key_0000000000000000`);
  }
  const app = await buildApp({ ...options.app, storage, clock });
  await app.ready();
  return {
    dbUrl: db.url,
    storage,
    app,
    projectId: project.id,
    keys,
    close: async () => {
      await app.close();
      await storage.close();
      db.cleanup();
    },
  };
};

/** Minimal valid content for pushes. */
export const textContent = (
  name: string,
  template: string,
  variables: Record<string, unknown> = {},
): Record<string, unknown> => ({
  name,
  type: 'text',
  template,
  config: { provider: 'openai', model: 'gpt-4o-mini', params: {} },
  variables,
  slots: {},
});
