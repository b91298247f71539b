import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { auditHash, canonicalJson } from '@promptops/core';
import { hashApiKey, keyIdOf } from '../../src/auth/keys.js';
import { startServer, type RunningServer } from '../../src/app/start-server.js';
import { dropAppendOnlyTriggersSql, type AppendOnlyTable } from '../../src/storage/index.js';
import type { RawSqlAccess } from '../../src/app/stores.js';
import type { Stores } from '../../src/app/stores.js';
import { call } from '../support/http.js';
import { ADMIN_KEY, DIALECTS, freshDbUrl, textContent } from '../support/registry.js';

/**
 * `verify` against a writer with direct database access: every column that tells the story
 * (version author, message, date and parent; deployment kind, actor, reason; deleted deployments;
 * prompt heads; policies, key and member roles) is compared with the audit entry that recorded it; a cut
 * or re-chained log is caught by a head exported earlier (`againstSeq`/`againstHash`) or, with
 * PROMPTOPS_AUDIT_HMAC_KEY, by the HMAC every entry carries. Each case tampers the way an attacker would
 * (dropping the append-only triggers first) and expects verify to fail naming the row.
 */

type Problem = { table: string; row: string; problem: string; message: string };
type Report = {
  ok: boolean;
  problems: Problem[];
  head?: { format: string; project: string; seq: number; hash: string; signature?: string } | null;
  hmac?: { key: boolean; entries: number };
};

const HMAC_KEY = 'test-audit-hmac-key-0123456789abcdef0123456789';

describe.each(DIALECTS)('verify catches tampering on %s', (dialect) => {
  const running: RunningServer[] = [];
  const cleanups: (() => void)[] = [];
  afterEach(async () => {
    for (const server of running.splice(0)) await server.close();
    for (const cleanup of cleanups.splice(0)) cleanup();
  });

  const start = async (db: string, auditHmacKey?: string): Promise<RunningServer> => {
    const dataDir = mkdtempSync(join(tmpdir(), 'promptops-verify-'));
    cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
    const server = await startServer({
      db,
      dataDir,
      port: 0,
      initAdminKey: ADMIN_KEY,
      webRoot: false,
      print: () => undefined,
      ...(auditHmacKey === undefined ? {} : { auditHmacKey }),
    });
    running.push(server);
    return server;
  };
  const stop = async (server: RunningServer): Promise<void> => {
    running.splice(running.indexOf(server), 1);
    await server.close();
  };
  const freshDb = async (): Promise<string> => {
    const db = await freshDbUrl(dialect);
    cleanups.push(db.cleanup);
    return db.url;
  };

  const sqlOf =
    (server: RunningServer): RawSqlAccess['rawSql'] =>
    (statement) =>
      (server.storage as Stores & RawSqlAccess).rawSql(statement);
  const api = async (
    server: RunningServer,
    method: 'GET' | 'POST' | 'PUT',
    url: string,
    payload?: unknown,
    key = ADMIN_KEY,
  ) => {
    const reply = await call(server.app, method, url, key, payload);
    expect(reply.status, `${method} ${url}: ${reply.text}`).toBeLessThan(300);
    return reply.body;
  };
  const verify = async (server: RunningServer, query = ''): Promise<Report> =>
    (await call<Report>(server.app, 'GET', `/api/v1/verify${query}`, ADMIN_KEY)).body;
  const unlock = async (server: RunningServer, ...tables: AppendOnlyTable[]): Promise<void> => {
    for (const table of tables)
      for (const statement of dropAppendOnlyTriggersSql(dialect, table)) await sqlOf(server)(statement);
  };
  const lit = (text: string): string => `'${text.replace(/'/g, "''")}'`;
  /** The newest audit entry as read straight from the table (what an operator would have noted down). */
  const newestEntry = async (server: RunningServer): Promise<{ seq: number; hash: string }> => {
    const [row] = await sqlOf(server)(`SELECT seq, hash FROM audit_log WHERE project_id = 1 ORDER BY seq DESC LIMIT 1`);
    return { seq: Number(row!['seq']), hash: String(row!['hash']) };
  };
  const against = (head: { seq: number; hash: string }): string => `?againstSeq=${head.seq}&againstHash=${head.hash}`;

  /**
   * History through the API: greeter v1..v3; production: v1 promoted, then protected, then v2 forced
   * through by break glass; a policy; a viewer key and a member made through the key and member APIs.
   */
  const seed = async (server: RunningServer): Promise<void> => {
    let parent: string | null = null;
    for (const [text, message] of [
      ['Hello', 'first'],
      ['Hello there', 'friendlier'],
      ['Hi there', 'shorter'],
    ] as const) {
      const pushed = await api(server, 'POST', '/api/v1/prompts/greeter/versions', {
        content: textContent('greeter', text),
        parent,
        message,
      });
      parent = String(pushed['sha']);
    }
    await api(server, 'PUT', '/api/v1/prompts/greeter/labels/production', { ref: 'v1', reason: 'first release' });
    await api(server, 'PUT', '/api/v1/policies/production', { approvals: 1 });
    await api(server, 'PUT', '/api/v1/prompts/greeter/labels/production', {
      ref: 'v2',
      reason: 'incident 7: forced',
      force: true,
    });
    await api(server, 'POST', '/api/v1/keys', { name: 'ci-reader', role: 'viewer' });
    await api(server, 'POST', '/api/v1/members', { name: 'alice', role: 'viewer' });
  };

  /** Recomputes every hash from `fromSeq` on with plain sha256, as anyone can: the unkeyed chain holds again. */
  const rechain = async (server: RunningServer, fromSeq: number): Promise<void> => {
    const sql = sqlOf(server);
    const rows = await sql(`SELECT * FROM audit_log WHERE project_id = 1 ORDER BY seq`);
    let prevHash = String(rows.find((row) => Number(row['seq']) === fromSeq - 1)?.['hash'] ?? '0'.repeat(64));
    for (const row of rows.filter((r) => Number(r['seq']) >= fromSeq)) {
      const seq = Number(row['seq']);
      const hash = auditHash({
        seq,
        at: String(row['at']),
        actor: String(row['actor']),
        action: String(row['action']),
        target: String(row['target']),
        data: JSON.parse(String(row['data'])) as Record<string, unknown>,
        prevHash,
      });
      await sql(
        `UPDATE audit_log SET prev_hash = ${lit(prevHash)}, hash = ${lit(hash)} WHERE project_id = 1 AND seq = ${seq}`,
      );
      prevHash = hash;
    }
  };

  /** The complete cover-up of a break glass: the deployment and its audit entry both say promote, re-chained. */
  const disguiseBreakGlass = async (server: RunningServer): Promise<void> => {
    const sql = sqlOf(server);
    await unlock(server, 'deployments', 'audit_log');
    await sql(`UPDATE deployments SET kind = 'promote' WHERE kind = 'break-glass'`);
    const [entry] = await sql(`SELECT seq, data FROM audit_log WHERE action = 'label.forced'`);
    const data = { ...(JSON.parse(String(entry!['data'])) as Record<string, unknown>), kind: 'promote' };
    await sql(
      `UPDATE audit_log SET action = 'label.moved', data = ${lit(canonicalJson(data))} WHERE seq = ${Number(entry!['seq'])}`,
    );
    await rechain(server, Number(entry!['seq']));
  };

  const seeded = async (auditHmacKey?: string): Promise<RunningServer> => {
    const server = await start(await freshDb(), auditHmacKey);
    await seed(server);
    expect(await verify(server)).toMatchObject({ ok: true, problems: [] });
    return server;
  };

  describe('versions', () => {
    it.each([
      ['author', `author = 'mallory'`],
      ['message', `message = 'nothing to see'`],
      ['created_at', `created_at = '2020-01-01T00:00:00.000Z'`],
    ])('an edited %s', async (column, assignment) => {
      const server = await seeded();
      await unlock(server, 'versions');
      await sqlOf(server)(`UPDATE versions SET ${assignment} WHERE version = 2`);
      const report = await verify(server);
      expect(report.ok).toBe(false);
      expect(report.problems).toEqual([
        expect.objectContaining({
          table: 'versions',
          row: 'greeter@v2',
          problem: 'altered',
          message: expect.stringContaining(column.replace('created_at', 'createdAt')),
        }),
      ]);
    });

    it('an edited parent', async () => {
      const server = await seeded();
      await unlock(server, 'versions');
      await sqlOf(server)(
        `UPDATE versions SET parent_sha = (SELECT sha FROM versions WHERE version = 1) WHERE version = 3`,
      );
      const report = await verify(server);
      expect(report.problems).toEqual([
        expect.objectContaining({
          table: 'versions',
          row: 'greeter@v3',
          problem: 'altered',
          message: expect.stringContaining('parentSha'),
        }),
      ]);
    });
  });

  describe('deployments', () => {
    it.each([
      ['kind', `kind = 'promote'`],
      ['actor', `actor = 'mallory'`],
      ['reason', `reason = 'routine release'`],
    ])('a break glass with its %s rewritten', async (field, assignment) => {
      const server = await seeded();
      await unlock(server, 'deployments');
      await sqlOf(server)(`UPDATE deployments SET ${assignment} WHERE kind = 'break-glass'`);
      const report = await verify(server);
      expect(report.ok).toBe(false);
      expect(report.problems).toContainEqual(
        expect.objectContaining({
          table: 'deployments',
          row: expect.stringContaining('greeter:production'),
          problem: 'altered',
          message: expect.stringContaining(field),
        }),
      );
    });

    it('a deleted deployment row', async () => {
      const server = await seeded();
      await unlock(server, 'deployments');
      // The first promote, not the last move: the label still agrees with the deployments that remain.
      await sqlOf(server)(`DELETE FROM deployments WHERE kind = 'promote'`);
      const report = await verify(server);
      expect(report.problems).toEqual([
        expect.objectContaining({
          table: 'deployments',
          problem: 'missing',
          row: expect.stringContaining('production'),
        }),
      ]);
    });
  });

  it("a prompt's head moved back", async () => {
    const server = await seeded();
    await sqlOf(server)(
      `UPDATE prompts SET head_version = 2, head_sha = (SELECT sha FROM versions WHERE version = 2) WHERE name = 'greeter'`,
    );
    const report = await verify(server);
    expect(report.problems).toEqual([
      expect.objectContaining({ table: 'prompts', row: 'greeter', problem: 'altered' }),
    ]);
  });

  it("a label's policy weakened or deleted", async () => {
    const server = await seeded();
    await sqlOf(server)(`UPDATE label_policies SET approvals = 0`);
    expect((await verify(server)).problems).toEqual([
      expect.objectContaining({ table: 'label_policies', row: 'production *', problem: 'altered' }),
    ]);
    await sqlOf(server)(`DELETE FROM label_policies`);
    expect((await verify(server)).problems).toEqual([
      expect.objectContaining({ table: 'label_policies', row: 'production *', problem: 'missing' }),
    ]);
  });

  it("a key's role and a member's role raised", async () => {
    const server = await seeded();
    await sqlOf(server)(`UPDATE api_keys SET role = 'admin' WHERE name = 'ci-reader'`);
    await sqlOf(server)(`UPDATE memberships SET role = 'admin'`);
    const report = await verify(server);
    expect(report.problems).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ table: 'api_keys', problem: 'altered', message: expect.stringContaining('role') }),
        expect.objectContaining({ table: 'memberships', row: 'alice', problem: 'altered' }),
      ]),
    );
    expect(report.problems).toHaveLength(2);
  });

  it('an admin key inserted without an audit entry', async () => {
    const server = await seeded();
    const secret = 'po_planted_admin_key_0123456789abcdef01234567';
    const hash = hashApiKey(secret);
    const keyId = keyIdOf(hash);
    await sqlOf(server)(
      `INSERT INTO api_keys (project_id, key_id, hash, role, name, user_id, created_by, created_at)
       VALUES (1, ${lit(keyId)}, ${lit(hash)}, 'admin', 'ops', NULL, 'key:admin', ${lit(new Date().toISOString())})`,
    );
    // The planted key works: only verify can tell it never went through the key API.
    expect((await call(server.app, 'GET', '/api/v1/keys', secret)).status).toBe(200);
    const report = await verify(server);
    expect(report.ok).toBe(false);
    expect(report.problems).toEqual([
      expect.objectContaining({ table: 'api_keys', row: keyId, problem: 'unrecorded' }),
    ]);
  });

  describe('change requests and review events', () => {
    /**
     * On top of `seed`: rita (a reviewer member with her own key); change request #1 (greeter v3 to
     * production) opened by the admin key, approved by rita and merged; #2 (v1) opened and closed;
     * #3 (v1 again) open, waiting for an approval.
     */
    const reviewed = async (): Promise<RunningServer> => {
      const server = await seeded();
      await api(server, 'POST', '/api/v1/members', { name: 'rita', role: 'reviewer' });
      const { secret: rita } = (await api(server, 'POST', '/api/v1/keys', {
        name: 'rita laptop',
        role: 'reviewer',
        user: 'rita',
      })) as { secret: string };
      const open = async (ref: string): Promise<number> =>
        Number(
          (await api(server, 'POST', '/api/v1/reviews', { name: 'greeter', ref, label: 'production', message: ref }))[
            'id'
          ],
        );
      const first = await open('v3');
      await api(server, 'POST', `/api/v1/reviews/${first}/approve`, { comment: 'looks good' }, rita);
      await api(server, 'POST', `/api/v1/reviews/${first}/merge`, {});
      await api(server, 'POST', `/api/v1/reviews/${await open('v1')}/close`, { comment: 'not now' });
      await open('v1');
      expect(await verify(server)).toMatchObject({ ok: true, problems: [] });
      return server;
    };

    it('an approval inserted for the open request', async () => {
      const server = await reviewed();
      const [open] = await sqlOf(server)(`SELECT id, sha FROM change_requests WHERE status = 'open'`);
      await sqlOf(server)(
        `INSERT INTO review_events (change_request_id, kind, actor, sha, comment, at)
         VALUES (${Number(open!['id'])}, 'approved', 'rita', ${lit(String(open!['sha']))}, 'lgtm', ${lit(new Date().toISOString())})`,
      );
      const report = await verify(server);
      expect(report.ok).toBe(false);
      expect(report.problems).toEqual([
        expect.objectContaining({
          table: 'review_events',
          row: expect.stringContaining(`#${Number(open!['id'])}`),
          problem: 'unrecorded',
        }),
      ]);
    });

    it.each([
      ['actor', `actor = 'mallory'`],
      ['kind', `kind = 'rejected'`],
      ['comment', `comment = 'rubber stamp'`],
      ['at', `at = '2020-01-01T00:00:00.000Z'`],
    ])("an approval's %s rewritten", async (field, assignment) => {
      const server = await reviewed();
      await unlock(server, 'review_events');
      await sqlOf(server)(`UPDATE review_events SET ${assignment} WHERE kind = 'approved'`);
      const report = await verify(server);
      expect(report.ok).toBe(false);
      expect(report.problems).toEqual([
        expect.objectContaining({
          table: 'review_events',
          row: expect.stringContaining('#1'),
          problem: 'altered',
          message: expect.stringMatching(new RegExp(`\\b${field}\\b`)),
        }),
      ]);
    });

    it('an approval deleted', async () => {
      const server = await reviewed();
      await unlock(server, 'review_events');
      await sqlOf(server)(`DELETE FROM review_events WHERE kind = 'approved'`);
      const report = await verify(server);
      expect(report.problems).toEqual([
        expect.objectContaining({ table: 'review_events', row: expect.stringContaining('#1'), problem: 'missing' }),
      ]);
    });

    it.each([
      ['status', `status = 'merged'`, 'open'],
      ['status', `status = 'open'`, 'merged'],
      ['author', `author = 'rita'`, 'open'],
      ['label', `label = 'staging'`, 'open'],
      ['sha', `sha = (SELECT sha FROM versions WHERE version = 2), version = 2`, 'open'],
      ['baseSha', `base_sha = NULL, base_version = NULL`, 'open'],
      ['message', `message = 'harmless'`, 'closed'],
      ['deploymentId', `deployment_id = (SELECT MIN(id) FROM deployments)`, 'merged'],
      ['createdAt', `created_at = '2020-01-01T00:00:00.000Z'`, 'open'],
    ])("a change request's %s rewritten (%s)", async (field, assignment, status) => {
      const server = await reviewed();
      await sqlOf(server)(`UPDATE change_requests SET ${assignment} WHERE status = ${lit(status)}`);
      const report = await verify(server);
      expect(report.ok).toBe(false);
      expect(report.problems).toEqual([
        expect.objectContaining({
          table: 'change_requests',
          problem: 'altered',
          message: expect.stringMatching(new RegExp(`\\b${field}\\b`)),
        }),
      ]);
    });

    it('a change request inserted without an entry, and one deleted', async () => {
      const server = await reviewed();
      const sql = sqlOf(server);
      await sql(
        `INSERT INTO change_requests (project_id, prompt_id, label, status, author, message, sha, version, base_sha,
           base_version, created_at, updated_at, deployment_id)
         SELECT project_id, prompt_id, label, 'open', 'rita', 'planted', sha, version, base_sha, base_version,
           created_at, updated_at, NULL FROM change_requests WHERE status = 'open'`,
      );
      const [planted] = await sql(`SELECT MAX(id) AS id FROM change_requests`);
      let report = await verify(server);
      expect(report.problems).toEqual([
        expect.objectContaining({
          table: 'change_requests',
          row: expect.stringContaining(`#${Number(planted!['id'])}`),
          problem: 'unrecorded',
        }),
      ]);
      await sql(`DELETE FROM change_requests WHERE id = ${Number(planted!['id'])}`);
      expect(await verify(server)).toMatchObject({ ok: true, problems: [] });

      await unlock(server, 'review_events');
      await sql(`DELETE FROM review_events WHERE change_request_id = 2`);
      await sql(`DELETE FROM change_requests WHERE id = 2`);
      report = await verify(server);
      expect(report.problems).toContainEqual(
        expect.objectContaining({ table: 'change_requests', row: expect.stringContaining('#2'), problem: 'missing' }),
      );
      expect(report.problems.every((problem) => problem.problem === 'missing')).toBe(true);
    });
  });

  describe('the audit log itself', () => {
    it('its tail cut off (a revoked key revived): caught against the head exported before', async () => {
      const server = await seeded();
      const { keys } = (await api(server, 'GET', '/api/v1/keys')) as { keys: { keyId: string; name: string }[] };
      const reader = keys.find((key) => key.name === 'ci-reader')!;
      await api(server, 'POST', `/api/v1/keys/${reader.keyId}/revoke`);
      const head = await newestEntry(server);
      expect(await verify(server, against(head))).toMatchObject({ ok: true, problems: [] });

      await unlock(server, 'audit_log');
      await sqlOf(server)(`DELETE FROM audit_log WHERE seq = ${head.seq}`);
      await sqlOf(server)(`UPDATE api_keys SET revoked_at = NULL WHERE key_id = ${lit(reader.keyId)}`);
      expect((await verify(server)).ok).toBe(true); // nothing left in the database tells
      const report = await verify(server, against(head));
      expect(report.ok).toBe(false);
      expect(report.problems).toEqual([
        expect.objectContaining({ table: 'audit_log', row: `seq ${head.seq}`, problem: 'truncated' }),
      ]);
    });

    it('rewritten and re-chained: caught against the head exported before', async () => {
      const server = await seeded();
      const head = await newestEntry(server);
      await disguiseBreakGlass(server);
      expect((await verify(server)).ok).toBe(true); // without an anchor or a key, sha256 alone cannot tell
      const report = await verify(server, against(head));
      expect(report.ok).toBe(false);
      expect(report.problems).toEqual([
        expect.objectContaining({ table: 'audit_log', row: `seq ${head.seq}`, problem: 'rewritten' }),
      ]);
    });

    it('rewritten and re-chained: caught by the HMAC key, with no head exported', async () => {
      const server = await seeded(HMAC_KEY);
      await disguiseBreakGlass(server);
      const report = await verify(server);
      expect(report.ok).toBe(false);
      expect(report.problems).toContainEqual(expect.objectContaining({ table: 'audit_log', problem: 'mac_mismatch' }));
    });

    it('re-chained with the HMACs stripped: caught by the HMAC key', async () => {
      const server = await seeded(HMAC_KEY);
      await disguiseBreakGlass(server);
      await sqlOf(server)(`UPDATE audit_log SET mac = NULL`);
      const report = await verify(server);
      expect(report.ok).toBe(false);
      expect(report.problems).toContainEqual(expect.objectContaining({ table: 'audit_log', problem: 'unkeyed' }));
    });

    it('a log written before the key existed verifies, and is sealed by the first start with the key', async () => {
      const db = await freshDb();
      const before = await start(db);
      await seed(before);
      await stop(before);

      const keyed = await start(db, HMAC_KEY);
      const report = await verify(keyed);
      expect(report).toMatchObject({ ok: true, problems: [], hmac: { key: true } });
      expect(report.hmac!.entries).toBeGreaterThan(0); // the seal, at least
      await api(keyed, 'POST', '/api/v1/members', { name: 'bob', role: 'viewer' });
      expect(await verify(keyed)).toMatchObject({ ok: true, problems: [] });

      // The legacy part rewritten and everything after it re-chained: the keyed entries no longer hold.
      await disguiseBreakGlass(keyed);
      expect((await verify(keyed)).problems).toContainEqual(
        expect.objectContaining({ table: 'audit_log', problem: 'mac_mismatch' }),
      );
    });

    it('signs the exported head with the key, and refuses a head file edited by hand', async () => {
      const server = await seeded(HMAC_KEY);
      const { head } = await verify(server);
      expect(head).toMatchObject({ format: 'promptops-audit-head/1', project: 'default', seq: expect.any(Number) });
      expect(head!.signature).toMatch(/^[0-9a-f]{64}$/);
      const signed = `${against(head!)}&againstSignature=${head!.signature!}`;
      expect(await verify(server, signed)).toMatchObject({ ok: true, problems: [] });
      // A forged anchor (an earlier seq, to hide a cut) fails on its signature.
      const [earlier] = await sqlOf(server)(`SELECT seq, hash FROM audit_log WHERE seq = ${head!.seq - 1}`);
      const forged = `?againstSeq=${head!.seq - 1}&againstHash=${String(earlier!['hash'])}&againstSignature=${head!.signature!}`;
      expect((await verify(server, forged)).problems).toEqual([
        expect.objectContaining({ table: 'audit_log', problem: 'head_signature_invalid' }),
      ]);
    });
  });
});
