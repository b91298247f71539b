import { expect, it } from 'vitest';
import type { NewOverride } from '../../src/tenants/store.js';
import { describeEachDatabase } from '../support/databases.js';
import { AT, rejection, shaOf, storesFixture } from './support.js';

/**
 * The tenants store's contract (tenants/store.ts) on both databases: override versions append per
 * (prompt, tenant), the newest is current, a version number is taken once, rows never change, and one
 * tenant's rows are never another's.
 */

describeEachDatabase('tenants store contract: %s', (dialect) => {
  const { open, seed } = storesFixture(dialect);

  const version = (
    projectId: number,
    promptId: number,
    tenant: string,
    n: number,
    over: Partial<NewOverride> = {},
  ) => ({
    projectId,
    promptId,
    tenant,
    version: n,
    sha: shaOf(`${tenant} ${n}`),
    content: JSON.stringify({ slots: { greeting: `${tenant} ${n}` } }),
    label: 'production',
    baseSha: null,
    author: 'ada',
    message: `v${n}`,
    createdAt: AT,
    ...over,
  });

  it('appends versions; the newest is current; history is newest first; each tenant sees only its own', async () => {
    const storage = await open();
    const { project, prompt } = await seed(storage, 1);
    const pinned = shaOf('greeter v1');
    await storage.transaction(async (tx) => {
      await tx.tenants.insertOverride(version(project.id, prompt.id, 'acme', 1));
      await tx.tenants.insertOverride(version(project.id, prompt.id, 'acme', 2, { baseSha: pinned }));
      await tx.tenants.insertOverride(version(project.id, prompt.id, 'globex', 1, { label: 'staging' }));
    });
    const current = await storage.tenants.currentOverride(prompt.id, 'acme');
    expect(current).toMatchObject({ tenant: 'acme', version: 2, baseSha: pinned, label: 'production', author: 'ada' });
    expect((await storage.tenants.getOverrideVersion(prompt.id, 'acme', 1))?.sha).toBe(shaOf('acme 1'));
    expect(await storage.tenants.getOverrideVersion(prompt.id, 'acme', 3)).toBeUndefined();
    expect((await storage.tenants.overrideHistory(prompt.id, 'acme', 10)).map((r) => r.version)).toEqual([2, 1]);
    expect((await storage.tenants.overrideHistory(prompt.id, 'acme', 1)).map((r) => r.version)).toEqual([2]);
    expect(await storage.tenants.currentOverride(prompt.id, 'initech')).toBeUndefined();
    const all = await storage.tenants.currentOverrides(prompt.id);
    expect(all.map((r) => [r.tenant, r.version, r.label])).toEqual([
      ['acme', 2, 'production'],
      ['globex', 1, 'staging'],
    ]);
    const inProject = await storage.tenants.projectOverrides(project.id);
    expect(inProject.map((r) => [r.name, r.tenant, r.version])).toEqual([
      ['greeter', 'acme', 2],
      ['greeter', 'globex', 1],
    ]);
    const other = await storage.transaction((tx) => tx.registry.createProject('other', AT));
    expect(await storage.tenants.projectOverrides(other.id)).toEqual([]);
  });

  it('takes a version number once per (prompt, tenant), and never changes a row', async () => {
    const storage = await open();
    const { project, prompt } = await seed(storage, 1);
    await storage.transaction((tx) => tx.tenants.insertOverride(version(project.id, prompt.id, 'acme', 1)));
    expect(
      await rejection(
        storage.transaction((tx) => tx.tenants.insertOverride(version(project.id, prompt.id, 'acme', 1))),
      ),
    ).toBeInstanceOf(Error);
    await expect(storage.rawSql("UPDATE tenant_overrides SET message = 'x'")).rejects.toThrow(/append-only/);
    await expect(storage.rawSql('DELETE FROM tenant_overrides')).rejects.toThrow(/append-only/);
    expect((await storage.tenants.currentOverride(prompt.id, 'acme'))?.message).toBe('v1');
  });
});
