import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../src/app/app.js';
import { createStorage, type Stores } from '../src/app/stores.js';
import { DIALECTS, freshDbUrl, openTestRegistry, textContent, type TestRegistry } from './support/registry.js';

/** What the server adds for the dashboard: its static files, and the audit log's actor / prompt filters. */

describe('serving the built dashboard', () => {
  let dist: string;
  let storage: Stores;
  let app: FastifyInstance;
  let cleanup: () => void;
  const permissions = new Map<string, string | undefined>();

  beforeAll(async () => {
    dist = mkdtempSync(join(tmpdir(), 'promptops-web-dist-'));
    mkdirSync(join(dist, 'assets'));
    writeFileSync(join(dist, 'index.html'), '<!doctype html><div id="root"></div>');
    writeFileSync(join(dist, 'assets', 'index-abc123.js'), 'console.log(1)');
    writeFileSync(join(dist, 'robots.txt'), 'User-agent: *');
    const db = await freshDbUrl('sqlite');
    cleanup = db.cleanup;
    storage = await createStorage(db.url);
    app = await buildApp({
      storage,
      webRoot: dist,
      onRoute: (route) => permissions.set(`${route.method} ${route.url}`, route.permission),
    });
  });
  afterAll(async () => {
    await app.close();
    await storage.close();
    cleanup();
    rmSync(dist, { recursive: true, force: true });
  });

  const get = (url: string, method: 'GET' | 'HEAD' | 'POST' = 'GET') => app.inject({ method, url });

  it('answers the dashboard paths with index.html, never cached', async () => {
    for (const url of [
      '/',
      '/index.html',
      '/prompts',
      '/prompts/support%2Fgreeter?tab=compare',
      '/traces/4481',
      '/audit',
    ]) {
      const response = await get(url);
      expect(response.statusCode, url).toBe(200);
      expect(response.headers['content-type']).toContain('text/html');
      expect(response.headers['cache-control']).toBe('no-cache');
      expect(response.body).toContain('<div id="root">');
    }
    expect((await get('/prompts', 'HEAD')).statusCode).toBe(200);
  });

  it('serves hashed assets for good, and assets added by a rebuild while running', async () => {
    const asset = await get('/assets/index-abc123.js');
    expect(asset.statusCode).toBe(200);
    expect(asset.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    writeFileSync(join(dist, 'assets', 'index-def456.js'), 'console.log(2)');
    expect((await get('/assets/index-def456.js')).body).toBe('console.log(2)');
    expect((await get('/assets/missing.js')).statusCode).toBe(404);
    for (const escape of ['/assets/..%2Findex.html', '/assets/..%2F..%2Fpackage.json', '/assets/']) {
      expect((await get(escape)).statusCode, escape).toBe(404);
    }
    expect((await get('/robots.txt')).body).toBe('User-agent: *');
  });

  it('keeps the API behind the key: unknown /api and /v1 paths are 401, not the dashboard', async () => {
    expect((await get('/api/v1/nothing')).statusCode).toBe(401);
    expect((await get('/v1/nothing')).statusCode).toBe(401);
    expect((await get('/api/v1/prompts')).statusCode).toBe(401);
    expect((await get('/prompts', 'POST')).statusCode).toBe(404);
  });

  it('declares every dashboard route public', () => {
    const web = [...permissions].filter(([route]) => / \/(assets|robots)/.test(route));
    expect(web.length).toBeGreaterThan(0);
    expect(web.every(([, permission]) => permission === 'public')).toBe(true);
  });

  it('serves no dashboard when not given one', async () => {
    const bare = await buildApp({ storage });
    expect((await bare.inject({ method: 'GET', url: '/' })).statusCode).toBe(404);
    await bare.close();
  });
});

describe.each(DIALECTS)('audit log filters on %s', (dialect) => {
  let registry: TestRegistry;
  const audit = async (query: string) => {
    const response = await registry.app.inject({
      method: 'GET',
      url: `/api/v1/audit?${query}`,
      headers: { authorization: `Bearer ${registry.keys.viewer}` },
    });
    expect(response.statusCode, response.body).toBe(200);
    return response.json<{ entries: { seq: number; actor: string; target: string }[]; next: number | null }>();
  };

  beforeAll(async () => {
    registry = await openTestRegistry(dialect);
    const push = async (name: string, template: string, parent: string | null, key: string) => {
      const response = await registry.app.inject({
        method: 'POST',
        url: `/api/v1/prompts/${encodeURIComponent(name)}/versions`,
        headers: { authorization: `Bearer ${key}` },
        payload: { content: textContent(name, template), parent },
      });
      return response.json<{ sha: string }>().sha;
    };
    // `a` and `a_b`: a prompt's filter must not match another prompt whose name it prefixes.
    const first = await push('a', 'one', null, registry.keys.editor);
    await push('a_b', 'two', null, registry.keys.deployer);
    await push('a', 'three', first, registry.keys.deployer);
    await registry.app.inject({
      method: 'PUT',
      url: '/api/v1/prompts/a/labels/production',
      headers: { authorization: `Bearer ${registry.keys.deployer}` },
      payload: { ref: 'v1', reason: 'first' },
    });
  });
  afterAll(async () => {
    await registry.close();
  });

  it('filters by actor and by prompt (its versions and its labels)', async () => {
    expect((await audit('actor=key:editor')).entries.map((entry) => entry.target)).toEqual(['a@v1']);
    expect((await audit('prompt=a')).entries.map((entry) => entry.target)).toEqual(['a@v1', 'a@v2', 'a:production']);
    expect((await audit('prompt=a&actor=key:deployer')).entries.map((entry) => entry.target)).toEqual([
      'a@v2',
      'a:production',
    ]);
    expect((await audit('prompt=a_b')).entries.map((entry) => entry.target)).toEqual(['a_b@v1']);
    expect((await audit('actor=nobody')).entries).toEqual([]);
  });

  it('pages newest first with order=desc and before', async () => {
    const all = (await audit('limit=100')).entries.map((entry) => entry.seq);
    const newest = await audit('order=desc&limit=2');
    expect(newest.entries.map((entry) => entry.seq)).toEqual(all.slice(-2).reverse());
    expect(newest.next).toBe(all.at(-2));
    const older = await audit(`order=desc&limit=100&before=${newest.next}`);
    expect(older.entries.map((entry) => entry.seq)).toEqual(all.slice(0, -2).reverse());
    expect(older.next).toBeNull();
  });
});
