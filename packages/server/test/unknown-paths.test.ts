import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootstrap } from '../src/auth/bootstrap.js';
import { systemClock } from '../src/context.js';
import { buildApp } from '../src/app/app.js';
import { DASHBOARD_SECTIONS } from '../src/app/web.js';
import { createStorage, type Stores } from '../src/app/stores.js';
import { ADMIN_KEY, freshDbUrl } from './support/registry.js';

/**
 * Only the dashboard's own routes get its index.html: any other path (/metrics/x, /v2/..., /graphql, a
 * scanner's /.env) is a 404 in the API's error shape, not a 200 page that looks like success.
 */

describe('paths that are neither API routes nor dashboard routes', () => {
  let dist: string;
  let storage: Stores;
  let app: FastifyInstance;
  let cleanup: () => void;

  beforeAll(async () => {
    dist = mkdtempSync(join(tmpdir(), 'promptops-web-dist-'));
    mkdirSync(join(dist, 'assets'));
    writeFileSync(join(dist, 'index.html'), '<!doctype html><div id="root"></div>');
    const db = await freshDbUrl('sqlite');
    cleanup = db.cleanup;
    storage = await createStorage(db.url);
    await bootstrap(storage, systemClock, { initAdminKey: ADMIN_KEY, dataDir: dist, url: 'http://test' });
    app = await buildApp({ storage, webRoot: dist });
  });
  afterAll(async () => {
    await app.close();
    await storage.close();
    cleanup();
    rmSync(dist, { recursive: true, force: true });
  });

  const get = (url: string, options: { key?: boolean; method?: 'GET' | 'HEAD' } = {}) =>
    app.inject({
      method: options.method ?? 'GET',
      url,
      headers: options.key === true ? { authorization: `Bearer ${ADMIN_KEY}` } : {},
    });

  it('answers them 404 with a JSON error, with or without a key', async () => {
    for (const url of [
      '/metrics/x',
      '/metricsx?format=prometheus',
      '/prometheus/metrics',
      '/v2/traces',
      '/apis/x',
      '/graphql',
      '/.env',
      '/wp-admin/setup.php',
      '/prompt',
      '/promptsx',
      '/health',
    ]) {
      for (const key of [false, true]) {
        const response = await get(url, { key });
        expect(response.statusCode, `${url} key=${key}`).toBe(404);
        expect(response.headers['content-type'], url).toContain('application/json');
        expect(response.json(), url).toEqual({
          error: {
            code: 'route_not_found',
            message: `no route GET ${url.split('?')[0]}`,
            fix: 'see GET /api/v1/openapi.json',
          },
        });
      }
    }
    expect((await get('/metrics/x', { method: 'HEAD' })).statusCode).toBe(404);
  });

  it('answers unknown /api and /v1 paths 404 JSON once the key is valid', async () => {
    for (const url of ['/api/v1/anything', '/api/anything', '/v1/anything', '/v1/traces/x']) {
      const response = await get(url, { key: true });
      expect(response.statusCode, url).toBe(404);
      expect(response.json<{ error: { code: string } }>().error.code, url).toBe('route_not_found');
    }
  });

  it("still answers the dashboard's client-side routes with index.html", async () => {
    for (const url of [
      '/',
      '/index.html',
      '/prompts',
      '/prompts/',
      '/prompts/support%2Fgreeter?tab=evals',
      '/traces',
      '/traces/4481',
      '/reviews',
      '/reviews/2',
      '/audit',
      '/audit?actor=alice',
    ]) {
      const response = await get(url);
      expect(response.statusCode, url).toBe(200);
      expect(response.headers['content-type'], url).toContain('text/html');
    }
  });

  it("knows every section the dashboard's router matches", () => {
    // packages/web/src/app/app.tsx routes with matchPath('/section...'): a new page must be served too.
    const app = readFileSync(new URL('../../web/src/app/app.tsx', import.meta.url), 'utf8');
    const routed = new Set([...app.matchAll(/matchPath\('\/([\w-]+)/g)].map((match) => match[1]));
    expect(routed.size).toBeGreaterThan(0);
    expect([...routed].sort()).toEqual([...DASHBOARD_SECTIONS].sort());
  });
});
