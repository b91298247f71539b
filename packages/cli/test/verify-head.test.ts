import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer } from '@promptops/server';
import { testDatabase } from '../../server/test/support/databases.js';
import { run, tempDir, type RunOptions } from './helpers.js';

/**
 * `promptops verify --export-head FILE` / `--against-head FILE`: the audit chain's head noted outside the
 * database, and a later verify that fails when the chain no longer extends it (a cut or re-chained log).
 * The server holds an audit HMAC key, so the head is signed and a hand-edited head file is refused.
 */

const ADMIN_KEY = 'po_verify_head_admin_key_0123456789abcdef0123';
const AUDIT_KEY = 'verify-head-test-audit-key-0123456789abcdef';

describe('promptops verify --export-head / --against-head', () => {
  let server: Awaited<ReturnType<typeof startServer>>;
  let dir: string;
  const cli = (argv: string[], options: RunOptions = {}) =>
    run(argv, { env: { PROMPTOPS_URL: server.url, PROMPTOPS_API_KEY: ADMIN_KEY }, cwd: dir, ...options });
  const rawSql = (statement: string) =>
    (server.storage as unknown as { rawSql(s: string): Promise<Record<string, unknown>[]> }).rawSql(statement);
  let parent: string | null = null;
  const push = async (template: string): Promise<void> => {
    const response = await fetch(`${server.url}/api/v1/prompts/greeter/versions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        content: {
          name: 'greeter',
          type: 'text',
          template,
          config: { provider: 'openai', model: 'gpt-4o-mini', params: {} },
          variables: {},
          slots: {},
        },
        parent,
      }),
    });
    expect(response.status).toBe(201);
    parent = ((await response.json()) as { sha: string }).sha;
  };

  beforeAll(async () => {
    dir = await tempDir('promptops-verify-head-');
    server = await startServer({
      host: '127.0.0.1',
      port: 0,
      db: await testDatabase('sqlite'),
      dataDir: join(dir, 'server-data'),
      initAdminKey: ADMIN_KEY,
      auditHmacKey: AUDIT_KEY,
      webRoot: false,
      print: () => {},
    });
    await push('Hello');
  });

  afterAll(async () => {
    await server?.close();
  });

  let head: { format: string; project: string; seq: number; hash: string; signature: string };

  it('exports a signed head of a log that verifies', async () => {
    const result = await cli(['verify', '--export-head', 'head.json']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    head = JSON.parse(await readFile(join(dir, 'head.json'), 'utf8')) as typeof head;
    expect(head).toMatchObject({
      format: 'promptops-audit-head/1',
      project: 'default',
      seq: expect.any(Number),
      hash: expect.stringMatching(/^[0-9a-f]{64}$/),
      signature: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
    expect(result.stdout).toContain(`audit head #${head.seq} written to head.json (signed)`);
  });

  it('passes against that head while the chain grows', async () => {
    await push('Hello there');
    const result = await cli(['verify', '--against-head', 'head.json']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`the audit chain extends the head #${head.seq} in head.json`);
  });

  it('refuses a head file edited by hand: exit 1, its signature named', async () => {
    const [earlier] = await rawSql(`SELECT seq, hash FROM audit_log WHERE seq = ${head.seq - 1}`);
    await writeFile(
      join(dir, 'forged.json'),
      JSON.stringify({ ...head, seq: head.seq - 1, hash: String(earlier!['hash']) }),
    );
    const result = await cli(['verify', '--against-head', 'forged.json', '--json']);
    expect(result.code).toBe(1);
    expect(result.json<{ problems: { problem: string }[] }>().problems).toEqual([
      expect.objectContaining({ problem: 'head_signature_invalid' }),
    ]);
  });

  it.each([
    ['a missing file', null, /cannot read nothing\.json: no such file/],
    [
      'a malformed head',
      { format: 'promptops-audit-head/1', project: 'default', seq: 0, hash: 'xyz' },
      /seq.*\n.*hash/s,
    ],
    ['not JSON', 'seq: 3', /not valid JSON/],
  ])('refuses %s as a usage error (exit 2) naming the problem', async (_what, content, message) => {
    if (content !== null) {
      await writeFile(join(dir, 'nothing.json'), typeof content === 'string' ? content : JSON.stringify(content));
    }
    const result = await cli(['verify', '--against-head', 'nothing.json']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(result.stderr).toContain('--export-head');
  });

  it('fails against the head once the log is cut back, and exports no head of it', async () => {
    for (const operation of ['update', 'delete'])
      await rawSql(`DROP TRIGGER IF EXISTS audit_log_append_only_${operation}`);
    await rawSql(`DELETE FROM audit_log WHERE seq >= ${head.seq}`);
    const result = await cli(['verify', '--against-head', 'head.json', '--export-head', 'after.json']);
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(new RegExp(`audit_log +seq ${head.seq} +the audit log ends at #${head.seq - 1}`));
    expect(result.stderr).toContain('not writing after.json');
    expect(existsSync(join(dir, 'after.json'))).toBe(false);
  });
});
