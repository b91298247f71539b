import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startServer, type RunningServer } from '@promptops/server';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashApiKey, keyIdOf } from '../../server/src/auth/keys.js';

/**
 * The dashboard end to end: Debian's Chromium (driven by playwright-core) against a real
 * `promptops serve --demo` that serves the built dashboard. Screenshots of the main pages, at laptop and
 * phone widths, go to artifacts/screenshots/ (git-ignored) for a person to look at; the README's own
 * (docs/images/*.png) are written here too, so they always show the dashboard as it is.
 */

const CHROMIUM = process.env['PROMPTOPS_CHROMIUM'] ?? '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-quic',
  '--no-first-run',
];
const ADMIN_KEY = 'po_e2e_admin_key_0000000000000000000';
const VIEWER_KEY = 'po_e2e_viewer_key_000000000000000000';
const GREETER = 'customer_support_greeter';
const V17_SHA = '6504af8427b046d43bfaa6070bedf3f5e39b1b53c360e108cb18126f7d5f9ad0';
const V18_SHA = '7ba01d740f0d41a20337a515e24ba53a01f9197032fc142871b8bcd1cac28278';

const webDir = fileURLToPath(new URL('..', import.meta.url));
const webDist = join(webDir, 'dist');
const screenshots = fileURLToPath(new URL('../../../artifacts/screenshots/', import.meta.url));
const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
const docsImages = join(repoRoot, 'docs', 'images');
/** The README's screenshots this run wrote (docs/images/NAME.png). */
const docsWritten = new Set<string>();

const LAPTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };

let server: RunningServer;
let browser: Browser;
let dataDir: string;
const pageErrors: string[] = [];
/** Everything the browser refused under the server's Content-Security-Policy, in every page. */
const cspViolations: string[] = [];

/** The built dashboard; `npm test` builds it first, a bare `vitest` run builds it here once. */
const ensureBuilt = (): void => {
  if (existsSync(join(webDist, 'index.html'))) return;
  execFileSync('npm', ['run', 'build'], { cwd: webDir, stdio: 'inherit' });
};

const requireChromium = (): void => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `Chromium is missing at ${CHROMIUM}: the dashboard tests need Debian's chromium package ` +
        `(run 'apt-get install -y chromium', or 'bash scripts/install-test-deps.sh'; PROMPTOPS_CHROMIUM overrides the path)`,
    );
  }
};

const addViewerKey = async (): Promise<void> => {
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
};

const api = async (method: string, path: string, body?: unknown): Promise<unknown> => {
  const response = await fetch(`${server.url}/api/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  expect(response.status, `${method} ${path}`).toBeLessThan(300);
  return response.json();
};

const newPage = async (viewport = LAPTOP): Promise<{ context: BrowserContext; page: Page }> => {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  page.setDefaultTimeout(15_000);
  page.on('pageerror', (error) => pageErrors.push(`${page.url()}: ${error.message}`));
  // Chromium logs each refusal to the console; the DOM event is logged too, whatever the wording.
  page.on('console', (message) => {
    if (/Content[ -]Security[ -]Policy|csp-violation/i.test(message.text())) {
      cspViolations.push(`${page.url()}: ${message.text()}`);
    }
  });
  await page.addInitScript(() =>
    document.addEventListener('securitypolicyviolation', (event) =>
      console.error(`csp-violation ${event.violatedDirective} ${event.blockedURI}`),
    ),
  );
  return { context, page };
};

const signIn = async (page: Page, key: string): Promise<void> => {
  await page.goto(`${server.url}/`);
  await page.getByLabel('API key').fill(key);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByTestId('identity').waitFor();
};

/**
 * A new browser context (empty cache) whose tab is signed in (session storage holds the key and its /me
 * answer, as after a sign-in): navigates to the greeter's page and returns, in the page's own clock, when
 * the label cards and the history were both on screen.
 */
const coldPromptPageLoad = async (me: unknown): Promise<number> => {
  const { context, page } = await newPage();
  await page.addInitScript(
    ({ stored, storageKey }) => {
      window.sessionStorage.setItem(storageKey, JSON.stringify(stored));
      const observer = new MutationObserver(() => {
        if (
          document.querySelector('[data-testid="version-18"]') &&
          document.querySelector('[data-testid="label-production"]')
        ) {
          Object.assign(window, { readyAtMs: performance.now() });
          observer.disconnect();
        }
      });
      document.addEventListener('DOMContentLoaded', () =>
        observer.observe(document.body, { childList: true, subtree: true }),
      );
    },
    { stored: { key: ADMIN_KEY, me }, storageKey: 'promptops.apiKey' },
  );
  await page.goto(`${server.url}/prompts/${GREETER}`);
  await page.getByTestId('version-18').waitFor();
  await page.getByTestId('label-production').waitFor();
  const readyAtMs = await page.evaluate(() => (window as unknown as { readyAtMs?: number }).readyAtMs);
  await context.close();
  expect(readyAtMs).toBeGreaterThan(0);
  return readyAtMs ?? Infinity;
};

/** Waits until nothing on the page is loading (not 'networkidle': the change feed stays open). */
const settle = async (page: Page): Promise<void> => {
  await expect.poll(() => page.locator('[aria-busy="true"]').count()).toBe(0);
  // Screenshots only: lets transitions finish so the images are stable; no assertion depends on it.
  await page.waitForTimeout(150);
};

/**
 * Full-page screenshots at laptop and phone widths: artifacts/screenshots/NAME-{laptop,phone}.png; with
 * `docs`, the laptop one is also the README's docs/images/NAME.png.
 */
const snap = async (page: Page, name: string, options: { docs?: boolean } = {}): Promise<void> => {
  await settle(page);
  for (const toast of await page.getByRole('button', { name: 'Dismiss' }).all()) {
    await toast.click({ timeout: 1000 }).catch(() => undefined); // it may have gone by itself
  }
  const laptop = await page.screenshot({ path: join(screenshots, `${name}-laptop.png`), fullPage: true });
  if (options.docs === true) {
    writeFileSync(join(docsImages, `${name}.png`), laptop);
    docsWritten.add(`docs/images/${name}.png`);
  }
  await page.setViewportSize(PHONE);
  await page.waitForTimeout(300); // charts follow their container's width
  await page.screenshot({ path: join(screenshots, `${name}-phone.png`), fullPage: true });
  await page.setViewportSize(LAPTOP);
  await page.waitForTimeout(200);
};

interface DrawnCaption {
  readonly id: number;
  readonly text: string;
  readonly x: number;
  readonly left: number;
  readonly right: number;
  /** Pixels in the caption's box drawn in its marker's colour. */
  readonly inked: number;
}

/** The marker captions a chart says it drew (data-captions, canvas pixels), each looked for on its canvas. */
const chartCaptions = (page: Page, testId: string): Promise<{ width: number; captions: DrawnCaption[] }> =>
  page.locator(`[data-testid="${testId}"] .uplot`).evaluate((root) => {
    interface Placed {
      id: number;
      text: string;
      x: number;
      left: number;
      top: number;
      width: number;
      height: number;
      color: string;
    }
    const placed = JSON.parse((root as HTMLElement).dataset['captions'] ?? '[]') as Placed[];
    const canvas = root.querySelector('canvas')!;
    const context = canvas.getContext('2d')!;
    return {
      width: canvas.width,
      captions: placed.map((caption) => {
        const want = [1, 3, 5].map((at) => parseInt(caption.color.slice(at, at + 2), 16));
        const box = [Math.round(caption.left), Math.round(caption.top), Math.round(caption.width), caption.height];
        const { data } = context.getImageData(box[0]!, box[1]!, Math.max(1, box[2]!), box[3]!);
        let inked = 0;
        for (let i = 0; i < data.length; i += 4) {
          const distance = want.reduce((sum, value, channel) => sum + Math.abs(value - data[i + channel]!), 0);
          if (data[i + 3]! > 128 && distance < 90) inked += 1;
        }
        const { id, text, x, left, width } = caption;
        return { id, text, x, left, right: left + width, inked };
      }),
    };
  });

beforeAll(async () => {
  requireChromium();
  ensureBuilt();
  mkdirSync(screenshots, { recursive: true });
  mkdirSync(docsImages, { recursive: true });
  dataDir = mkdtempSync(join(tmpdir(), 'promptops-web-e2e-'));
  server = await startServer({
    demo: true,
    port: 0,
    dataDir,
    initAdminKey: ADMIN_KEY,
    webRoot: webDist,
    print: () => undefined,
  });
  await addViewerKey();
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await server?.close();
  if (dataDir !== undefined) rmSync(dataDir, { recursive: true, force: true });
});

describe('dashboard in headless Chromium', { timeout: 90_000 }, () => {
  it('signs in with an API key and shows its role', async () => {
    const { context, page } = await newPage();
    await page.goto(`${server.url}/`);
    await snap(page, 'sign-in');
    await page.getByLabel('API key').fill('po_not_a_key_000000000000');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => page.getByRole('alert').textContent()).toContain('not accepted');
    await signIn(page, ADMIN_KEY);
    expect(await page.getByTestId('identity').textContent()).toContain('admin');
    await page.getByTestId(`prompt-${GREETER}`).waitFor();
    await snap(page, 'prompts');
    await context.close();
  });

  it('loads the prompts list with one request, not one per prompt', async () => {
    const { context, page } = await newPage();
    const requests: string[] = [];
    page.on('request', (request) => {
      const { pathname } = new URL(request.url());
      if (pathname.startsWith('/api/v1/prompts')) requests.push(pathname);
    });
    await signIn(page, ADMIN_KEY);
    const row = page.getByTestId(`prompt-${GREETER}`);
    await row.waitFor();
    // When and by whom each label moved is on the row, from the list's answer.
    await expect.poll(() => row.locator('.prompt-label').first().textContent()).toMatch(/ by \S+/);
    expect(requests).toEqual(['/api/v1/prompts']);
    await context.close();
  });

  it('finds the greeter by search and opens its history', async () => {
    const { context, page } = await newPage();
    await signIn(page, ADMIN_KEY);
    await page.getByLabel('Search prompts').fill('greet');
    await expect.poll(() => page.locator('.prompt-row').count()).toBe(1);
    await page.getByRole('link', { name: GREETER }).click();
    await page.getByRole('heading', { level: 1, name: GREETER }).waitFor();
    await page.getByTestId('version-18').waitFor();
    expect(await page.getByTestId('label-production-version').textContent()).toBe('v18');
    await snap(page, 'prompt-history', { docs: true });
    await context.close();
  });

  it('loads a prompt page cold, straight from its URL', async () => {
    const me = await api('GET', '/me');
    // Speed is measured, not asserted (tests here share two cores): the time is printed for the record,
    // and the page must come up with its history from a cold browser cache.
    await coldPromptPageLoad(me); // warms the browser process up, not the page: each load has a new cache
    const times: number[] = [];
    for (let i = 0; i < 3; i += 1) times.push(await coldPromptPageLoad(me));
    console.log(`prompt page, cold first load: ready after ${times.map(Math.round).join(' / ')} ms`);
    expect(times.every((time) => Number.isFinite(time) && time > 0)).toBe(true);
  });

  it('opens the v17/v18 diff and shows the removed line', async () => {
    const { context, page } = await newPage();
    await signIn(page, ADMIN_KEY);
    await page.goto(`${server.url}/prompts/${GREETER}`);
    await page.getByTestId('version-18').getByRole('link', { name: 'Diff with v17' }).click();
    const removed = page.locator('[data-testid="diff"] .diff-remove', { hasText: 'Always greet the user by name.' });
    await removed.first().waitFor();
    expect(page.url()).toContain('tab=compare');
    expect(await page.getByTestId('diff').textContent()).toContain('1 removed');
    await snap(page, 'prompt-diff');
    await context.close();
  });

  it('shows the eval runs of v17 and v18, with the cases v18 fails and why', async () => {
    const { context, page } = await newPage();
    await signIn(page, ADMIN_KEY);
    await page.goto(`${server.url}/prompts/${GREETER}`);
    await page.getByRole('link', { name: 'Evals' }).click();
    const rows = page.locator('.evals-table tbody tr');
    await rows.first().waitFor();
    // greeter-basics (the taste test) and greeter-customers (the drift report's evidence), on v17 and v18;
    // greeter-basics also on the effective prompts of the demo's tenants acme and globex.
    expect(await rows.count()).toBe(8);
    expect(await rows.filter({ hasText: 'tenant acme' }).count()).toBe(2);
    const basics = rows.filter({ hasText: 'greeter-basics' }).filter({ hasNotText: 'tenant' });
    expect(await basics.count()).toBe(2);
    expect((await basics.nth(0).textContent()) ?? '').toMatch(/v18.*greeter-basics.*fail.*0\/5.*0%/);
    expect((await basics.nth(1).textContent()) ?? '').toMatch(/v17.*greeter-basics.*pass.*5\/5.*100%/);
    // greeter-basics on v18: the five cases all fail, each missing the name.
    await basics.nth(0).getByRole('link').click();
    const detail = page.getByTestId('eval-run-detail');
    await detail.getByText('5 failing cases').waitFor();
    expect(await detail.textContent()).toContain('0/5 passed');
    for (const [id, name] of [
      ['alice-password', 'Alice'],
      ['bob-refund', 'Bob'],
      ['chen-shipping', 'Chen'],
      ['dana-invoice', 'Dana'],
      ['emeka-account', 'Emeka'],
    ]) {
      expect(await page.getByTestId(`failing-case-${id}`).textContent()).toContain(
        `expected the output to mention {{user_name}} = "${name}"; got "Hello! Thanks for your question`,
      );
    }
    await snap(page, 'prompt-evals', { docs: true });
    // The v17 run, linked: every case passed.
    await basics.nth(1).getByRole('link').click();
    await detail.getByText('Every case passed.').waitFor();
    expect(page.url()).toMatch(/tab=evals&run=\d+/);
    await context.close();
  });

  it('lists change requests and shows #2 (v18): the one-line diff, a pending approval, the failed eval check and the break glass', async () => {
    const { context, page } = await newPage();
    await signIn(page, VIEWER_KEY);
    await page.getByRole('link', { name: 'Reviews' }).click();
    await page.getByTestId('review-2').waitFor();
    expect(await page.getByTestId('review-2').textContent()).toContain('v17 → v18');
    await snap(page, 'reviews');
    await page.getByRole('button', { name: 'all', exact: true }).click();
    await page.getByTestId('review-1').waitFor();
    expect(await page.getByTestId('review-1').textContent()).toContain('merged');
    await page.getByTestId('review-2').getByRole('link', { name: '#2' }).click();
    await page.getByRole('heading', { level: 1, name: 'Change request #2' }).waitFor();
    const removed = page.locator('[data-testid="diff"] .diff-remove', { hasText: 'Always greet the user by name.' });
    await removed.first().waitFor();
    expect(await page.getByTestId('check-approvals').getAttribute('data-status')).toBe('pending');
    expect(await page.getByTestId('check-approvals').textContent()).toContain('0 of 1 approval');
    // Production requires greeter-basics, which v18 fails: even an approval would not make #2 mergeable.
    expect(await page.getByTestId('check-eval suites').getAttribute('data-status')).toBe('failed');
    expect(await page.getByTestId('check-eval suites').textContent()).toMatch(/greeter-basics\b.*: failed/);
    // dave broke glass twice (incident #1 rolled the first back): the first time is listed first.
    expect(await page.getByTestId('timeline').locator('[data-kind="forced"]').first().textContent()).toContain(
      'forced (break glass) by dave',
    );
    expect(await page.getByTestId('mergeable').textContent()).toBe('Not mergeable yet.');
    // The drift check informs (no policy asks for no drift): greeter-customers' 20 pairs show the name
    // mentions falling, greeter-basics' 5 are too few to tell. A viewer may not build a new report.
    expect(await page.getByTestId('check-drift').getAttribute('data-status')).toBe('passed');
    const customers = page.getByTestId('drift-suite-greeter-customers');
    expect(await customers.textContent()).toContain(
      "greeter-customers: v18 drifted: outputs mention the user's name 0 % vs 100 % of the time (20 paired cases",
    );
    expect(await page.getByTestId('drift-suite-greeter-basics').textContent()).toContain('not enough data to tell');
    await snap(page, 'review', { docs: true });
    expect(await customers.getByTestId('drift-table').isVisible()).toBe(false);
    await customers.getByText('Descriptors and example pairs').click();
    const nameRow = customers.getByTestId('drift-row-mentions.user_name');
    await nameRow.waitFor();
    expect(await nameRow.getAttribute('data-drifted')).toBe('yes');
    expect(await nameRow.textContent()).toMatch(/100 %.*0 %.*−100 pts \[−100, −76\].*McNemar \(exact\).*< 0\.001/);
    expect(await page.getByRole('button', { name: 'Compare versions…' }).count()).toBe(0);
    await context.close();
  });

  it("opens the greeter's drift report: the verdict first, the descriptor table, the pairs side by side", async () => {
    const { context, page } = await newPage();
    await signIn(page, ADMIN_KEY);
    await page.goto(`${server.url}/prompts/${GREETER}`);
    await page.getByRole('link', { name: 'Drift', exact: true }).click();
    const stored = page.getByTestId('drift-reports').locator('tbody tr');
    await stored.first().waitFor();
    expect(await stored.count()).toBe(1);
    expect(await stored.first().textContent()).toMatch(
      /#1v17 → v18drifted v18 drifted: outputs mention the user's name 0 % vs 100 %.*offline · greeter-customers/,
    );
    // The newest report is open: its verdict line comes first, then a row per descriptor.
    const detail = page.getByTestId('drift-detail');
    const verdict = detail.getByTestId('drift-verdict');
    await verdict.waitFor();
    expect(await verdict.textContent()).toMatch(
      /^v18 drifted: outputs mention the user's name 0 % vs 100 % of the time/,
    );
    expect(await detail.locator('.drift-report > *').first().getAttribute('data-testid')).toBe('drift-verdict');
    expect(await detail.getByTestId('drift-row-mentions.user_name').getAttribute('data-drifted')).toBe('yes');
    expect(await detail.getByTestId('drift-row-refusal').getAttribute('data-drifted')).toBe('no');
    expect(await detail.getByTestId('drift-row-length.chars').textContent()).toContain('−6 characters [−7, −6]');
    // Each example pair side by side: v17 greeted Chen by name, v18 dropped it.
    const chen = detail.getByTestId('drift-example-chen');
    expect(await chen.textContent()).toContain('differs in mentions.user_name');
    expect(await chen.locator('.diff-remove del').allTextContents()).toEqual([', Chen']);
    expect(await chen.locator('.diff-add').textContent()).toContain('v18Hello! Thanks for your question');
    await snap(page, 'drift');

    // An admin builds a new report of the same versions on the other suite: 5 pairs are too few.
    await page.getByRole('button', { name: 'Compare versions…' }).click();
    const form = page.getByTestId('drift-compare');
    expect(await form.getByLabel('A (baseline)').inputValue()).toBe('v17');
    expect(await form.getByLabel('B (candidate)').inputValue()).toBe('v18');
    await form.getByLabel('Suite', { exact: true }).selectOption('greeter-basics');
    await form.getByRole('button', { name: 'Build report' }).click();
    await expect.poll(() => stored.count()).toBe(2);
    await expect.poll(() => new URL(page.url()).searchParams.get('report')).toBe('2');
    await expect
      .poll(() => detail.getByTestId('drift-verdict').textContent())
      .toBe('v18 vs v17: not enough data to tell (5 paired cases; at least 10 needed)');
    expect(await detail.getByTestId('drift-row-mentions.user_name').getAttribute('data-drifted')).toBe(
      'not enough data',
    );
    await context.close();
  });

  it('draws per-sha charts with the deployments as markers', async () => {
    const { context, page } = await newPage();
    await signIn(page, ADMIN_KEY);
    await page.goto(`${server.url}/prompts/${GREETER}?tab=metrics`);
    const volume = page.locator('[data-testid="chart-volume"] .uplot[data-markers]');
    await volume.waitFor();
    expect(Number(await volume.getAttribute('data-markers'))).toBeGreaterThanOrEqual(2);
    expect(await page.locator('[data-testid="metrics-charts"] canvas').count()).toBe(4);
    expect(await page.getByTestId('chart-marker').count()).toBeGreaterThanOrEqual(2);
    const table = await page.locator('table').first().textContent();
    expect(table).toContain('v18');
    expect(table).toContain('v17');
    await snap(page, 'per-sha-chart', { docs: true });
    await context.close();
  });

  it('opens an incident from the list: its timeline over the per-sha charts, figures, ack for an editor, none for a viewer', async () => {
    const opened = (await api('POST', '/incidents', {
      name: GREETER,
      label: 'production',
      message: 'Greeter stopped using the name',
    })) as { id: number };
    const { context, page } = await newPage();
    await signIn(page, ADMIN_KEY);
    await page.getByRole('link', { name: 'Incidents' }).click();
    await page
      .getByTestId(`incident-${opened.id}`)
      .getByRole('link', { name: /Greeter stopped/ })
      .click();
    await page.getByTestId('incident-figures').waitFor();
    const kinds = await page
      .locator('[data-testid="incident-timeline"] li')
      .evaluateAll((items) => items.map((item) => item.getAttribute('data-kind')));
    expect(kinds).toContain('introduced');
    expect(kinds).toContain('notified');
    const chart = page.locator('[data-testid="incident-chart-mean-score"] .uplot[data-captions]');
    await chart.waitFor();
    const captions = JSON.parse((await chart.getAttribute('data-captions')) ?? '[]') as { id: unknown }[];
    expect(captions.some((caption) => String(caption.id).startsWith('incident-'))).toBe(true);
    await snap(page, 'incident');
    await page.getByRole('button', { name: 'Acknowledge' }).click();
    await page.locator('[data-testid="incident-state"]', { hasText: 'acknowledged' }).waitFor();
    await page.getByTestId('postmortem-load').click();
    expect(await page.getByTestId('postmortem').textContent()).toContain(`# Incident ${opened.id}`);
    await context.close();

    const viewer = await newPage();
    await signIn(viewer.page, VIEWER_KEY);
    await viewer.page.goto(`${server.url}/incidents/${opened.id}`);
    await viewer.page.getByTestId('incident-timeline').waitFor();
    expect(await viewer.page.getByRole('button', { name: /Acknowledge|Resolve/ }).count()).toBe(0);
    await viewer.context.close();
  });

  it('lists traces filtered by sha and opens a v18 trace with its sha', async () => {
    const { context, page } = await newPage();
    await signIn(page, ADMIN_KEY);
    await page.goto(`${server.url}/traces`);
    await page.getByLabel('SHA (7+ hex)').fill(V18_SHA.slice(0, 7));
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await expect.poll(() => new URL(page.url()).searchParams.get('sha')).toBe(V18_SHA.slice(0, 7));
    await page.locator('tbody tr').first().waitFor();
    const shas = await page.locator('tbody .sha').allTextContents();
    expect(shas.length).toBeGreaterThan(10);
    expect(new Set(shas)).toEqual(new Set([V18_SHA.slice(0, 7)]));
    await snap(page, 'traces');

    await page.goto(`${server.url}/traces/4481`); // the complaint of the demo story
    await page.getByTestId('trace-sha').waitFor();
    expect(await page.getByTestId('trace-sha').textContent()).toBe(V18_SHA);
    expect(await page.getByTestId('label-now').textContent()).toContain('still serves this version');
    await snap(page, 'trace');
    await context.close();
  });

  it('shows a label moved through the API without a reload', async () => {
    const { context, page } = await newPage();
    await signIn(page, ADMIN_KEY);
    await page.goto(`${server.url}/prompts/${GREETER}?tab=deployments`);
    await page.getByTestId('label-staging').waitFor();
    await expect.poll(() => page.locator('.live-live').count()).toBe(1);
    await page.evaluate(() => Object.assign(window, { notReloaded: true }));

    await api('PUT', `/prompts/${GREETER}/labels/staging`, { ref: 'v16', reason: 'live update e2e' });
    await expect.poll(() => page.getByTestId('label-staging-version').textContent()).toBe('v16');
    await page.locator('.move', { hasText: 'live update e2e' }).waitFor();
    expect(await page.evaluate(() => (window as unknown as { notReloaded?: boolean }).notReloaded)).toBe(true);
    await context.close();
  });

  it('rolls production back to v17 with a reason, behind a confirmation that shows the diff', async () => {
    const { context, page } = await newPage();
    await signIn(page, ADMIN_KEY);
    await page.goto(`${server.url}/prompts/${GREETER}?tab=deployments&label=production`);
    await page.getByTestId('label-production').getByRole('button', { name: 'Roll back production to v17' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.waitFor();
    // From v18 (now) to v17: the greeting line comes back.
    await dialog.locator('.diff-add', { hasText: 'Always greet the user by name.' }).first().waitFor();
    expect(await dialog.getByRole('button', { name: 'Roll back to v17' }).isDisabled()).toBe(true);
    await dialog.getByLabel(/Reason/).fill('customers are not greeted by name');
    await page.screenshot({ path: join(screenshots, 'rollback-dialog-laptop.png') });
    await dialog.getByRole('button', { name: 'Roll back to v17' }).click();

    await expect.poll(() => page.getByTestId('label-production-version').textContent()).toBe('v17');
    await dialog.waitFor({ state: 'detached' });
    const newest = page.locator('.move').first();
    await expect.poll(() => newest.textContent()).toContain('customers are not greeted by name');
    expect(await newest.textContent()).toContain('rollback');
    // v18 reached protected production only by break glass: no button puts it back, while v15 (promoted
    // before production was protected) is the next default target.
    await expect
      .poll(() =>
        page.getByTestId('label-production').getByRole('button', { name: 'Roll back production to v15' }).count(),
      )
      .toBe(1);
    expect(await page.getByRole('button', { name: 'Roll back production to v18' }).count()).toBe(0);
    // production went to v17 twice (the merge of #1, and now the rollback): only the newest move serves now.
    const serving = page.locator('.move', { has: page.locator('.chip-now') });
    await expect.poll(() => serving.count()).toBe(1);
    expect(await serving.textContent()).toMatch(/^production\s*rollback\s*v18 → v17/);
    expect(await serving.textContent()).toContain('customers are not greeted by name');
    expect(await page.locator('.move', { hasText: 'change request #1' }).count()).toBe(1);
    expect(await page.locator('.move', { hasText: 'change request #1' }).locator('.chip-now').count()).toBe(0);
    await snap(page, 'deployments');

    const labels = (await api('GET', `/prompts/${GREETER}/labels`)) as { labels: { label: string; sha: string }[] };
    expect(labels.labels.find((label) => label.label === 'production')?.sha).toBe(V17_SHA);
    await context.close();
  });

  it("captions each marker beside its own line and inside the chart, the rollback's too", async () => {
    const { deployments } = (await api('GET', `/prompts/${GREETER}/deployments`)) as {
      deployments: { id: number; label: string; kind: string }[];
    };
    const rollback = deployments.find((move) => move.label === 'production' && move.kind === 'rollback');
    expect(rollback).toBeDefined();
    const { context, page } = await newPage();
    await signIn(page, ADMIN_KEY);
    await page.goto(`${server.url}/prompts/${GREETER}?tab=metrics`);
    for (const viewport of [LAPTOP, PHONE]) {
      await page.setViewportSize(viewport);
      await expect
        .poll(async () => (await chartCaptions(page, 'chart-volume')).width)
        .toBe(await page.locator('[data-testid="chart-volume"] .uplot canvas').evaluate((c) => c.clientWidth));
      const { width, captions } = await chartCaptions(page, 'chart-volume');
      const where = `at ${viewport.width} px: ${JSON.stringify(captions)}`;
      expect(captions.length, where).toBeGreaterThanOrEqual(3);
      expect(
        captions.find((caption) => caption.id === rollback!.id),
        where,
      ).toBeDefined();
      for (const caption of captions) {
        // It starts just right of its line, or ends just left of it, wholly on the canvas …
        const beside = Math.abs(caption.left - (caption.x + 3)) <= 1 || Math.abs(caption.right - (caption.x - 3)) <= 1;
        expect(beside, `${caption.text} ${where}`).toBe(true);
        expect(caption.left, `${caption.text} ${where}`).toBeGreaterThanOrEqual(0);
        expect(caption.right, `${caption.text} ${where}`).toBeLessThanOrEqual(width);
        // … and the canvas shows it there, in its label's colour.
        expect(caption.inked, `${caption.text} ${where}`).toBeGreaterThan(10);
      }
    }
    await snap(page, 'metrics-after-rollback');
    await context.close();
  });

  it('shows every tab of a prompt at phone width', async () => {
    const { context, page } = await newPage(PHONE);
    await signIn(page, ADMIN_KEY);
    await page.goto(`${server.url}/prompts/${GREETER}`);
    const tabs = page.getByRole('navigation', { name: `${GREETER} views` }).getByRole('link');
    await tabs.first().waitFor();
    expect(await tabs.allTextContents()).toEqual([
      'History',
      'Compare',
      'Deployments',
      'Metrics',
      'Evals',
      'Drift',
      'Rollouts',
      'Tenants',
    ]);
    for (const tab of await tabs.all()) {
      const box = (await tab.boundingBox())!;
      const name = await tab.textContent();
      expect(box.x, `${name}: ${JSON.stringify(box)}`).toBeGreaterThanOrEqual(0);
      expect(box.x + box.width, `${name}: ${JSON.stringify(box)}`).toBeLessThanOrEqual(PHONE.width);
    }
    await tabs.filter({ hasText: 'Evals' }).click();
    await page.locator('.evals-table tbody tr').first().waitFor();
    await context.close();
  });

  it('hides rollback from a viewer key', async () => {
    const { context, page } = await newPage();
    await signIn(page, VIEWER_KEY);
    expect(await page.getByTestId('identity').textContent()).toContain('viewer');
    await page.goto(`${server.url}/prompts/${GREETER}?tab=deployments`);
    await page.locator('.move').first().waitFor();
    await page.getByTestId('label-production').waitFor();
    expect(await page.getByRole('button', { name: /roll back/i }).count()).toBe(0);
    await context.close();
  });

  it('opens a rollout: the ramp, the decision log; hidden actions for a viewer; a deployer pauses and aborts it', async () => {
    // The demo's split of summarize_ticket v4 is running.
    const rollouts = (await api('GET', '/rollouts?prompt=summarize_ticket&state=running')) as {
      rollouts: { id: string }[];
    };
    expect(rollouts.rollouts).toHaveLength(1);
    const id = rollouts.rollouts[0]!.id;

    const viewer = await newPage();
    await signIn(viewer.page, VIEWER_KEY);
    await viewer.page.goto(`${server.url}/rollouts/${id}`);
    await viewer.page.getByTestId('rollout-decisions').waitFor();
    expect(await viewer.page.getByRole('button', { name: /pause|abort/i }).count()).toBe(0);
    await viewer.page.getByText('Deployers and admins can pause or abort this rollout.').waitFor();
    await viewer.context.close();

    const { context, page } = await newPage();
    await signIn(page, ADMIN_KEY);
    await page.getByRole('link', { name: 'Rollouts' }).click();
    await page.getByTestId(`rollout-${id}`).getByRole('link', { name: id }).click();
    await page.getByTestId('ramp-chart').waitFor();
    expect(await page.getByTestId('rollout-state').textContent()).toBe('running');
    expect(await page.locator('[data-testid="rollout-decisions"] tbody tr').first().getAttribute('data-action')).toBe(
      'start',
    );
    await snap(page, 'rollout');

    await page.getByRole('button', { name: 'Pause' }).click();
    await expect.poll(() => page.getByTestId('rollout-state').textContent()).toBe('paused');
    await page.getByRole('button', { name: 'Resume' }).waitFor();
    await page.getByRole('button', { name: 'Abort…' }).click();
    await page.getByLabel('Why abort?').fill('tone reads as too casual');
    await page.getByRole('button', { name: 'Abort rollout' }).click();
    await expect.poll(() => page.getByTestId('rollout-state').textContent()).toBe('aborted');
    expect(await page.getByTestId('rollout-reason').textContent()).toContain('tone reads as too casual');
    expect(await page.getByRole('button', { name: /pause|abort/i }).count()).toBe(0);
    await expect
      .poll(() =>
        page
          .locator('[data-testid="rollout-decisions"] tbody tr')
          .evaluateAll((rows) => rows.map((row) => row.getAttribute('data-action'))),
      )
      .toEqual(expect.arrayContaining(['pause', 'abort']));
    expect(await page.getByTestId('ramp-spans').textContent()).toContain('0 % aborted');

    // The greeter's shadow of v18, from its prompt's rollouts tab: the live assertion's guardrail aborted it.
    await page.goto(`${server.url}/prompts/${GREETER}?tab=rollouts`);
    await page.getByTestId('rollouts').getByRole('link').first().click();
    await expect.poll(() => page.getByTestId('rollout-state').textContent()).toBe('aborted');
    expect(await page.getByTestId('rollout-reason').textContent()).toContain('assertion_pass_rate');
    // Its pairs: v17 greeted by name, v18 (on the copies) did not; per-arm figures with their intervals.
    await page.getByTestId('shadow-pairs').waitFor();
    expect(await page.getByTestId('shadow-pairs').locator('tbody tr').first().textContent()).toMatch(/Hi \w+!/);
    expect(await page.getByTestId('arm-metric-error_rate').textContent()).toMatch(/%.*\[.*%.*\]/);
    await snap(page, 'rollout-shadow');
    // The pairs as a drift report, read on the prompt's drift tab.
    await page.getByRole('button', { name: 'Drift report from these pairs' }).click();
    await page.getByTestId('drift-detail').waitFor();
    expect(new URL(page.url()).searchParams.get('tab')).toBe('drift');
    expect(await page.getByTestId('drift-detail').textContent()).toMatch(/v18 drifted: .*mention the user's name/);
    await context.close();
  });

  it('filters the audit log by actor and prompt', async () => {
    const { context, page } = await newPage();
    await signIn(page, ADMIN_KEY);
    await page.goto(`${server.url}/audit`);
    await page.locator('tbody tr').first().waitFor();
    await snap(page, 'audit');
    await page.getByLabel('Actor').fill('bob');
    await page.getByLabel('Prompt').selectOption(GREETER);
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await expect.poll(() => new URL(page.url()).searchParams.get('actor')).toBe('bob');
    await expect
      .poll(async () => new Set(await page.locator('tbody tr td:nth-child(3)').allTextContents()))
      .toEqual(new Set(['bob']));
    const targets = await page.locator('tbody tr td:nth-child(5)').allTextContents();
    expect(targets.length).toBeGreaterThan(0);
    expect(targets.every((target) => target.startsWith(`${GREETER}@`) || target.startsWith(`${GREETER}:`))).toBe(true);
    await context.close();
  });

  it('wrote every screenshot the README shows, from this run', () => {
    const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');
    const shown = [...readme.matchAll(/!\[[^\]]*\]\((docs\/images\/[^)]+\.png)\)/g)].map((match) => match[1]);
    expect(shown.length).toBeGreaterThan(0);
    expect([...new Set(shown)].sort()).toEqual([...docsWritten].sort());
  });

  it('raised no uncaught error in any page', () => {
    expect(pageErrors).toEqual([]);
  });

  it('runs under its Content-Security-Policy without a single violation in any page', async () => {
    const index = await fetch(`${server.url}/`);
    await index.text();
    expect(index.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(cspViolations).toEqual([]);
  });
});
