import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS, openTestRegistry, textContent, type TestRegistry } from './support/registry.js';

const json = (body: unknown): Record<string, unknown> => body as Record<string, unknown>;

describe.each(DIALECTS)('registry API on %s', (dialect) => {
  let registry: TestRegistry;
  const call = async (method: 'GET' | 'POST' | 'PUT', url: string, body?: unknown, key?: string | null) => {
    const response = await registry.app.inject({
      method,
      url,
      headers: key === null ? {} : { authorization: `Bearer ${key ?? registry.keys.admin}` },
      ...(body === undefined ? {} : { payload: body as Record<string, unknown> }),
    });
    return { status: response.statusCode, body: json(response.json()), raw: response.body };
  };
  const push = (name: string, content: unknown, parent: string | null, message = 'change', key?: string) =>
    call('POST', `/api/v1/prompts/${encodeURIComponent(name)}/versions`, { content, parent, message }, key);

  beforeAll(async () => {
    registry = await openTestRegistry(dialect);
  });
  afterAll(async () => {
    await registry.close();
  });

  it('pushes versions with a parent chain, idempotent on content whatever the key order', async () => {
    const v1 = await push(
      'greeter',
      textContent('greeter', 'Hello {{user_name}}', { user_name: { type: 'string', required: true } }),
      null,
    );
    expect(v1.status).toBe(201);
    expect(v1.body).toMatchObject({
      created: true,
      name: 'greeter',
      version: 1,
      parentSha: null,
      author: 'key:admin',
      message: 'change',
    });
    expect(v1.body['sha']).toMatch(/^[0-9a-f]{64}$/);

    const reordered = {
      slots: {},
      variables: { user_name: { required: true, type: 'string' } },
      template: 'Hello {{user_name}}',
      config: { params: {}, model: 'gpt-4o-mini', provider: 'openai' },
      type: 'text',
      name: 'greeter',
    };
    const again = await push('greeter', reordered, null);
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ created: false, version: 1, sha: v1.body['sha'] });

    const v2 = await push(
      'greeter',
      textContent('greeter', 'Hi {{user_name}}', { user_name: { type: 'string', required: true } }),
      v1.body['sha'] as string,
      'shorter',
      registry.keys.editor,
    );
    expect(v2.status).toBe(201);
    expect(v2.body).toMatchObject({ version: 2, parentSha: v1.body['sha'], author: 'key:editor' });

    const log = await call('GET', '/api/v1/prompts/greeter/versions');
    expect((log.body['versions'] as { version: number; labels: string[] }[]).map((v) => [v.version, v.labels])).toEqual(
      [
        [2, ['latest']],
        [1, []],
      ],
    );
  });

  it('refuses a push on a stale parent with 409 naming the head', async () => {
    const head = await call('GET', '/api/v1/prompts/greeter');
    const stale = await push(
      'greeter',
      textContent('greeter', 'Yo {{user_name}}', { user_name: { type: 'string', required: true } }),
      null,
    );
    expect(stale.status).toBe(409);
    expect(json(stale.body['error'])).toMatchObject({
      code: 'stale_parent',
      details: { head: { version: 2, sha: head.body['sha'] } },
    });
    expect(String(json(stale.body['error'])['message'])).toContain('head is now v2');
    const log = await call('GET', '/api/v1/prompts/greeter/versions');
    expect((log.body['versions'] as unknown[]).length).toBe(2);
  });

  it('shows by version, sha prefix and label, and diffs any two refs', async () => {
    const v1 = await call('GET', '/api/v1/prompts/greeter/versions/v1');
    expect(v1.body).toMatchObject({ version: 1, content: { template: 'Hello {{user_name}}' } });
    const byPrefix = await call('GET', `/api/v1/prompts/greeter/versions/${String(v1.body['sha']).slice(0, 7)}`);
    expect(byPrefix.body['version']).toBe(1);
    const latest = await call('GET', '/api/v1/prompts/greeter/versions/latest');
    expect(latest.body).toMatchObject({ version: 2, labels: ['latest'] });
    const diff = await call('GET', '/api/v1/prompts/greeter/diff?from=v1&to=latest');
    expect(diff.status).toBe(200);
    const lines = json(diff.body['diff'])['lines'] as { op: string; text: string }[];
    expect(lines.filter((l) => l.op !== 'equal')).toEqual([
      expect.objectContaining({ op: 'remove', text: 'Hello {{user_name}}' }),
      expect.objectContaining({ op: 'add', text: 'Hi {{user_name}}' }),
    ]);
    expect((await call('GET', '/api/v1/prompts/greeter/versions/v9')).status).toBe(404);
    expect((await call('GET', '/api/v1/prompts/greeter/versions/staging')).body).toMatchObject({
      error: { code: 'label_not_found' },
    });
    expect((await call('GET', '/api/v1/prompts/greeter/versions/NOT_A_REF')).body).toMatchObject({
      error: { code: 'invalid_ref' },
    });
  });

  it('promotes, rolls back in one call, and keeps the whole history with actor and reason', async () => {
    const p1 = await call(
      'PUT',
      '/api/v1/prompts/greeter/labels/production',
      { ref: 'v1', reason: 'first release' },
      registry.keys.deployer,
    );
    expect(p1.status).toBe(200);
    expect(p1.body).toMatchObject({
      changed: true,
      label: { label: 'production', version: 1 },
      deployment: { kind: 'promote', fromSha: null, actor: 'key:deployer' },
    });
    const same = await call('PUT', '/api/v1/prompts/greeter/labels/production', { ref: 'v1' });
    expect(same.body).toMatchObject({ changed: false, deployment: null });
    await call('PUT', '/api/v1/prompts/greeter/labels/production', { ref: 'v2', reason: 'shorter greeting' });

    const rollback = await call(
      'POST',
      '/api/v1/prompts/greeter/labels/production/rollback',
      { reason: 'customers complain' },
      registry.keys.deployer,
    );
    expect(rollback.status).toBe(200);
    expect(rollback.body).toMatchObject({
      label: { version: 1 },
      deployment: { kind: 'rollback', fromVersion: 2, toVersion: 1, reason: 'customers complain' },
    });
    expect(typeof rollback.body['elapsedMs']).toBe('number');
    expect((await call('GET', '/api/v1/prompts/greeter/versions/production')).body['version']).toBe(1);

    // Nothing held before v1: a second rollback has nowhere to go and says so.
    const again = await call('POST', '/api/v1/prompts/greeter/labels/production/rollback', {});
    expect(again.status).toBe(422);
    expect(again.body).toMatchObject({ error: { code: 'nothing_to_roll_back' } });

    const history = await call('GET', '/api/v1/prompts/greeter/deployments?label=production');
    const moves = history.body['deployments'] as Record<string, unknown>[];
    expect(moves.map((d) => [d['kind'], d['fromVersion'], d['toVersion'], d['actor'], d['reason']])).toEqual([
      ['rollback', 2, 1, 'key:deployer', 'customers complain'],
      ['promote', 1, 2, 'key:admin', 'shorter greeting'],
      ['promote', null, 1, 'key:deployer', 'first release'],
    ]);
  });

  it('rolls back --to only a version the label held, and never moves latest by hand', async () => {
    await push(
      'greeter',
      textContent('greeter', 'Hey {{user_name}}', { user_name: { type: 'string', required: true } }),
      (await call('GET', '/api/v1/prompts/greeter')).body['sha'] as string,
    );
    const never = await call('POST', '/api/v1/prompts/greeter/labels/production/rollback', { to: 'v3' });
    expect(never.status).toBe(422);
    expect(never.body).toMatchObject({ error: { code: 'not_previously_held' } });
    const to = await call('POST', '/api/v1/prompts/greeter/labels/production/rollback', { to: 'v2' });
    expect(to.body).toMatchObject({ label: { version: 2 } });
    const latest = await call('PUT', '/api/v1/prompts/greeter/labels/latest', { ref: 'v1' });
    expect(latest.status).toBe(422);
    expect(latest.body).toMatchObject({ error: { code: 'label_reserved' } });
    expect((await call('PUT', '/api/v1/prompts/greeter/labels/v2', { ref: 'v1' })).body).toMatchObject({
      error: { code: 'invalid_label' },
    });
  });

  it('names prompts with folders', async () => {
    const created = await push('support/triage', textContent('support/triage', 'Triage this.'), null);
    expect(created.status).toBe(201);
    expect((await call('GET', '/api/v1/prompts/support%2Ftriage/versions/v1')).body).toMatchObject({
      name: 'support/triage',
    });
    const list = await call('GET', '/api/v1/prompts');
    expect((list.body['prompts'] as { name: string }[]).map((p) => p.name).sort()).toEqual([
      'greeter',
      'support/triage',
    ]);
  });

  it('answers bad input with field-precise errors and writes nothing', async () => {
    const undeclared = await push('bad', textContent('bad', 'Hello {{user_name}}'), null);
    expect(undeclared.status).toBe(400);
    expect(undeclared.body).toMatchObject({ error: { code: 'invalid_prompt', issues: [{ path: 'template' }] } });
    expect(String(json(undeclared.body['error'])['message'])).toContain('{{user_name}}');

    const wrongType = await push('bad', { ...textContent('bad', 'x'), template: 42 }, null);
    expect(wrongType.body).toMatchObject({ error: { code: 'invalid_prompt', issues: [{ path: 'template' }] } });

    const unknownField = await push('bad', { ...textContent('bad', 'x'), colour: 'red' }, null);
    expect(unknownField.status).toBe(400);
    expect(JSON.stringify(unknownField.body)).toContain('colour');

    const missingParent = await call('POST', '/api/v1/prompts/bad/versions', { content: textContent('bad', 'x') });
    expect(missingParent.status).toBe(400);
    expect(missingParent.body).toMatchObject({
      error: { code: 'invalid_request', issues: [{ path: 'body.parent', message: 'is required' }] },
    });

    const mismatch = await push('bad', textContent('other', 'x'), null);
    expect(mismatch.status).toBe(422);
    expect(mismatch.body).toMatchObject({ error: { code: 'name_mismatch' } });

    const badJson = await registry.app.inject({
      method: 'POST',
      url: '/api/v1/prompts/bad/versions',
      headers: { authorization: `Bearer ${registry.keys.admin}`, 'content-type': 'application/json' },
      payload: '{"content": ',
    });
    expect(badJson.statusCode).toBe(400);
    expect(badJson.json()).toMatchObject({ error: { code: 'invalid_json' } });

    const huge = await push('bad', textContent('bad', 'x'.repeat(1_100_000)), null);
    expect(huge.status).toBe(413);

    expect((await call('GET', '/api/v1/prompts/bad')).status).toBe(404);
    for (const response of [undeclared, wrongType, unknownField, missingParent, mismatch, huge]) {
      expect(response.raw).not.toMatch(/\bat .*\.(ts|js):\d+/);
    }
  });

  it('requires a valid key on every API route and leaks no data without one', async () => {
    for (const url of [
      '/api/v1/prompts',
      '/api/v1/prompts/greeter/versions/v1',
      '/api/v1/audit',
      '/api/v1/nope',
      '/api/v1/openapi.json',
    ]) {
      const none = await call('GET', url, undefined, null);
      expect(none.status, url).toBe(401);
      expect(none.raw).not.toContain('greeter');
      expect((await call('GET', url, undefined, 'po_wrong_key_0000000000000000000')).status, url).toBe(401);
    }
    expect(
      (await registry.app.inject({ method: 'GET', url: '/api/v1/prompts', headers: { authorization: 'Basic abc' } }))
        .statusCode,
    ).toBe(401);
    expect((await registry.app.inject({ method: 'GET', url: '/healthz' })).json()).toEqual({
      status: 'ok',
      db: dialect,
    });
  });

  it('checks roles: a viewer reads but cannot push or move labels; verify needs admin', async () => {
    expect((await call('GET', '/api/v1/prompts', undefined, registry.keys.viewer)).status).toBe(200);
    const pushAsViewer = await push('greeter', textContent('greeter', 'nope'), null, 'x', registry.keys.viewer);
    expect(pushAsViewer.status).toBe(403);
    expect(pushAsViewer.body).toMatchObject({ error: { code: 'forbidden' } });
    expect(
      (await call('PUT', '/api/v1/prompts/greeter/labels/production', { ref: 'v1' }, registry.keys.editor)).status,
    ).toBe(403);
    expect(
      (await call('POST', '/api/v1/prompts/greeter/labels/production/rollback', {}, registry.keys.reviewer)).status,
    ).toBe(403);
    expect((await call('GET', '/api/v1/verify', undefined, registry.keys.deployer)).status).toBe(403);
    const verify = await call('GET', '/api/v1/verify');
    expect(verify.body).toMatchObject({ ok: true, problems: [] });
  });

  it('keeps an audit log whose chain verifies', async () => {
    const audit = await call('GET', '/api/v1/audit?limit=1000');
    const entries = audit.body['entries'] as { seq: number; action: string; actor: string }[];
    expect(entries[0]).toMatchObject({ seq: 1, action: 'project.created' });
    expect(entries.map((e) => e.seq)).toEqual(entries.map((_, i) => i + 1));
    expect(entries.some((e) => e.action === 'label.rolled_back' && e.actor === 'key:deployer')).toBe(true);
  });

  it('serves an OpenAPI document listing the routes', async () => {
    const doc = await call('GET', '/api/v1/openapi.json');
    expect(doc.body['openapi']).toMatch(/^3\./);
    expect(Object.keys(json(doc.body['paths']))).toEqual(
      expect.arrayContaining(['/api/v1/prompts/{name}/versions', '/api/v1/prompts/{name}/labels/{label}/rollback']),
    );
  });
});
