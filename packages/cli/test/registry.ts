import { join } from 'node:path';
import { startServer } from '@promptops/server';
import { testDatabase } from '../../server/test/support/databases.js';
import { tempDir } from './helpers.js';

/** A real server in-process: real HTTP on a free port, a fresh SQLite database, a known admin key. */

export const ADMIN_KEY = 'po_test_admin_key_0123456789abcdef0123456789abcdef';

export interface Registry {
  readonly url: string;
  /** PROMPTOPS_URL and PROMPTOPS_API_KEY for this server. */
  readonly env: Record<string, string>;
  close(): Promise<void>;
}

export const startRegistry = async (): Promise<Registry> => {
  const dir = await tempDir('promptops-registry-');
  const server = await startServer({
    host: '127.0.0.1',
    port: 0,
    db: await testDatabase('sqlite'),
    dataDir: join(dir, 'server-data'),
    initAdminKey: ADMIN_KEY,
    print: () => {},
  });
  return {
    url: server.url,
    env: { PROMPTOPS_URL: server.url, PROMPTOPS_API_KEY: ADMIN_KEY },
    close: () => server.close(),
  };
};
