import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KeyRecord, PolicyRecord } from '@promptops/core';
import { run } from './helpers.js';
import { startRegistry, type Registry } from './registry.js';

/** `promptops keys create --tenant` and `policy set --tenant-self-service` against a real server. */

describe('promptops tenant-scoped keys', () => {
  let registry: Registry;
  const cli = (argv: string[], env: Record<string, string> = registry.env) => run(argv, { env });

  beforeAll(async () => {
    registry = await startRegistry();
  });
  afterAll(async () => {
    await registry.close();
  });

  it('creates a key scoped to a tenant, lists it with its tenant; the key is refused other routes', async () => {
    const created = await cli(['keys', 'create', 'acme portal', '--role', 'editor', '--tenant', 'acme']);
    expect(created.code, created.stderr).toBe(0);
    const secret = created.stdout.trim();
    expect(secret).toMatch(/^po_/);
    expect(created.stderr).toContain('editor, tenant acme');
    const listed = await cli(['keys', 'list', '--json']);
    expect(listed.json<{ keys: KeyRecord[] }>().keys.find((k) => k.name === 'acme portal')).toMatchObject({
      tenant: 'acme',
    });
    expect((await cli(['keys', 'list'])).stdout).toMatch(/acme portal\s+editor, tenant acme/);

    const refused = await cli(['keys', 'list', '--json'], { ...registry.env, PROMPTOPS_API_KEY: secret });
    expect(refused.code).toBe(1);
    expect(refused.json()).toMatchObject({ error: { code: 'tenant_scope' } });
  });

  it('refuses a bad tenant id (usage) and a tenant key above editor (the server names the role)', async () => {
    const bad = await cli(['keys', 'create', 'x', '--role', 'viewer', '--tenant', 'a/b']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('is not a tenant id');
    const admin = await cli(['keys', 'create', 'x', '--role', 'admin', '--tenant', 'acme', '--json']);
    expect(admin.code).toBe(1);
    expect(admin.json()).toMatchObject({ error: { code: 'invalid_request', issues: [{ path: 'role' }] } });
  });

  it('policy set --tenant-self-service records it and says so', async () => {
    const set = await cli(['policy', 'set', 'production', '--tenant-self-service', '--json']);
    expect(set.code, set.stderr).toBe(0);
    expect(set.json<{ policy: PolicyRecord }>().policy).toMatchObject({ protected: true, tenantSelfService: true });
    const text = await cli(['policy', 'set', 'production', '--tenant-self-service']);
    expect(text.stdout).toContain("tenant keys may change their own tenant's overrides");
    const off = await cli(['policy', 'set', 'production', '--json']);
    expect(off.json<{ policy: PolicyRecord }>().policy.tenantSelfService).toBe(false);
  });
});
