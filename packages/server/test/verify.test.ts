import { afterEach, describe, expect, it } from 'vitest';
import { dropAppendOnlyTriggersSql, type AppendOnlyTable } from '../src/storage/index.js';
import { DIALECTS, openTestRegistry, textContent, type TestRegistry } from './support/registry.js';

/**
 * `verify` must prove, like `git fsck`, that nothing was altered behind the server's back. Each case
 * drops the append-only triggers (as a DBA with direct SQL access could), alters one row, and checks
 * that verify fails and names that row; an untouched database verifies clean.
 */

type Report = { ok: boolean; problems: { table: string; row: string; problem: string; message: string }[] };

describe.each(DIALECTS)('verify on %s', (dialect) => {
  let registry: TestRegistry | undefined;
  afterEach(async () => {
    await registry?.close();
    registry = undefined;
  });

  const seeded = async (): Promise<TestRegistry> => {
    const r = await openTestRegistry(dialect);
    let parent: string | null = null;
    for (const text of ['Hello', 'Hello there', 'Hi there']) {
      const response = await r.app.inject({
        method: 'POST',
        url: '/api/v1/prompts/greeter/versions',
        headers: { authorization: `Bearer ${r.keys.admin}` },
        payload: { content: textContent('greeter', text), parent },
      });
      parent = (response.json() as { sha: string }).sha;
    }
    for (const ref of ['v1', 'v2']) {
      await r.app.inject({
        method: 'PUT',
        url: '/api/v1/prompts/greeter/labels/production',
        headers: { authorization: `Bearer ${r.keys.admin}` },
        payload: { ref },
      });
    }
    registry = r;
    return r;
  };
  const verify = async (r: TestRegistry): Promise<Report> =>
    (
      await r.app.inject({ method: 'GET', url: '/api/v1/verify', headers: { authorization: `Bearer ${r.keys.admin}` } })
    ).json() as Report;
  const unlock = async (r: TestRegistry, table: AppendOnlyTable): Promise<void> => {
    for (const statement of dropAppendOnlyTriggersSql(dialect, table)) await r.storage.rawSql(statement);
  };
  /** The seq of the entry that recorded the push of greeter's version `version`. */
  const pushSeq = async (r: TestRegistry, version: number): Promise<number> => {
    const entries = await r.storage.registry.listAudit(r.projectId, { limit: 100 });
    const push = entries.find(
      (entry) =>
        entry.action === 'version.created' && (JSON.parse(entry.data) as { version: number }).version === version,
    );
    return push!.seq;
  };

  it('verifies an untouched database clean', async () => {
    const report = await verify(await seeded());
    expect(report).toMatchObject({ ok: true, problems: [], checked: { versions: 3, deployments: 5 } });
  });

  it('the database itself refuses UPDATE and DELETE on history', async () => {
    const r = await seeded();
    await expect(r.storage.rawSql(`UPDATE versions SET message = 'x'`)).rejects.toThrow(/append-only/);
    await expect(r.storage.rawSql(`DELETE FROM deployments`)).rejects.toThrow(/append-only/);
    await expect(r.storage.rawSql(`UPDATE audit_log SET actor = 'mallory'`)).rejects.toThrow(/append-only/);
  });

  it('names the version whose content was altered', async () => {
    const r = await seeded();
    await unlock(r, 'versions');
    await r.storage.rawSql(
      `UPDATE versions SET content = REPLACE(content, 'Hello there', 'Hello there, friend') WHERE version = 2`,
    );
    const report = await verify(r);
    expect(report.ok).toBe(false);
    expect(report.problems).toEqual([
      expect.objectContaining({ table: 'versions', row: 'greeter@v2', problem: 'sha_mismatch' }),
    ]);
  });

  it('names the audit entry that was altered', async () => {
    const r = await seeded();
    const seq = await pushSeq(r, 2);
    await unlock(r, 'audit_log');
    await r.storage.rawSql(`UPDATE audit_log SET actor = 'mallory' WHERE seq = ${seq}`);
    const report = await verify(r);
    expect(report.ok).toBe(false);
    expect(report.problems).toContainEqual(
      expect.objectContaining({ table: 'audit_log', row: `seq ${seq}`, problem: 'hash_mismatch' }),
    );
    // Only the altered row is blamed: the entries after it still link to its stored hash.
    expect(report.problems.filter((p) => p.table === 'audit_log')).toHaveLength(1);
  });

  it('notices a deleted audit entry and a rewritten deployment', async () => {
    const r = await seeded();
    const seq = await pushSeq(r, 1);
    await unlock(r, 'audit_log');
    await r.storage.rawSql(`DELETE FROM audit_log WHERE seq = ${seq}`);
    await unlock(r, 'deployments');
    const [second] = await r.storage.rawSql(`SELECT to_sha FROM deployments WHERE kind = 'push' ORDER BY id LIMIT 1`);
    await r.storage.rawSql(
      `UPDATE deployments SET to_sha = '${String(second!['to_sha'])}' WHERE kind = 'promote' AND to_version = 2`,
    );
    const report = await verify(r);
    expect(report.problems).toContainEqual(expect.objectContaining({ table: 'audit_log', problem: 'gap' }));
    expect(report.problems).toContainEqual(expect.objectContaining({ table: 'deployments', problem: 'altered' }));
  });

  it('notices a label moved by hand in SQL', async () => {
    const r = await seeded();
    const [v3] = await r.storage.rawSql(`SELECT sha FROM versions WHERE version = 3`);
    await r.storage.rawSql(`UPDATE labels SET sha = '${String(v3!['sha'])}', version = 3 WHERE label = 'production'`);
    const report = await verify(r);
    expect(report.problems).toEqual([
      expect.objectContaining({ table: 'labels', row: 'greeter:production', problem: 'altered' }),
    ]);
  });
});
