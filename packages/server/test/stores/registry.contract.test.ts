import { auditHash, GENESIS_HASH, isPromptopsError, verifyChain } from '@promptops/core';
import { describe, expect, it } from 'vitest';
import {
  APPEND_ONLY_TABLES,
  createAppendOnlyTriggersSql,
  dropAppendOnlyTriggersSql,
  StorageConflictError,
} from '../../src/storage/index.js';
import type { AuditRow } from '../../src/registry/store.js';
import type { Stores } from '../../src/app/stores.js';
import { describeEachDatabase } from '../support/databases.js';
import { AT, pushNext, rejection, shaOf, storesFixture, toChain } from './support.js';

/**
 * The registry store's contract (registry/store.ts) on both databases: projects, prompts and versions,
 * labels and deployments, the audit log and its change-feed reads, and the append-only tables. Every test
 * gets a fresh, empty database.
 */

describeEachDatabase('registry store contract: %s', (dialect) => {
  const { backend, open, seed } = storesFixture(dialect);

  describe('projects', () => {
    it('creates, finds and counts projects; a duplicate name is a conflict', async () => {
      const storage = await open();
      const project = await storage.transaction((tx) => tx.registry.createProject('acme', AT));
      expect(project).toEqual({ id: expect.any(Number), name: 'acme', createdAt: AT });
      expect(await storage.registry.getProject(project.id)).toEqual(project);
      expect(await storage.registry.getProjectByName('acme')).toEqual(project);
      expect(await storage.registry.getProjectByName('nope')).toBeUndefined();
      expect(await storage.registry.getProject(project.id + 100)).toBeUndefined();
      expect(await storage.registry.countProjects()).toBe(1);

      const error = await rejection(storage.transaction((tx) => tx.registry.createProject('acme', AT)));
      expect(error).toBeInstanceOf(StorageConflictError);
      expect(isPromptopsError(error) && error.kind).toBe('conflict');
      expect((error as StorageConflictError).reason).toBe('unique_violation');
      expect(await storage.registry.countProjects()).toBe(1);
    });
  });

  describe('prompts and versions', () => {
    it('lockPrompt creates a prompt once, at head 0', async () => {
      const storage = await open();
      const { project, prompt } = await seed(storage);
      expect(prompt).toEqual({
        id: expect.any(Number),
        projectId: project.id,
        name: 'greeter',
        headVersion: 0,
        headSha: null,
        createdAt: AT,
        updatedAt: AT,
      });
      const again = await storage.transaction((tx) =>
        tx.registry.lockPrompt(project.id, 'greeter', '2030-01-01T00:00:00.000Z'),
      );
      expect(again).toEqual(prompt);
      expect(await storage.registry.listPrompts(project.id)).toEqual([prompt]);
      expect(await storage.registry.getPrompt(project.id, 'greeter')).toEqual(prompt);
      expect(await storage.registry.getPrompt(project.id, 'other')).toBeUndefined();
    });

    it('inserts versions and reads them by number, sha and prefix', async () => {
      const storage = await open();
      const { project, prompt } = await seed(storage);
      const shas = [`abcdef1${'0'.repeat(57)}`, `abcdef1${'1'.repeat(57)}`, `abcdef2${'2'.repeat(57)}`];
      const rows = await storage.transaction(async (tx) => {
        const inserted = [];
        for (const [index, sha] of shas.entries()) {
          inserted.push(
            await tx.registry.insertVersion({
              projectId: project.id,
              promptId: prompt.id,
              version: index + 1,
              sha,
              content: `{"n":${index + 1}}`,
              parentSha: shas[index - 1] ?? null,
              author: 'ada',
              message: `change ${index + 1}`,
              createdAt: AT,
            }),
          );
        }
        await tx.registry.setPromptHead(prompt.id, 3, shas[2]!, '2024-11-25T12:00:00.000Z');
        return inserted;
      });
      expect(rows[0]).toEqual({
        projectId: project.id,
        promptId: prompt.id,
        name: 'greeter',
        version: 1,
        sha: shas[0],
        content: '{"n":1}',
        parentSha: null,
        author: 'ada',
        message: 'change 1',
        createdAt: AT,
      });
      expect(await storage.registry.getPrompt(project.id, 'greeter')).toMatchObject({
        headVersion: 3,
        headSha: shas[2],
        updatedAt: '2024-11-25T12:00:00.000Z',
      });

      expect(await storage.registry.getVersionByNumber(prompt.id, 2)).toEqual(rows[1]);
      expect(await storage.registry.getVersionByNumber(prompt.id, 4)).toBeUndefined();
      expect(await storage.registry.getVersionBySha(prompt.id, shas[2]!)).toEqual(rows[2]);
      expect(await storage.registry.getVersionBySha(prompt.id, 'f'.repeat(64))).toBeUndefined();

      expect(await storage.registry.findVersionsByShaPrefix(prompt.id, 'abcdef1', 2)).toHaveLength(2); // ambiguous
      expect(await storage.registry.findVersionsByShaPrefix(prompt.id, 'abcdef2', 2)).toEqual([rows[2]]);
      expect(await storage.registry.findVersionsByShaPrefix(prompt.id, 'abcdef_', 2)).toEqual([]); // no wildcards
      expect(await storage.registry.findVersionsByShaPrefix(prompt.id, 'abcdef', 1)).toHaveLength(1);

      expect((await storage.registry.listVersions(prompt.id, { limit: 10 })).map((row) => row.version)).toEqual([
        3, 2, 1,
      ]);
      expect(
        (await storage.registry.listVersions(prompt.id, { limit: 1, before: 3 })).map((row) => row.version),
      ).toEqual([2]);
    });

    it('rejects a duplicate version number or sha as a conflict', async () => {
      const storage = await open();
      const { project, prompt } = await seed(storage, 1);
      const existing = await storage.registry.getVersionByNumber(prompt.id, 1);
      const base = { ...existing!, projectId: project.id, promptId: prompt.id };

      const sameNumber = await rejection(
        storage.transaction((tx) => tx.registry.insertVersion({ ...base, sha: shaOf('x') })),
      );
      expect(sameNumber).toBeInstanceOf(StorageConflictError);
      const sameSha = await rejection(storage.transaction((tx) => tx.registry.insertVersion({ ...base, version: 2 })));
      expect(sameSha).toBeInstanceOf(StorageConflictError);
      expect(await storage.registry.listVersions(prompt.id, { limit: 10 })).toHaveLength(1);
    });

    it('streams a project’s versions in (prompt, version) order, in batches', async () => {
      const storage = await open();
      const { project } = await seed(storage);
      await storage.transaction(async (tx) => {
        for (let i = 0; i < 3; i++) await pushNext(tx, project.id, 'b-prompt', 'ada');
        for (let i = 0; i < 2; i++) await pushNext(tx, project.id, 'a-prompt', 'ada');
        const other = await tx.registry.createProject('other', AT);
        await pushNext(tx, other.id, 'b-prompt', 'ada');
      });
      const batches: string[][] = [];
      for await (const batch of storage.registry.streamVersions(project.id, 2)) {
        batches.push(batch.map((row) => `${row.name}@v${row.version}`));
      }
      // b-prompt was created first, so it has the lower prompt id.
      expect(batches).toEqual([['b-prompt@v1', 'b-prompt@v2'], ['b-prompt@v3', 'a-prompt@v1'], ['a-prompt@v2']]);

      const exact: number[] = [];
      for await (const batch of storage.registry.streamVersions(project.id, 5)) exact.push(batch.length);
      expect(exact).toEqual([5]);
    });
  });

  describe('labels and deployments', () => {
    it('upserts labels', async () => {
      const storage = await open();
      const { prompt } = await seed(storage, 2);
      const v1 = await storage.registry.getVersionByNumber(prompt.id, 1);
      const v2 = await storage.registry.getVersionByNumber(prompt.id, 2);
      const label = { promptId: prompt.id, label: 'production', updatedAt: AT, updatedBy: 'ada' };
      await storage.transaction((tx) => tx.registry.setLabel({ ...label, sha: v1!.sha, version: 1 }));
      await storage.transaction((tx) => tx.registry.setLabel({ ...label, label: 'staging', sha: v1!.sha, version: 1 }));
      await storage.transaction((tx) =>
        tx.registry.setLabel({
          ...label,
          sha: v2!.sha,
          version: 2,
          updatedAt: '2024-11-26T00:00:00.000Z',
          updatedBy: 'bob',
        }),
      );
      expect(await storage.registry.getLabel(prompt.id, 'production')).toEqual({
        promptId: prompt.id,
        name: 'greeter',
        label: 'production',
        sha: v2!.sha,
        version: 2,
        updatedAt: '2024-11-26T00:00:00.000Z',
        updatedBy: 'bob',
      });
      expect((await storage.registry.listLabels(prompt.id)).map((row) => [row.label, row.version])).toEqual([
        ['production', 2],
        ['staging', 1],
      ]);
      expect(await storage.registry.getLabel(prompt.id, 'canary')).toBeUndefined();
      // A label can only point at a version of its prompt.
      await expect(
        storage.transaction((tx) => tx.registry.setLabel({ ...label, sha: 'f'.repeat(64), version: 9 })),
      ).rejects.toThrow();
    });

    it('lists deployments oldest first, optionally for one label', async () => {
      const storage = await open();
      const { project, prompt } = await seed(storage, 3);
      const sha = (version: number) => shaOf(`greeter v${version}`);
      const moves = [
        { label: 'production', from: null, to: 1, kind: 'promote' },
        { label: 'staging', from: null, to: 2, kind: 'promote' },
        { label: 'production', from: 1, to: 3, kind: 'promote' },
        { label: 'production', from: 3, to: 1, kind: 'rollback' },
      ] as const;
      const inserted = await storage.transaction(async (tx) => {
        const rows = [];
        for (const move of moves) {
          rows.push(
            await tx.registry.insertDeployment({
              projectId: project.id,
              promptId: prompt.id,
              label: move.label,
              fromSha: move.from === null ? null : sha(move.from),
              fromVersion: move.from,
              toSha: sha(move.to),
              toVersion: move.to,
              kind: move.kind,
              actor: 'ada',
              reason: `${move.kind} to v${move.to}`,
              createdAt: AT,
            }),
          );
        }
        return rows;
      });
      expect(inserted[3]).toEqual({
        id: expect.any(Number),
        projectId: project.id,
        promptId: prompt.id,
        name: 'greeter',
        label: 'production',
        fromSha: sha(3),
        fromVersion: 3,
        toSha: sha(1),
        toVersion: 1,
        kind: 'rollback',
        actor: 'ada',
        reason: 'rollback to v1',
        createdAt: AT,
      });
      const all = await storage.registry.listDeployments(prompt.id, {});
      expect(all).toEqual(inserted);
      expect(all.map((row) => row.id)).toEqual([...all.map((row) => row.id)].sort((a, b) => a - b));
      const production = await storage.registry.listDeployments(prompt.id, { label: 'production' });
      expect(production.map((row) => [row.fromVersion, row.toVersion])).toEqual([
        [null, 1],
        [1, 3],
        [3, 1],
      ]);
    });
  });

  describe('audit log', () => {
    it('appends a hash chain that core verifies', async () => {
      const storage = await open();
      const { project } = await seed(storage);
      const appended: AuditRow[] = [];
      for (let i = 1; i <= 4; i++) {
        appended.push(
          await storage.transaction((tx) =>
            tx.registry.appendAudit({
              projectId: project.id,
              at: AT,
              actor: 'ada',
              action: 'version.push',
              target: `greeter@v${i}`,
              data: { z: i, a: { nested: [1, 'two'] } },
            }),
          ),
        );
      }
      expect(appended.map((row) => row.seq)).toEqual([1, 2, 3, 4]);
      expect(appended[0]!.prevHash).toBe(GENESIS_HASH);
      for (const [index, row] of appended.entries()) {
        if (index > 0) expect(row.prevHash).toBe(appended[index - 1]!.hash);
        expect(row.data).toBe(`{"a":{"nested":[1,"two"]},"z":${index + 1}}`); // canonical JSON
        expect(row.hash).toBe(auditHash({ ...row, data: JSON.parse(row.data) as Record<string, unknown> }));
      }

      const stored = await storage.registry.listAudit(project.id, { limit: 100 });
      expect(stored).toEqual(appended);
      expect(verifyChain(toChain(stored))).toEqual([]);
      expect((await storage.registry.listAudit(project.id, { afterSeq: 2, limit: 1 })).map((row) => row.seq)).toEqual([
        3,
      ]);

      // Chains are per project.
      const other = await storage.transaction((tx) => tx.registry.createProject('other', AT));
      const first = await storage.transaction((tx) =>
        tx.registry.appendAudit({
          projectId: other.id,
          at: AT,
          actor: 'bob',
          action: 'project.create',
          target: 'other',
          data: {},
        }),
      );
      expect([first.seq, first.prevHash]).toEqual([1, GENESIS_HASH]);
    });

    it('serializes concurrent appends into one unbroken chain', async () => {
      const storage = await open();
      const { project } = await seed(storage);
      await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          storage.transaction((tx) =>
            tx.registry.appendAudit({
              projectId: project.id,
              at: AT,
              actor: 'ada',
              action: 'a',
              target: `t${i}`,
              data: { i },
            }),
          ),
        ),
      );
      const chain = await storage.registry.listAudit(project.id, { limit: 100 });
      expect(chain.map((row) => row.seq)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
      expect(verifyChain(toChain(chain))).toEqual([]);
    });
  });

  describe('change feed reads', () => {
    /** Moves `label` to `version` the way the label service does: the pointer and its audit entry in one transaction. */
    const moveLabel = (storage: Stores, projectId: number, promptId: number, label: string, version: number) =>
      storage.transaction(async (tx) => {
        const sha = shaOf(`greeter v${version}`);
        await tx.registry.setLabel({ promptId, label, sha, version, updatedAt: AT, updatedBy: 'ada' });
        return tx.registry.appendAudit({
          projectId,
          at: AT,
          actor: 'ada',
          action: 'label.moved',
          target: `greeter:${label}`,
          data: { label, toVersion: version },
        });
      });

    it('latestAuditSeq is the newest seq of the project, 0 when empty', async () => {
      const storage = await open();
      const { project, prompt } = await seed(storage, 2);
      const other = await storage.transaction((tx) => tx.registry.createProject('other', AT));
      expect(await storage.registry.latestAuditSeq(project.id)).toBe(0);
      await moveLabel(storage, project.id, prompt.id, 'production', 1);
      await moveLabel(storage, project.id, prompt.id, 'production', 2);
      expect(await storage.registry.latestAuditSeq(project.id)).toBe(2);
      expect(await storage.registry.latestAuditSeq(other.id)).toBe(0);
      expect(await storage.registry.latestAuditSeq(9999)).toBe(0);
    });

    it('readLabelSnapshot returns the labels with content and the cursor, only of the project and names asked', async () => {
      const storage = await open();
      const { project, prompt } = await seed(storage, 2);
      expect(await storage.registry.readLabelSnapshot(project.id, {})).toEqual({ cursor: 0, labels: [] });
      await moveLabel(storage, project.id, prompt.id, 'staging', 2);
      await moveLabel(storage, project.id, prompt.id, 'production', 1);
      const other = await storage.transaction(async (tx) => {
        const created = await tx.registry.createProject('other', AT);
        await pushNext(tx, created.id, 'secret', 'eve');
        const secret = await tx.registry.lockPrompt(created.id, 'secret', AT);
        await tx.registry.setLabel({
          promptId: secret.id,
          label: 'production',
          sha: shaOf('secret v1'),
          version: 1,
          updatedAt: AT,
          updatedBy: 'eve',
        });
        return created;
      });

      const snapshot = await storage.registry.readLabelSnapshot(project.id, {});
      expect(snapshot.cursor).toBe(2);
      expect(snapshot.labels).toEqual([
        {
          promptId: prompt.id,
          name: 'greeter',
          label: 'production',
          sha: shaOf('greeter v1'),
          version: 1,
          updatedAt: AT,
          updatedBy: 'ada',
          content: '{"version":1}',
        },
        {
          promptId: prompt.id,
          name: 'greeter',
          label: 'staging',
          sha: shaOf('greeter v2'),
          version: 2,
          updatedAt: AT,
          updatedBy: 'ada',
          content: '{"version":2}',
        },
      ]);
      expect(await storage.registry.readLabelSnapshot(project.id, { names: ['greeter', 'absent'] })).toEqual(snapshot);
      expect(await storage.registry.readLabelSnapshot(project.id, { names: ['absent'] })).toEqual({
        cursor: 2,
        labels: [],
      });
      expect(await storage.registry.readLabelSnapshot(project.id, { names: [] })).toEqual({ cursor: 2, labels: [] });
      expect((await storage.registry.readLabelSnapshot(other.id, {})).labels.map((row) => row.name)).toEqual([
        'secret',
      ]);
    });

    it('readLabelSnapshot reads labels and cursor at one instant while labels move', async () => {
      // Two storages on one database: the reader's connection sees the writer's transactions only once committed.
      const url = await backend.freshUrl();
      const storage = await open(url);
      const reader = await open(url);
      const { project, prompt } = await seed(storage, 3);
      let moving = true;
      const mover = (async () => {
        for (let i = 0; i < 60; i++) await moveLabel(storage, project.id, prompt.id, 'production', (i % 3) + 1);
        moving = false;
      })();
      const reads: { cursor: number; version: number | undefined }[] = [];
      while (moving) {
        const { cursor, labels } = await reader.registry.readLabelSnapshot(project.id, {});
        reads.push({ cursor, version: labels.find((row) => row.label === 'production')?.version });
      }
      await mover;
      // The label held what the last move at or before the cursor set: move n (seq n) sets ((n - 1) % 3) + 1.
      for (const read of reads) expect(read.version).toBe(read.cursor === 0 ? undefined : ((read.cursor - 1) % 3) + 1);
      expect(reads.length).toBeGreaterThan(1);
    });

    it('onAuditCommitted announces each audited project after commit, never after a rollback', async () => {
      const storage = await open();
      const { project, prompt } = await seed(storage, 1);
      const other = await storage.transaction((tx) => tx.registry.createProject('other', AT));
      const calls: number[] = [];
      const reads: Promise<[number, number]>[] = [];
      const stop = storage.registry.onAuditCommitted((projectId) => {
        calls.push(projectId);
        // Called after the commit: a read outside the transaction already sees the entry.
        reads.push(storage.registry.latestAuditSeq(projectId).then((seq) => [projectId, seq]));
      });
      await moveLabel(storage, project.id, prompt.id, 'production', 1);
      await storage.transaction(async (tx) => {
        for (const projectId of [project.id, project.id, other.id]) {
          await tx.registry.appendAudit({ projectId, at: AT, actor: 'ada', action: 'a', target: 't', data: {} });
        }
      });
      await storage.transaction((tx) => tx.registry.lockPrompt(project.id, 'quiet', AT)); // no audit entry, no call
      await expect(
        storage.transaction(async (tx) => {
          await tx.registry.appendAudit({
            projectId: project.id,
            at: AT,
            actor: 'ada',
            action: 'a',
            target: 't',
            data: {},
          });
          throw new Error('abort');
        }),
      ).rejects.toThrow('abort');
      expect(calls).toEqual([project.id, project.id, other.id]);
      expect(await Promise.all(reads)).toEqual([
        [project.id, 1],
        [project.id, 3],
        [other.id, 1],
      ]);
      stop();
      await moveLabel(storage, project.id, prompt.id, 'production', 1);
      expect(calls).toHaveLength(3);
    });
  });

  describe('append-only enforcement in the database', () => {
    const seedHistory = async (storage: Stores) => {
      const { project, prompt } = await seed(storage, 1);
      await storage.transaction(async (tx) => {
        await tx.registry.insertDeployment({
          projectId: project.id,
          promptId: prompt.id,
          label: 'production',
          fromSha: null,
          fromVersion: null,
          toSha: shaOf('greeter v1'),
          toVersion: 1,
          kind: 'promote',
          actor: 'ada',
          reason: 'ship it',
          createdAt: AT,
        });
        await tx.registry.appendAudit({
          projectId: project.id,
          at: AT,
          actor: 'ada',
          action: 'a',
          target: 't',
          data: {},
        });
        await tx.registry.appendAudit({
          projectId: project.id,
          at: AT,
          actor: 'ada',
          action: 'b',
          target: 't',
          data: {},
        });
      });
      return { project, prompt };
    };

    const tamper: Record<(typeof APPEND_ONLY_TABLES)[number], string> = {
      versions: `UPDATE versions SET message = 'rewritten'`,
      deployments: `UPDATE deployments SET reason = 'rewritten'`,
      audit_log: `UPDATE audit_log SET actor = 'mallory' WHERE seq = 1`,
    };

    it.each(APPEND_ONLY_TABLES)('rejects UPDATE and DELETE on %s', async (table) => {
      const storage = await open();
      await seedHistory(storage);
      const before = await storage.rawSql(`SELECT * FROM ${table}`);
      await expect(storage.rawSql(tamper[table])).rejects.toThrow(/append-only/);
      await expect(storage.rawSql(`DELETE FROM ${table}`)).rejects.toThrow(/append-only/);
      if (backend.dialect === 'postgres') {
        await expect(storage.rawSql(`TRUNCATE ${table} CASCADE`)).rejects.toThrow(/append-only/);
      }
      expect(await storage.rawSql(`SELECT * FROM ${table}`)).toEqual(before);
    });

    it('lets a DBA drop the triggers to tamper, which verifyChain then detects', async () => {
      const storage = await open();
      const { project } = await seedHistory(storage);
      for (const statement of dropAppendOnlyTriggersSql(backend.dialect, 'audit_log')) await storage.rawSql(statement);
      await storage.rawSql(tamper.audit_log);
      const problems = verifyChain(toChain(await storage.registry.listAudit(project.id, { limit: 10 })));
      expect(problems).toEqual([expect.objectContaining({ seq: 1, problem: 'hash_mismatch' })]);

      for (const statement of createAppendOnlyTriggersSql(backend.dialect, 'audit_log'))
        await storage.rawSql(statement);
      await expect(storage.rawSql(tamper.audit_log)).rejects.toThrow(/append-only/);
    });
  });
});
