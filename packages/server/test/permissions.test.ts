import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACCESS_ROLES } from '@promptops/core';
import { PERMISSIONS, roleAllows, type Permission } from '../src/auth/permissions.js';
import { buildApp } from '../src/app/app.js';
import { ROLES } from '../src/access/store.js';
import { DIALECTS, openTestRegistry, type TestRegistry } from './support/registry.js';

/**
 * Authorization lives in one place. This test enumerates every route the app registers and fails if a
 * guarded one declares no permission, then calls every route with every role and checks allow or deny.
 */

interface RouteInfo {
  method: string;
  url: string;
  permission: Permission | undefined;
}

/** Langfuse's prompt API: read like prompts, written like a push (its labels need a deployer, checked by the service). */
const LANGFUSE_ROUTES: Record<string, Permission> = {
  'GET /api/public/v2/prompts': 'prompts:read',
  'GET /api/public/v2/prompts/:name': 'prompts:read',
  'POST /api/public/v2/prompts': 'prompts:write',
};

/** Routes of key, member and project management, which the matrix must cover. */
const ACCESS_ROUTES = [
  'GET /api/v1/keys',
  'GET /api/v1/keys/:keyId',
  'POST /api/v1/keys',
  'POST /api/v1/keys/:keyId/rotate',
  'POST /api/v1/keys/:keyId/revoke',
  'GET /api/v1/members',
  'GET /api/v1/members/:name',
  'POST /api/v1/members',
  'PATCH /api/v1/members/:name',
  'DELETE /api/v1/members/:name',
  'GET /api/v1/projects',
  'POST /api/v1/projects',
];

/** Drift reports: read by viewers, built (and stored) by editors. */
const DRIFT_ROUTES: Record<string, Permission> = {
  'POST /api/v1/drift': 'drift:write',
  'GET /api/v1/drift/:id': 'drift:read',
  'GET /api/v1/prompts/:name/drift': 'drift:read',
};

for (const dialect of DIALECTS)
  describe(`route permissions on ${dialect}`, () => {
    let registry: TestRegistry;
    const routes: RouteInfo[] = [];

    beforeAll(async () => {
      registry = await openTestRegistry(dialect);
      const app = await buildApp({ storage: registry.storage, onRoute: (route) => routes.push(route) });
      await app.close();
    });
    afterAll(async () => {
      await registry.close();
    });

    it('every guarded route declares a permission', () => {
      const guarded = routes.filter((r) => r.url.startsWith('/api/') || r.url.startsWith('/v1/'));
      expect(guarded.length).toBeGreaterThanOrEqual(40);
      for (const route of guarded) expect(route.permission, `${route.method} ${route.url}`).toBeDefined();
      const names = routes.map((r) => `${r.method} ${r.url}`);
      for (const route of ACCESS_ROUTES) expect(names).toContain(route);
      for (const [route, permission] of Object.entries(DRIFT_ROUTES)) {
        expect(routes.find((r) => `${r.method} ${r.url}` === route)?.permission, route).toBe(permission);
      }
      expect([PERMISSIONS['drift:read'], PERMISSIONS['drift:write']]).toEqual(['viewer', 'editor']);
    });

    it('refuses to register a guarded route without a permission', async () => {
      const app = await buildApp({ storage: registry.storage });
      expect(() => app.get('/api/v1/forgotten', async () => ({ secret: true }))).toThrow(/declares no permission/);
      await app.close();
    });

    it('the Langfuse-compatible routes declare the permissions of their promptops counterparts', () => {
      for (const [route, permission] of Object.entries(LANGFUSE_ROUTES)) {
        expect(routes.find((r) => `${r.method} ${r.url}` === route)?.permission, route).toBe(permission);
      }
    });

    it('every role is allowed exactly the routes its rank grants (role x route matrix)', async () => {
      const sample = (url: string): string =>
        url
          .replace(':name', 'matrix')
          .replace(':ref', 'v1')
          .replace(':label', 'production')
          .replace(':keyId', '0123456789abcdef')
          .replace(':baseId', '2')
          .replace(':team', 'support')
          .replace(':id', '1');
      let checked = 0;
      const inMatrix = (r: RouteInfo): boolean =>
        r.url.startsWith('/api/') || r.url === '/v1/chat/completions' || r.url === '/metrics';
      for (const route of routes.filter((r) => inMatrix(r) && r.method !== 'HEAD')) {
        // The change stream never ends by itself: take its status from the headers, then drop the stream.
        const streaming = route.url === '/api/v1/stream';
        for (const role of ROLES) {
          const response = await registry.app.inject({
            method: route.method as 'GET',
            url: sample(route.url),
            headers: { authorization: `Bearer ${registry.keys[role]}` },
            ...(route.method === 'GET' ? {} : { payload: {} }),
            ...(streaming ? { payloadAsStream: true } : {}),
          });
          if (streaming) response.stream().destroy();
          const allowed = roleAllows(role, route.permission!);
          if (allowed) expect(response.statusCode, `${role} ${route.method} ${route.url}`).not.toBe(403);
          else expect(response.statusCode, `${role} ${route.method} ${route.url}`).toBe(403);
          // Nothing in the matrix may fail for any other reason than the request itself.
          expect(response.statusCode, `${role} ${route.method} ${route.url}`).toBeLessThan(500);
          if (allowed) expect(response.statusCode, `${role} ${route.method} ${route.url}`).not.toBe(401);
          checked += 1;
        }
      }
      expect(checked).toBeGreaterThanOrEqual((12 + ACCESS_ROUTES.length) * ROLES.length);
      // The gateway is in the matrix: a viewer is refused, an editor reaches it.
      expect(routes.map((r) => `${r.method} ${r.url}`)).toContain('POST /v1/chat/completions');
      // The rollouts routes are in it too: viewers read them, deployers act on them.
      const rollouts = routes.filter((r) => r.url.includes('rollouts') && r.method !== 'HEAD');
      expect(Object.fromEntries(rollouts.map((r) => [`${r.method} ${r.url}`, r.permission]))).toEqual({
        'POST /api/v1/prompts/:name/rollouts': 'rollouts:write',
        'GET /api/v1/rollouts': 'rollouts:read',
        'GET /api/v1/rollouts/:id': 'rollouts:read',
        'POST /api/v1/rollouts/:id/pause': 'rollouts:write',
        'POST /api/v1/rollouts/:id/resume': 'rollouts:write',
        'POST /api/v1/rollouts/:id/advance': 'rollouts:write',
        'POST /api/v1/rollouts/:id/abort': 'rollouts:write',
        'PUT /api/v1/rollouts/:id/rules': 'rollouts:write',
        'POST /api/v1/rollouts/:id/kill': 'rollouts:write',
      });
      expect([PERMISSIONS['rollouts:read'], PERMISSIONS['rollouts:write']]).toEqual(['viewer', 'deployer']);
      // A label's own targeting rules: viewers read them, deployers set and clear them.
      const labelRules = routes.filter((r) => r.url.endsWith('/labels/:label/rules') && r.method !== 'HEAD');
      expect(Object.fromEntries(labelRules.map((r) => [`${r.method} ${r.url}`, r.permission]))).toEqual({
        'GET /api/v1/prompts/:name/labels/:label/rules': 'prompts:read',
        'PUT /api/v1/prompts/:name/labels/:label/rules': 'labels:write',
        'DELETE /api/v1/prompts/:name/labels/:label/rules': 'labels:write',
      });
      expect(PERMISSIONS['labels:write']).toBe('deployer');
    });

    it('the permission table only names roles that exist', () => {
      for (const role of Object.values(PERMISSIONS)) expect(ROLES).toContain(role);
      // The public role list (core) is the server's, in the same order.
      expect(ACCESS_ROLES).toEqual(ROLES);
    });
  });
