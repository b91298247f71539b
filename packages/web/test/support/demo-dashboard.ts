import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startServer, type RunningServer } from '@promptops/server';
import { chromium, type Browser, type Page } from 'playwright-core';
import { hashApiKey, keyIdOf } from '../../../server/src/auth/keys.js';

const CHROMIUM = process.env['PROMPTOPS_CHROMIUM'] ?? '/usr/bin/chromium';
const webDist = fileURLToPath(new URL('../../dist', import.meta.url));

/** A real `promptops serve --demo` serving the built dashboard, an extra viewer key, and Debian's Chromium. */
export interface DemoDashboard {
  readonly server: RunningServer;
  readonly browser: Browser;
  /** Errors thrown in any page opened by signIn: a test ends by expecting none. */
  readonly pageErrors: string[];
  /** A new 1280x800 page signed in with `key`, on the dashboard's start page. */
  signIn(key: string): Promise<Page>;
  close(): Promise<void>;
}

export const startDemoDashboard = async (
  name: string,
  keys: { readonly admin: string; readonly viewer: string },
): Promise<DemoDashboard> => {
  if (!existsSync(CHROMIUM)) throw new Error(`Chromium is missing at ${CHROMIUM} (apt-get install -y chromium)`);
  if (!existsSync(join(webDist, 'index.html')))
    throw new Error('build the dashboard first: npm run build -w @promptops/web');
  const dataDir = mkdtempSync(join(tmpdir(), `promptops-web-${name}-`));
  const server = await startServer({
    demo: true,
    port: 0,
    dataDir,
    initAdminKey: keys.admin,
    webRoot: webDist,
    print: () => undefined,
  });
  const hash = hashApiKey(keys.viewer);
  const project = await server.storage.registry.getProjectByName('default');
  await server.storage.transaction((tx) =>
    tx.access.insertApiKey({
      projectId: project!.id,
      keyId: keyIdOf(hash),
      hash,
      role: 'viewer',
      name: 'viewer',
      userId: null,
      createdBy: 'e2e',
      createdAt: new Date().toISOString(),
    }),
  );
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'],
  });
  const pageErrors: string[] = [];
  return {
    server,
    browser,
    pageErrors,
    async signIn(key) {
      const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
      const page = await context.newPage();
      page.setDefaultTimeout(15_000);
      page.on('pageerror', (error) => pageErrors.push(`${page.url()}: ${error.message}`));
      await page.goto(`${server.url}/`);
      await page.getByLabel('API key').fill(key);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.getByTestId('identity').waitFor();
      return page;
    },
    async close() {
      await browser.close();
      await server.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
};
