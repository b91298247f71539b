import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { RunningServer } from '@promptops/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDemoDashboard, type DemoDashboard } from './support/demo-dashboard.js';

/**
 * The Webhooks page in Debian's Chromium against a real `promptops serve --demo` serving the built
 * dashboard (`npm run build -w @promptops/web` first), with a local receiver that answers 503 first: an
 * admin sees the webhook, its delivery pending with the 503 attempt and its next retry, redelivers it once
 * the receiver is back, and sees it delivered with both attempts; a viewer is told webhooks are admins'.
 */

const ADMIN_KEY = 'po_e2e_webhooks_admin_key_00000000000';
const VIEWER_KEY = 'po_e2e_webhooks_viewer_key_0000000000';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

let server: RunningServer;
let dashboard: DemoDashboard;
let receiver: Server;
let status = 503;
const received: string[] = [];
let pageErrors: string[] = [];
const saved = { ...process.env };

const api = async (method: string, path: string, body?: unknown): Promise<Json> => {
  const response = await fetch(`${server.url}/api/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  expect(response.status, `${method} ${path}`).toBeLessThan(300);
  return (await response.json()) as Json;
};

beforeAll(async () => {
  receiver = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      if (status < 300) received.push(Buffer.concat(chunks).toString('utf8'));
      response.statusCode = status;
      response.end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  // The receiver is on loopback: the operator allows private targets.
  process.env['PROMPTOPS_WEBHOOK_ALLOW_PRIVATE'] = '1';
  dashboard = await startDemoDashboard('webhooks', { admin: ADMIN_KEY, viewer: VIEWER_KEY });
  ({ server, pageErrors } = dashboard);
}, 180_000);

afterAll(async () => {
  await dashboard?.close();
  await new Promise<void>((resolve) => (receiver === undefined ? resolve() : receiver.close(() => resolve())));
  if (saved['PROMPTOPS_WEBHOOK_ALLOW_PRIVATE'] === undefined) delete process.env['PROMPTOPS_WEBHOOK_ALLOW_PRIVATE'];
  else process.env['PROMPTOPS_WEBHOOK_ALLOW_PRIVATE'] = saved['PROMPTOPS_WEBHOOK_ALLOW_PRIVATE'];
});

describe('the Webhooks page in headless Chromium', { timeout: 120_000 }, () => {
  it('shows a delivery with its attempts and next retry, and redelivers it for an admin', async () => {
    const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
    const { webhook } = await api('POST', '/webhooks', { url, events: ['label.*'] });
    await api('PUT', '/prompts/release_notes_writer/labels/staging', { ref: 'v1', reason: 'e2e' });
    // The dispatcher runs on its own tick: wait for its first attempt (answered 503).
    let delivery: Json | undefined;
    await expect
      .poll(
        async () => {
          [delivery] = (await api('GET', `/webhooks/${webhook['id']}/deliveries`))['deliveries'] as Json[];
          return delivery?.['attemptLog']?.length ?? 0;
        },
        { timeout: 30_000 },
      )
      .toBeGreaterThan(0);
    expect(delivery).toMatchObject({ status: 'pending', responseCode: 503, event: 'label.moved' });

    const page = await dashboard.signIn(ADMIN_KEY);
    await page.getByRole('link', { name: 'Webhooks' }).click();
    await expect.poll(() => new URL(page.url()).pathname).toBe('/webhooks');
    const section = page.getByTestId(`webhook-${webhook['id']}`);
    await section.waitFor();
    expect(await section.textContent()).toContain(url);
    const row = page.getByTestId(`delivery-${delivery!['id']}`);
    await row.waitFor();
    expect(await row.getByTestId('delivery-status').textContent()).toBe('pending');
    expect(await row.getByTestId('delivery-code').textContent()).toContain('503');
    // The next retry is in the future: shown relative, with its time.
    expect(await row.locator('td').nth(4).locator('time').getAttribute('datetime')).toBe(delivery!['nextAttemptAt']);
    await row
      .getByText(/attempt/)
      .first()
      .click();
    expect(await row.getByTestId('attempt-log').textContent()).toContain('answered 503');

    // The receiver is back; redeliver now instead of waiting for the backoff.
    status = 200;
    await row.getByRole('button', { name: `Redeliver delivery ${delivery!['id']}` }).click();
    await expect
      .poll(
        async () => {
          await page.getByRole('button', { name: 'Refresh' }).click();
          return row.getByTestId('delivery-status').textContent();
        },
        { timeout: 30_000 },
      )
      .toBe('delivered');
    expect(received).toHaveLength(1);
    expect(JSON.parse(received[0]!)).toMatchObject({ event: 'label.moved' });
    await row
      .getByText(/attempts/)
      .first()
      .click();
    const log = (await row.getByTestId('attempt-log').textContent()) ?? '';
    expect(log).toContain('503');
    expect(log).toContain('200');
    await page.context().close();

    const viewer = await dashboard.signIn(VIEWER_KEY);
    await viewer.goto(`${server.url}/webhooks`);
    await viewer.getByText('Webhooks are managed by the project').waitFor();
    expect(await viewer.getByRole('button', { name: /Redeliver/ }).count()).toBe(0);
    expect(pageErrors).toEqual([]);
    await viewer.context().close();
  });
});
