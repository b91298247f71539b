import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startServer } from '../src/app/start-server.js';
import { bootstrap } from '../src/auth/bootstrap.js';
import { systemClock } from '../src/context.js';
import { createStorage } from '../src/app/stores.js';
import { ADMIN_KEY } from './support/registry.js';
import { testDatabase } from './support/databases.js';

const quiet = { port: 0, log: false as const, print: () => undefined };

const api = async (url: string, key: string, path: string, init: RequestInit = {}) => {
  const response = await fetch(`${url}${path}`, {
    ...init,
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', ...(init.headers ?? {}) },
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
};

describe('startServer', () => {
  it('bootstraps an empty database with a generated key written 0600 for the CLI, once', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'promptops-boot-'));
    const lines: string[] = [];
    const first = await startServer({ ...quiet, dataDir, print: (line) => lines.push(line) });
    const credentialsPath = join(dataDir, 'credentials.json');
    const credentials = JSON.parse(readFileSync(credentialsPath, 'utf8')) as { apiKey: string; url: string };
    expect(statSync(credentialsPath).mode & 0o777).toBe(0o600);
    expect(credentials.apiKey).toBe(first.adminKey);
    expect(credentials.url).toBe(first.url);
    expect(lines.join('\n')).toContain(credentials.apiKey);
    expect((await api(first.url, credentials.apiKey, '/api/v1/me')).body).toMatchObject({
      role: 'admin',
      project: { name: 'default' },
    });
    await first.close();

    const second = await startServer({ ...quiet, dataDir });
    expect(second.adminKey).toBeUndefined();
    expect(JSON.parse(readFileSync(credentialsPath, 'utf8'))).toEqual(credentials);
    expect((await api(second.url, credentials.apiKey, '/api/v1/me')).status).toBe(200);
    await second.close();
  });

  it('uses PROMPTOPS_INIT_ADMIN_KEY headless and refuses a weak one', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'promptops-boot-'));
    await expect(startServer({ ...quiet, dataDir, initAdminKey: 'short' })).rejects.toMatchObject({
      code: 'weak_init_key',
      fix: expect.stringMatching(/at least 16 characters/),
    });
    const server = await startServer({ ...quiet, dataDir, initAdminKey: 'po_headless_key_1234567890' });
    expect((await api(server.url, 'po_headless_key_1234567890', '/api/v1/me')).status).toBe(200);
    expect(() => statSync(join(dataDir, 'credentials.json'))).toThrow();
    await server.close();
  });

  it('rejects a bad --db value with the accepted forms', async () => {
    await expect(startServer({ ...quiet, db: 'mysql://x' })).rejects.toMatchObject({
      code: 'invalid_db_url',
      message: expect.stringContaining('mysql://x'),
      fix: expect.stringContaining('sqlite:PATH'),
    });
  });

  it('serves the demo story: v18 in production lost the greeting, and rollback restores v17', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'promptops-demo-'));
    const server = await startServer({ ...quiet, dataDir, demo: true });
    const key = server.adminKey!;
    const prompts = (await api(server.url, key, '/api/v1/prompts')).body['prompts'] as { name: string }[];
    expect(prompts.map((p) => p.name)).toEqual(
      expect.arrayContaining([
        'customer_support_greeter',
        'summarize_ticket',
        'support/escalation_classifier',
        'release_notes_writer',
      ]),
    );
    const production = await api(server.url, key, '/api/v1/prompts/customer_support_greeter/versions/production');
    expect(production.body).toMatchObject({ version: 18, author: 'dave' });
    const v17 = await api(server.url, key, '/api/v1/prompts/customer_support_greeter/versions/v17');
    expect(JSON.stringify(v17.body['content'])).toContain('Always greet the user by name.');
    const diff = (await api(server.url, key, '/api/v1/prompts/customer_support_greeter/diff?from=v17&to=v18')).body[
      'diff'
    ] as {
      lines: { op: string; text: string }[];
    };
    expect(diff.lines.filter((l) => l.op !== 'equal')).toEqual([
      { op: 'remove', text: 'Always greet the user by name.' },
    ]);

    const rollback = await api(server.url, key, '/api/v1/prompts/customer_support_greeter/labels/production/rollback', {
      method: 'POST',
      body: JSON.stringify({ reason: 'customers are not greeted by name' }),
    });
    expect(rollback.body).toMatchObject({
      label: { version: 17 },
      deployment: { fromVersion: 18, toVersion: 17, kind: 'rollback' },
    });
    expect((await api(server.url, key, '/api/v1/verify')).body).toMatchObject({ ok: true });

    // Review gates: production is protected. v18 got there by break glass, not by review.
    const history = (
      await api(server.url, key, '/api/v1/prompts/customer_support_greeter/deployments?label=production')
    ).body['deployments'] as {
      kind: string;
      actor: string;
      toVersion: number;
      reason: string;
      changeRequest?: number;
    }[];
    expect(history[1]).toMatchObject({ kind: 'break-glass', actor: 'dave', toVersion: 18 });
    // The first break glass met the incident's monitor, which rolled it back (demo/incidents.ts).
    expect(history[2]).toMatchObject({ kind: 'auto-rollback', toVersion: 17 });
    expect(history[3]).toMatchObject({ kind: 'break-glass', actor: 'dave', toVersion: 18 });
    expect(history[4]).toMatchObject({ kind: 'merge', actor: 'bob', toVersion: 17, changeRequest: 1 });
    const direct = await api(server.url, key, '/api/v1/prompts/customer_support_greeter/labels/production', {
      method: 'PUT',
      body: JSON.stringify({ ref: 'v18' }),
    });
    expect(direct.status).toBe(403);
    expect(direct.body['error']).toMatchObject({ code: 'label_protected' });
    const open = (await api(server.url, key, '/api/v1/reviews?status=open')).body['changeRequests'] as { id: number }[];
    expect(open).toHaveLength(1);
    const request = (await api(server.url, key, `/api/v1/reviews/${open[0]!.id}`)).body as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
    expect(request).toMatchObject({ author: 'dave', version: 18, baseVersion: 17, mergeable: false });
    expect((request['diff']['lines'] as { op: string }[]).filter((l) => l.op !== 'equal')).toEqual([
      { op: 'remove', text: 'Always greet the user by name.' },
    ]);
    expect(request['checks']['approvals']).toMatchObject({ status: 'pending', required: 1 });
    expect((request['timeline'] as { kind: string }[]).map((e) => e.kind)).toEqual(['opened', 'forced', 'forced']);
    await server.close();

    // The demo starts from the same story every time.
    const again = await startServer({ ...quiet, dataDir, demo: true });
    expect(
      (await api(again.url, again.adminKey!, '/api/v1/prompts/customer_support_greeter/versions/production')).body[
        'version'
      ],
    ).toBe(18);
    await again.close();
  });
});

describe('bootstrap race', () => {
  it('two replicas bootstrapping one empty PostgreSQL at once end with one project and one admin key', async () => {
    const url = await testDatabase('postgres');
    const storages = await Promise.all([createStorage(url), createStorage(url)]);
    try {
      for (let round = 0; round < 5; round += 1) {
        if (round > 0) {
          // A fresh empty database each round, so the race happens again.
          const next = await testDatabase('postgres');
          await Promise.all(storages.map((s) => s.close()));
          storages.splice(0, 2, ...(await Promise.all([createStorage(next), createStorage(next)])));
        }
        const results = await Promise.all(
          storages.map((storage) =>
            bootstrap(storage, systemClock, { initAdminKey: ADMIN_KEY, dataDir: tmpdir(), url: 'http://test' }),
          ),
        );
        expect(results[0]!.project.id).toBe(results[1]!.project.id);
        expect(results.filter((r) => r.adminKey !== undefined)).toHaveLength(1);
        expect(await storages[0]!.registry.countProjects()).toBe(1);
      }
    } finally {
      await Promise.all(storages.map((s) => s.close()));
    }
  });
});
