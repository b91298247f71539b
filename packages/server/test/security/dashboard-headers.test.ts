import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app/app.js';
import { openTestRegistry, type TestRegistry } from '../support/registry.js';
import { openSse } from '../support/sse.js';

/**
 * The dashboard is sent with a Content-Security-Policy that allows only its own files (no inline script,
 * no other origin, no framing), X-Frame-Options, X-Content-Type-Options and a Referrer-Policy; every API
 * answer (JSON, errors, the event stream) is sent with X-Content-Type-Options too, and may not be framed.
 */

/** `directive source…; …` as a map, so the test reads the policy as a browser does. */
const directives = (policy: string | undefined): Map<string, string[]> =>
  new Map(
    (policy ?? '')
      .split(';')
      .map((part) => part.trim().split(/\s+/))
      .filter((words) => words[0] !== '')
      .map(([name, ...sources]) => [name!.toLowerCase(), sources]),
  );

const headersOf = (response: { headers: Record<string, unknown> }) => response.headers as Record<string, string>;

describe('security headers', () => {
  let dist: string;
  let registry: TestRegistry;
  let app: FastifyInstance;

  beforeAll(async () => {
    dist = mkdtempSync(join(tmpdir(), 'promptops-web-dist-'));
    mkdirSync(join(dist, 'assets'));
    writeFileSync(join(dist, 'index.html'), '<!doctype html><div id="root"></div>');
    writeFileSync(join(dist, 'assets', 'index-abc123.js'), 'console.log(1)');
    writeFileSync(join(dist, 'robots.txt'), 'User-agent: *');
    registry = await openTestRegistry('sqlite');
    app = await buildApp({ storage: registry.storage, webRoot: dist });
  });
  afterAll(async () => {
    app.server.closeAllConnections();
    await app.close();
    await registry.close();
    rmSync(dist, { recursive: true, force: true });
  });

  const get = (url: string, key?: string) =>
    app.inject({ method: 'GET', url, ...(key === undefined ? {} : { headers: { authorization: `Bearer ${key}` } }) });

  it('sends the dashboard with a policy that allows only its own files, and refuses framing', async () => {
    for (const url of [
      '/',
      '/prompts/customer_support_greeter?tab=history',
      '/assets/index-abc123.js',
      '/robots.txt',
    ]) {
      const response = await get(url);
      expect(response.statusCode, url).toBe(200);
      const headers = headersOf(response);
      const csp = directives(headers['content-security-policy']);
      expect(csp.get('default-src'), url).toEqual(["'self'"]);
      expect(csp.get('script-src'), url).toEqual(["'self'"]); // no inline script, no eval, no other origin
      expect(csp.get('style-src'), url).toEqual(["'self'"]);
      expect(csp.get('connect-src'), url).toEqual(["'self'"]);
      expect(csp.get('img-src'), url).toEqual(["'self'", 'data:']); // the favicon is `data:,`
      expect(csp.get('object-src'), url).toEqual(["'none'"]);
      expect(csp.get('base-uri'), url).toEqual(["'none'"]);
      expect(csp.get('form-action'), url).toEqual(["'self'"]);
      expect(csp.get('frame-ancestors'), url).toEqual(["'none'"]);
      expect(headers['x-frame-options'], url).toBe('DENY');
      expect(headers['x-content-type-options'], url).toBe('nosniff');
      expect(headers['referrer-policy'], url).toBe('same-origin');
    }
  });

  it('sends X-Content-Type-Options and no framing with every API answer, errors included', async () => {
    const answers = [
      await get('/api/v1/me', registry.keys.viewer), // 200 JSON
      await get('/api/v1/me'), // 401
      await get('/api/v1/prompts/nope', registry.keys.viewer), // 404 from a route
      await get('/api/v1/nothing', registry.keys.viewer), // 404 without a route
      await get('/api/v1/audit?limit=nope', registry.keys.viewer), // 400
      await get('/healthz'),
      await get('/assets/..%2Findex.html'), // an asset path that is not one: the JSON 404
    ];
    expect(answers.map((response) => response.statusCode)).toEqual([200, 401, 404, 404, 400, 200, 404]);
    for (const response of answers) {
      const headers = headersOf(response);
      expect(headers['x-content-type-options'], response.body).toBe('nosniff');
      expect(directives(headers['content-security-policy']).get('frame-ancestors'), response.body).toEqual(["'none'"]);
      expect(directives(headers['content-security-policy']).get('default-src'), response.body).toEqual(["'none'"]);
    }
  });

  it('sends X-Content-Type-Options with the event stream', async () => {
    await app.listen({ port: 0, host: '127.0.0.1' });
    const address = app.server.address();
    if (typeof address !== 'object' || address === null) throw new Error('no address');
    const stream = await openSse(`http://127.0.0.1:${address.port}/api/v1/stream`, {
      authorization: `Bearer ${registry.keys.viewer}`,
    });
    try {
      expect(stream.status).toBe(200);
      expect(stream.headers.get('x-content-type-options')).toBe('nosniff');
    } finally {
      await stream.close();
    }
  });

  it('sends them from a server that serves no dashboard', async () => {
    const bare = await buildApp({ storage: registry.storage });
    try {
      const response = await bare.inject({ method: 'GET', url: '/api/v1/me' });
      expect(response.statusCode).toBe(401);
      expect(response.headers['x-content-type-options']).toBe('nosniff');
    } finally {
      await bare.close();
    }
  });
});
