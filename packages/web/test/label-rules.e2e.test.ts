import { resolveFromSnapshot, type Snapshot } from '@promptops/core';
import type { RunningServer } from '@promptops/server';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDemoDashboard, type DemoDashboard } from './support/demo-dashboard.js';

/**
 * A label's own targeting rules on the greeter's page in Debian's Chromium against a real
 * `promptops serve --demo` serving the built dashboard (`npm run build -w @promptops/web` first): a deployer
 * sets a rule on `staging` and the snapshot the SDKs read serves it; a viewer sees it read-only and sees it
 * cleared without a reload; a rule a protected label refuses shows the server's reason and fix.
 */

const ADMIN_KEY = 'po_e2e_label_rules_admin_key_0000000';
const VIEWER_KEY = 'po_e2e_label_rules_viewer_key_000000';
const GREETER = 'customer_support_greeter';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

let server: RunningServer;
let dashboard: DemoDashboard;
let pageErrors: string[] = [];

const api = async (path: string, init: { method?: string; body?: unknown } = {}): Promise<Json> => {
  const response = await fetch(`${server.url}/api/v1${path}`, {
    method: init.method ?? 'GET',
    headers: {
      authorization: `Bearer ${init.method === undefined ? VIEWER_KEY : ADMIN_KEY}`,
      ...(init.body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
  });
  expect(response.status, path).toBe(200);
  return (await response.json()) as Json;
};

const rulesPath = (label: string) => `/prompts/${GREETER}/labels/${label}/rules`;

const signedIn = async (key: string): Promise<Page> => {
  const page = await dashboard.signIn(key);
  await page.goto(`${server.url}/prompts/${GREETER}`);
  await page.getByTestId('label-staging').waitFor();
  return page;
};

const cardText = async (page: Page, label: string) => (await page.getByTestId(`label-${label}`).textContent()) ?? '';

beforeAll(async () => {
  dashboard = await startDemoDashboard('label-rules', { admin: ADMIN_KEY, viewer: VIEWER_KEY });
  ({ server, pageErrors } = dashboard);
}, 180_000);

afterAll(async () => {
  await dashboard?.close();
});

describe("a label's targeting rules on the prompt page in headless Chromium", { timeout: 90_000 }, () => {
  it('a deployer sets a rule on staging in the page, and the snapshot serves acme that version', async () => {
    const labels = (await api(`/prompts/${GREETER}`))['labels'] as Json[];
    const staging = labels.find((l) => l['label'] === 'staging')!;
    const pinned = staging['version'] === 1 ? 2 : 1;

    const page = await signedIn(ADMIN_KEY);
    await expect.poll(() => cardText(page, 'staging')).toContain('No targeting rules');
    await page.getByRole('button', { name: 'Edit rules of staging' }).click();
    await page.getByLabel(/Rules as JSON/).fill(
      JSON.stringify([
        {
          name: 'acme pinned',
          when: [{ attribute: 'tenant', op: 'in', values: ['acme'] }],
          serve: { version: pinned },
        },
      ]),
    );
    await page.getByRole('button', { name: 'Save rules' }).click();
    await expect.poll(() => cardText(page, 'staging')).toContain(`"acme pinned": tenant in [acme] → v${pinned}`);
    expect(await cardText(page, 'staging')).toContain(`anyone else: v${staging['version']}`);

    const snapshot = (await api('/snapshot')) as Snapshot;
    const acme = resolveFromSnapshot(snapshot, GREETER, { label: 'staging', context: { tenant: 'acme' } });
    const globex = resolveFromSnapshot(snapshot, GREETER, { label: 'staging', context: { tenant: 'globex' } });
    expect(acme).toMatchObject({ version: pinned, labelRule: 0, label: 'staging' });
    expect(globex).toMatchObject({ version: staging['version'] });
    expect(globex?.labelRule).toBeUndefined();
    expect(pageErrors).toEqual([]);
    await page.context().close();
  });

  it('a viewer sees the rule with no edit button, and sees it cleared without a reload', async () => {
    const page = await signedIn(VIEWER_KEY);
    await expect.poll(() => cardText(page, 'staging')).toContain('"acme pinned": tenant in [acme]');
    expect(await page.getByRole('button', { name: /Edit rules/ }).count()).toBe(0);
    expect(await page.getByRole('button', { name: /Clear rules/ }).count()).toBe(0);

    await expect.poll(() => page.locator('.live-live').count()).toBe(1);
    await api(rulesPath('staging'), { method: 'DELETE' });
    await expect.poll(() => cardText(page, 'staging')).toContain('No targeting rules');
    expect(await cardText(page, 'staging')).not.toContain('acme pinned');
    expect(pageErrors).toEqual([]);
    await page.context().close();
  });

  it("shows a protected label's refusal with its fix, and edits and clears a label's rules from the page", async () => {
    const greeter = await api(`/prompts/${GREETER}`);
    const production = (greeter['labels'] as Json[]).find((l) => l['label'] === 'production')!;
    // A version production never served, so it cannot have reached it through review.
    const { deployments } = await api(`/prompts/${GREETER}/deployments`);
    const served = new Set(
      (deployments as Json[]).filter((d) => d['label'] === 'production').map((d) => d['toVersion'] as number),
    );
    const unshipped = [...Array(greeter['version'] as number).keys()].map((i) => i + 1).find((v) => !served.has(v))!;
    expect(unshipped).toBeDefined();
    const page = await signedIn(ADMIN_KEY);
    await page.getByRole('button', { name: 'Edit rules of production' }).click();
    const editor = page.getByLabel(/Rules as JSON/);
    // A bad condition is named before anything is sent.
    await editor.fill(
      JSON.stringify([{ when: [{ attribute: 'tenant', op: 'like', values: ['a'] }], serve: { version: unshipped } }]),
    );
    await page.getByRole('button', { name: 'Save rules' }).click();
    const card = page.getByTestId('label-production');
    await expect.poll(async () => (await card.getByRole('alert').textContent()) ?? '').toContain('rules[0].when[0].op');
    // That version never went through production's review: the server refuses, with its reason and fix.
    await editor.fill(JSON.stringify([{ when: [], serve: { version: unshipped } }]));
    await page.getByRole('button', { name: 'Save rules' }).click();
    await expect
      .poll(async () => (await card.getByRole('alert').textContent()) ?? '')
      .toContain('never reached it through review');
    const alert = (await card.getByRole('alert').textContent()) ?? '';
    expect(alert).toContain('Not allowed');
    expect(alert).toContain(`promptops review request ${GREETER} v${unshipped} --label production`);
    expect((await api(rulesPath('production')))['rules']).toEqual([]);
    await page.getByRole('button', { name: 'Cancel' }).click();

    // Rules the page did not set, cleared from it: the server then holds none.
    await api(rulesPath('production'), {
      method: 'PUT',
      body: {
        rules: [
          {
            when: [{ attribute: 'tenant', op: 'equals', values: ['acme'] }],
            serve: { version: production['version'] },
          },
        ],
      },
    });
    await expect.poll(() => cardText(page, 'production')).toContain(`tenant equals "acme" → v${production['version']}`);
    // Edited from what the server holds (its stored shas left out): saved unchanged, then renamed.
    await page.getByRole('button', { name: 'Edit rules of production' }).click();
    const stored = JSON.parse(await editor.inputValue()) as Json[];
    expect(stored[0]!['serve']).toEqual({ version: production['version'] });
    await editor.fill(JSON.stringify([{ ...stored[0], name: 'acme stays' }]));
    await page.getByRole('button', { name: 'Save rules' }).click();
    await expect.poll(() => cardText(page, 'production')).toContain('"acme stays": tenant equals "acme"');
    await page.getByRole('button', { name: 'Clear rules of production' }).click();
    await expect.poll(() => cardText(page, 'production')).toContain('No targeting rules');
    expect((await api(rulesPath('production')))['rules']).toEqual([]);
    expect(pageErrors).toEqual([]);
    await page.context().close();
  });

  it("keeps the rollout page's rules editor (the same editor) working for a rollout's rules", async () => {
    const { rollouts } = await api('/rollouts?prompt=summarize_ticket&state=running');
    const id = (rollouts as Json[])[0]!['id'] as string;
    const page = await signedIn(ADMIN_KEY);
    await page.goto(`${server.url}/rollouts/${id}`);
    const panel = page.getByTestId('rollout-targeting');
    await panel.getByRole('button', { name: 'Edit rules…' }).click();
    const editor = panel.getByLabel(/Rules as JSON/);
    await editor.fill(JSON.stringify([{ when: [], serve: { version: 3 } }]));
    await panel.getByRole('button', { name: 'Save rules' }).click();
    await expect.poll(async () => (await panel.getByRole('alert').textContent()) ?? '').toContain('rules[0].serve');
    await editor.fill(
      JSON.stringify([{ when: [{ attribute: 'tenant', op: 'in', values: ['acme'] }], serve: { arm: 'candidate' } }]),
    );
    await panel.getByRole('button', { name: 'Save rules' }).click();
    await expect
      .poll(async () => (await page.getByTestId('rollout-rules').textContent()) ?? '')
      .toContain('tenant in [acme] → the candidate');
    expect((await api(`/rollouts/${id}`))['rollout']['rules']).toEqual([
      { when: [{ attribute: 'tenant', op: 'in', values: ['acme'] }], serve: { arm: 'candidate' } },
    ]);
    expect(pageErrors).toEqual([]);
    await page.context().close();
  });
});
