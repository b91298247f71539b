import { afterAll, beforeAll, expect, it } from 'vitest';
import { createStorage, type RawSqlAccess, type Stores } from '../src/app/stores.js';
import type { NewDriftReport } from '../src/drift/store.js';
import { describeEachDatabase, testDatabase } from './support/databases.js';

/** The drift store's contract on both databases: insert, get, list (paged, newest first), isolation, append-only. */

const report = (projectId: number, prompt: string, n: number): NewDriftReport => ({
  projectId,
  promptName: prompt,
  aSha: 'a'.repeat(64),
  aVersion: 1,
  bSha: 'b'.repeat(64),
  bVersion: 2,
  source: n % 2 === 0 ? 'offline' : 'live',
  suite: n % 2 === 0 ? 'basics' : null,
  windowSince: n % 2 === 0 ? null : '2026-01-01T00:00:00.000Z',
  windowUntil: n % 2 === 0 ? null : '2026-01-02T00:00:00.000Z',
  drifted: n % 3 === 0,
  verdict: `verdict ${n}`,
  report: `{"n":${n}}\n`,
  createdBy: 'ana',
  createdAt: `2026-01-0${n + 1}T00:00:00.000Z`,
});

describeEachDatabase('drift store on %s', (dialect) => {
  let storage: Stores & RawSqlAccess;
  let projects: number[];
  beforeAll(async () => {
    storage = await createStorage(await testDatabase(dialect));
    projects = [];
    for (const name of ['one', 'two']) {
      await storage.rawSql(`insert into projects (name, created_at) values ('${name}', '2026-01-01T00:00:00Z')`);
      projects.push(Number((await storage.registry.getProjectByName(name))!.id));
    }
  });
  afterAll(async () => storage.close());

  it('stores a report and reads it back, byte for byte, only in its project', async () => {
    const [one, two] = projects as [number, number];
    const inserted = await storage.transaction((tx) => tx.drift.insertDriftReport(report(one, 'greeter', 0)));
    expect(inserted).toMatchObject({ projectId: one, promptName: 'greeter', drifted: true, suite: 'basics' });
    expect(await storage.drift.getDriftReport(one, inserted.id)).toEqual(inserted);
    expect((await storage.drift.getDriftReport(one, inserted.id))!.report).toBe('{"n":0}\n');
    expect(await storage.drift.getDriftReport(two, inserted.id)).toBeUndefined();
  });

  it('lists a prompt’s reports newest first without their bodies, paged by id', async () => {
    const [, two] = projects as [number, number];
    const ids: number[] = [];
    for (let n = 1; n <= 4; n += 1) {
      ids.push((await storage.transaction((tx) => tx.drift.insertDriftReport(report(two, 'summarizer', n)))).id);
    }
    await storage.transaction((tx) => tx.drift.insertDriftReport(report(two, 'other', 5)));
    const first = await storage.drift.listDriftReports(two, 'summarizer', { limit: 3 });
    expect(first.map((r) => r.id)).toEqual([ids[3], ids[2], ids[1]]);
    expect(first[0]).not.toHaveProperty('report');
    expect(first[0]).toMatchObject({ source: 'offline', windowSince: null, drifted: false });
    expect(first[1]).toMatchObject({ source: 'live', windowSince: '2026-01-01T00:00:00.000Z', drifted: true });
    const rest = await storage.drift.listDriftReports(two, 'summarizer', { limit: 3, before: ids[1]! });
    expect(rest.map((r) => r.id)).toEqual([ids[0]]);
  });

  it('is append-only', async () => {
    await expect(storage.rawSql(`update drift_reports set verdict = 'x'`)).rejects.toThrow(/append-only/);
    await expect(storage.rawSql('delete from drift_reports')).rejects.toThrow(/append-only/);
  });
});
