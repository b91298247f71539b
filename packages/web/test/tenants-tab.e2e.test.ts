import type { RunningServer } from '@promptops/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDemoDashboard, type DemoDashboard } from './support/demo-dashboard.js';

/**
 * The greeter's Tenants tab in Debian's Chromium against a real `promptops serve --demo` serving the built
 * dashboard (`npm run build -w @promptops/web` first): a viewer sees acme and globex with the effective
 * shas the API reports, their calls as metrics by tenant counts them, and each tenant's diff to the base.
 */

const ADMIN_KEY = 'po_e2e_tenants_admin_key_000000000000';
const VIEWER_KEY = 'po_e2e_tenants_viewer_key_00000000000';
const GREETER = 'customer_support_greeter';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

let server: RunningServer;
let dashboard: DemoDashboard;
let pageErrors: string[] = [];

const api = async (path: string): Promise<Json> => {
  const response = await fetch(`${server.url}/api/v1${path}`, { headers: { authorization: `Bearer ${VIEWER_KEY}` } });
  expect(response.status, path).toBe(200);
  return (await response.json()) as Json;
};

beforeAll(async () => {
  dashboard = await startDemoDashboard('tenants', { admin: ADMIN_KEY, viewer: VIEWER_KEY });
  ({ server, pageErrors } = dashboard);
}, 180_000);

afterAll(async () => {
  await dashboard?.close();
});

describe("the greeter's Tenants tab in headless Chromium", { timeout: 90_000 }, () => {
  it("lists each tenant's effective sha, override and calls, and diffs the selected tenant against the base", async () => {
    const { tenants } = await api(`/prompts/${GREETER}/tenants/effective`);
    const metrics = await api(`/prompts/${GREETER}/metrics?by=tenant&since=7d&bucket=1d`);
    const calls = Object.fromEntries((metrics['series'] as Json[]).map((s) => [s['key'], s['totals']['count']]));
    expect((tenants as Json[]).map((t) => t['tenant'])).toEqual(['acme', 'globex']);

    const page = await dashboard.signIn(VIEWER_KEY);
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
    const page = await dashboard.signIn(VIEWER_KEY);
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
