import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KeyRecord, MemberRecord } from '@promptops/core';
import { run } from './helpers.js';
import { startRegistry, type Registry } from './registry.js';

/** `promptops keys`, `members` and `projects` against a real server. */

describe('promptops keys / members / projects', () => {
  let registry: Registry;
  const cli = (argv: string[], env: Record<string, string> = registry.env) => run(argv, { env });

  beforeAll(async () => {
    registry = await startRegistry();
  });
  afterAll(async () => {
    await registry.close();
  });

  it('every command has --help', async () => {
    for (const argv of [
      ['keys', '--help'],
      ['keys', 'create', '--help'],
      ['keys', 'rotate', '--help'],
      ['members', 'set-role', '--help'],
      ['projects', 'create', '--help'],
    ]) {
      const help = await cli(argv);
      expect(help.code, argv.join(' ')).toBe(0);
      expect(help.stdout).toContain('Usage: promptops');
    }
  });

  it('members: add, list, set-role, remove; usage errors exit 2, refusals exit 1', async () => {
    const added = await cli(['members', 'add', 'alice', '--role', 'editor', '--display-name', 'Alice M']);
    expect(added.code, added.stderr).toBe(0);
    expect(added.stdout).toContain('added alice as editor');
    const list = await cli(['members', 'list', '--json']);
    expect(list.json<{ members: MemberRecord[] }>().members).toEqual([
      expect.objectContaining({ name: 'alice', role: 'editor', displayName: 'Alice M' }),
    ]);
    expect((await cli(['members', 'list'])).stdout).toMatch(/alice\s+Alice M\s+editor/);
    const raised = await cli(['members', 'set-role', 'alice', 'deployer', '--json']);
    expect(raised.json()).toMatchObject({ name: 'alice', role: 'deployer' });

    expect((await cli(['members', 'set-role', 'alice', 'superuser'])).code).toBe(2);
    expect((await cli(['members', 'add', 'Alice!', '--role', 'viewer'])).code).toBe(2);
    expect((await cli(['members', 'add', 'bob'])).code).toBe(2); // --role is required
    const twice = await cli(['members', 'add', 'alice', '--role', 'viewer', '--json']);
    expect(twice.code).toBe(1);
    expect(twice.json()).toMatchObject({ error: { code: 'member_exists' } });

    await cli(['members', 'add', 'temp', '--role', 'viewer']);
    const removed = await cli(['members', 'remove', 'temp']);
    expect(removed.code).toBe(0);
    expect(removed.stdout).toContain('removed temp (viewer)');
    expect((await cli(['members', 'remove', 'temp'])).code).toBe(1);
  });

  it('keys: create shows the secret once, list never does; rotate and revoke', async () => {
    const created = await cli(['keys', 'create', 'alice laptop', '--role', 'editor', '--user', 'alice']);
    expect(created.code, created.stderr).toBe(0);
    const secret = created.stdout.trim();
    expect(secret).toMatch(/^po_[A-Za-z0-9_-]{43}$/);
    expect(created.stderr).toContain('shown once and cannot be shown again');
    expect(created.stderr).toContain('acting as alice');

    const me = await cli(['keys', 'list', '--json'], { ...registry.env, PROMPTOPS_API_KEY: secret });
    expect(me.code).toBe(1); // an editor may not list keys
    expect(me.json()).toMatchObject({ error: { code: 'forbidden' } });

    const listed = await cli(['keys', 'list', '--json']);
    expect(listed.stdout).not.toContain(secret);
    const keys = listed.json<{ keys: KeyRecord[] }>().keys;
    const alice = keys.find((k) => k.name === 'alice laptop')!;
    expect(alice).toMatchObject({ role: 'editor', user: 'alice', createdBy: 'key:admin', status: 'active' });
    const table = await cli(['keys', 'list']);
    expect(table.stdout).toMatch(new RegExp(`${alice.keyId}\\s+alice laptop\\s+editor\\s+alice\\s+key:admin`));
    expect(table.stdout).not.toContain(secret);

    const rotated = await cli(['keys', 'rotate', alice.keyId, '--grace', '60', '--json']);
    expect(rotated.code, rotated.stdout).toBe(0);
    const body = rotated.json<{ key: KeyRecord; secret: string; previous: KeyRecord; notice: string }>();
    expect(body.previous).toMatchObject({ keyId: alice.keyId, status: 'expiring' });
    expect(body.key).toMatchObject({ name: 'alice laptop', role: 'editor', user: 'alice' });
    expect(body.notice).toContain('cannot be shown again');

    const revoked = await cli(['keys', 'revoke', alice.keyId]);
    expect(revoked.code).toBe(0);
    expect(revoked.stdout).toContain(`revoked key ${alice.keyId}`);
    const refused = await cli(['members', 'list'], { ...registry.env, PROMPTOPS_API_KEY: secret });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('the API key has been revoked');

    expect((await cli(['keys', 'revoke', 'nothex'])).code).toBe(2);
    expect((await cli(['keys', 'create', 'x', '--role', 'root'])).code).toBe(2);
    const tooHigh = await cli(['keys', 'create', 'x', '--role', 'admin', '--user', 'alice', '--json']);
    expect(tooHigh.code).toBe(1);
    expect(tooHigh.json()).toMatchObject({ error: { code: 'role_above_membership' } });

    const adminKeyId = (await cli(['keys', 'list', '--json']))
      .json<{ keys: KeyRecord[] }>()
      .keys.find((k) => k.name === 'admin')!.keyId;
    const last = await cli(['keys', 'revoke', adminKeyId]);
    expect(last.code).toBe(1);
    expect(last.stderr).toContain('without a working admin key');
  });

  it('projects: create prints the new admin key once; list; only server admins', async () => {
    const created = await cli(['projects', 'create', 'support-team']);
    expect(created.code, created.stderr).toBe(0);
    const key = created.stdout.trim();
    expect(key).toMatch(/^po_/);
    expect(created.stderr).toContain('created project support-team');
    expect(created.stderr).toContain('cannot be shown again');

    const list = await cli(['projects', 'list', '--json']);
    expect(list.json<{ projects: { name: string }[] }>().projects.map((p) => p.name)).toEqual([
      'default',
      'support-team',
    ]);
    const other = { ...registry.env, PROMPTOPS_API_KEY: key };
    expect((await cli(['members', 'list'], other)).stdout).toContain('no members');
    const refused = await cli(['projects', 'create', 'another', '--json'], other);
    expect(refused.code).toBe(1);
    expect(refused.json()).toMatchObject({ error: { code: 'not_server_admin' } });
    expect((await cli(['projects', 'create', 'Bad Name'])).code).toBe(2);
  });
});
