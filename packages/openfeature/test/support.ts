import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer } from '../../server/src/index.js';
import { startFakeUpstream, type FakeUpstream } from '../../server/test/support/fake-upstream.js';
import { testDatabase } from '../../server/test/support/databases.js';
import { ADMIN_KEY, type TestServer } from '../../sdk/test/support/server.js';

export { ADMIN_KEY, api, waitFor } from '../../sdk/test/support/server.js';
export { greeter, versionOf } from '../../sdk/test/support/fixtures.js';

export interface UnitVector {
  readonly name: string;
  readonly salt: string;
  readonly unitKey: string | null;
  readonly arms: readonly { readonly ramp: number; readonly arm: 'baseline' | 'candidate' }[];
}

/** The published assignment vectors (conformance/assignment.json). */
export const UNIT_VECTORS = (
  JSON.parse(readFileSync(new URL('../../../conformance/assignment.json', import.meta.url), 'utf8')) as {
    units: UnitVector[];
  }
).units;

/** A real promptops server on SQLite whose gateway answers `openai` prompts from a local stand-in. */
export const startServerWithGateway = async (): Promise<TestServer & { readonly upstream: FakeUpstream }> => {
  const upstream = await startFakeUpstream();
  const dir = mkdtempSync(join(tmpdir(), 'promptops-openfeature-'));
  const gatewayConfig = join(dir, 'gateway.json');
  writeFileSync(gatewayConfig, JSON.stringify({ providers: { openai: { baseURL: `${upstream.url}/v1` } } }));
  const dbUrl = await testDatabase('sqlite');
  const server = await startServer({
    port: 0,
    db: dbUrl,
    dataDir: dir,
    initAdminKey: ADMIN_KEY,
    gatewayConfig,
    print: () => undefined,
  });
  return {
    url: server.url,
    dbUrl,
    server,
    upstream,
    close: async () => {
      const closing = server.close();
      server.app.server.closeAllConnections();
      await closing;
      await upstream.close();
    },
  };
};
