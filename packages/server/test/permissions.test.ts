import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PERMISSIONS, roleAllows, type Permission } from '../src/auth/permissions.js';
import { buildApp } from '../src/http/app.js';
import { ROLES } from '../src/storage/port.js';
import { openTestRegistry, type TestRegistry } from './support/registry.js';

/**
 * Authorization lives in one place. This test enumerates every route the app registers and fails if a
 * guarded one declares no permission, then calls every route with every role and checks allow or deny.
 */

interface RouteInfo {
  method: string;
  url: string;
  permission: Permission | undefined;
}

describe('route permissions', () => {
  let registry: TestRegistry;
  const routes: RouteInfo[] = [];

  beforeAll(async () => {
    registry = await openTestRegistry('sqlite');
    const app = await buildApp({ storage: registry.storage, onRoute: (route) => routes.push(route) });
    await app.close();
  });
  afterAll(async () => {
    await registry.close();
  });

  it('every guarded route declares a permission', () => {
    const guarded = routes.filter((r) => r.url.startsWith('/api/') || r.url.startsWith('/v1/'));
    expect(guarded.length).toBeGreaterThanOrEqual(30);
    for (const route of guarded) expect(route.permission, `${route.method} ${route.url}`).toBeDefined();
  });

  it('refuses to register a guarded route without a permission', async () => {
    const app = await buildApp({ storage: registry.storage });
    expect(() => app.get('/api/v1/forgotten', async () => ({ secret: true }))).toThrow(/declares no permission/);
    await app.close();
  });

  it('every role is allowed exactly the routes its rank grants (role x route matrix)', async () => {
    const sample = (url: string): string =>
      url
        .replace(':name', 'matrix')
        .replace(':ref', 'v1')
        .replace(':label', 'production')
        .replace(':id', '1')
        .replace(':baseId', '2')
        .replace(':team', 'support');
    for (const route of routes.filter((r) => r.url.startsWith('/api/') && r.method !== 'HEAD')) {
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
      }
    }
  });

  it('the permission table only names roles that exist', () => {
    for (const role of Object.values(PERMISSIONS)) expect(ROLES).toContain(role);
  });
});
