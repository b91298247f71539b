import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startServer, type RunningServer } from '@promptops/server';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashApiKey, keyIdOf } from '../../server/src/auth/keys.js';

/**
 * The greeter's Tenants tab in Debian's Chromium against a real `promptops serve --demo` serving the built
 * dashboard (`npm run build -w @promptops/web` first): a viewer sees acme and globex with the effective
 * shas the API reports, their calls as metrics by tenant counts them, and each tenant's diff to the base.
 */

const CHROMIUM = process.env['PROMPTOPS_CHROMIUM'] ?? '/usr/bin/chromium';
const ADMIN_KEY = 'po_e2e_tenants_admin_key_000000000000';
const VIEWER_KEY = 'po_e2e_tenants_viewer_key_00000000000';
const GREETER = 'customer_support_greeter';
const webDist = fileURLToPath(new URL('../dist', import.meta.url));

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

let server: RunningServer;
let browser: Browser;
let dataDir: string;
const pageErrors: string[] = [];

const api = async (path: string): Promise<Json> => {
  const response = await fetch(`${server.url}/api/v1${path}`, { headers: { authorization: `Bearer ${VIEWER_KEY}` } });
  expect(response.status, path).toBe(200);
  return (await response.json()) as Json;
};

const signedIn = async (): Promise<Page> => {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  page.setDefaultTimeout(15_000);
  page.on('pageerror', (error) => pageErrors.push(`${page.url()}: ${error.message}`));
  await page.goto(`${server.url}/`);
  await page.getByLabel('API key').fill(VIEWER_KEY);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByTestId('identity').waitFor();
  return page;
};

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`Chromium is missing at ${CHROMIUM} (apt-get install -y chromium)`);
  if (!existsSync(join(webDist, 'index.html')))
    throw new Error('build the dashboard first: npm run build -w @promptops/web');
  dataDir = mkdtempSync(join(tmpdir(), 'promptops-web-tenants-'));
  server = await startServer({
    demo: true,
    port: 0,
    dataDir,
    initAdminKey: ADMIN_KEY,
    webRoot: webDist,
    print: () => undefined,
  });
  const hash = hashApiKey(VIEWER_KEY);
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
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'],
  });
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await server?.close();
  if (dataDir !== undefined) rmSync(dataDir, { recursive: true, force: true });
});

describe("the greeter's Tenants tab in headless Chromium", { timeout: 90_000 }, () => {
  it("lists each tenant's effective sha, override and calls, and diffs the selected tenant against the base", async () => {
    const { tenants } = await api(`/prompts/${GREETER}/tenants/effective`);
    const metrics = await api(`/prompts/${GREETER}/metrics?by=tenant&since=7d&bucket=1d`);
    const calls = Object.fromEntries((metrics['series'] as Json[]).map((s) => [s['key'], s['totals']['count']]));
    expect((tenants as Json[]).map((t) => t['tenant'])).toEqual(['acme', 'globex']);

    const page = await signedIn();
    await page.goto(`${server.url}/prompts/${GREETER}`);
    await page.getByRole('link', { name: 'Tenants' }).click();
    await expect.poll(() => new URL(page.url()).searchParams.get('tab')).toBe('tenants');
    for (const tenant of tenants as Json[]) {
      const row = page.getByTestId(`tenant-${tenant['tenant']}`);
      await row.waitFor();
      const text = (await row.textContent()) ?? '';
      expect(text).toContain(String(tenant['effective']['sha']).slice(0, 7));
      expect(text).toContain(`v${tenant['version']}`);
      expect(text).toContain(tenant['message']);
      expect(text).toContain('dana');
      expect(calls[tenant['tenant']]).toBeGreaterThan(0);
      await expect
        .poll(async () => (await row.locator('td').nth(3).textContent())?.trim())
        .toBe(String(calls[tenant['tenant']]));
    }

    // The first tenant is selected: its diff shows the override's formal address against the base.
    const detail = page.getByTestId('tenant-detail');
    await expect.poll(async () => (await detail.textContent()) ?? '').toContain('valued customer');
    expect(await detail.textContent()).not.toContain('Kundin');

    await page.getByRole('link', { name: 'tenant globex' }).click();
    await expect.poll(() => new URL(page.url()).searchParams.get('tenant')).toBe('globex');
    await expect.poll(async () => (await detail.textContent()) ?? '').toContain('Kundin');
    expect(await detail.textContent()).not.toContain('valued customer');
    expect(await page.getByTestId('tenant-globex').getAttribute('aria-current')).toBe('true');
    expect(pageErrors).toEqual([]);
    await page.context().close();
  });

  it('shows a tenant whose override was set meanwhile without a reload (the change feed)', async () => {
    const page = await signedIn();
    await page.goto(`${server.url}/prompts/${GREETER}?tab=tenants`);
    await page.getByTestId('tenant-acme').waitFor();
    await expect.poll(() => page.locator('.live-live').count()).toBe(1);
    expect(await page.getByTestId('tenant-initech').count()).toBe(0);
    const response = await fetch(`${server.url}/api/v1/prompts/${GREETER}/tenants/initech/override`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ override: { params: { temperature: 0 } }, message: 'initech: deterministic' }),
    });
    expect(response.status).toBe(201);
    await page.getByTestId('tenant-initech').waitFor();
    expect(await page.getByTestId('tenant-initech').textContent()).toContain('initech: deterministic');
    expect(pageErrors).toEqual([]);
    await page.context().close();
  });
});
