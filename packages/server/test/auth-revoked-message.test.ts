import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call } from './support/http.js';
import { DIALECTS, openTestRegistry, type TestRegistry } from './support/registry.js';

/** A revoked key is told it was revoked, not that it is "not valid". */

type ErrorReply = { error: { code: string; message: string; fix: string } };

describe.each(DIALECTS)('refused keys on %s', (dialect) => {
  let registry: TestRegistry;
  beforeAll(async () => {
    registry = await openTestRegistry(dialect);
  });
  afterAll(async () => {
    await registry.close();
  });

  it('says "revoked" to a revoked key, with how to get a new one', async () => {
    const created = await call<{ key: { keyId: string }; secret: string }>(
      registry.app,
      'POST',
      '/api/v1/keys',
      registry.keys.admin,
      { name: 'ci', role: 'editor' },
    );
    expect(created.status).toBe(201);
    expect((await call(registry.app, 'GET', '/api/v1/me', created.body.secret)).status).toBe(200);
    const revoked = await call(
      registry.app,
      'POST',
      `/api/v1/keys/${created.body.key.keyId}/revoke`,
      registry.keys.admin,
      {},
    );
    expect(revoked.status).toBe(200);

    const refused = await call<ErrorReply>(registry.app, 'GET', '/api/v1/me', created.body.secret);
    expect(refused.status).toBe(401);
    expect(refused.body.error.code).toBe('unauthorized');
    expect(refused.body.error.message).toContain('has been revoked');
    expect(refused.body.error.message).not.toContain('not valid');
    expect(refused.body.error.fix).toContain('promptops keys create');
  });

  it('still says "not valid" to a key that matches nothing', async () => {
    const refused = await call<ErrorReply>(registry.app, 'GET', '/api/v1/me', 'po_no_such_key_0000000000000000000');
    expect(refused.status).toBe(401);
    expect(refused.body.error.message).toBe('the API key is not valid');
  });
});
