import { DEFAULT_ROLLOUT_CONFIG } from '@promptops/core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createStorage, type RawSqlAccess, type Stores } from '../../src/app/stores.js';
import type { NewRollout } from '../../src/rollouts/store.js';
import { StorageConflictError } from '../../src/storage/index.js';
import { describeEachDatabase, testDatabase } from '../support/databases.js';
import { openTestRegistry, textContent, type TestRegistry } from '../support/registry.js';

/**
 * The rollout and lease stores' contract on both databases: rows round-trip, one active rollout per
 * (prompt, label) is the database's rule, decisions are append-only, and a lease passes to another
 * holder only once it has expired.
 */

describeEachDatabase('rollout store on %s', (dialect) => {
  let registry: TestRegistry;
  let storage: Stores & RawSqlAccess;
  let promptId = 0;
  let sha = '';
  let otherSha = '';

  const push = async (template: string, parent: string | null): Promise<string> => {
    const response = await registry.app.inject({
      method: 'POST',
      url: '/api/v1/prompts/greeter/versions',
      headers: { authorization: `Bearer ${registry.keys.editor}` },
      payload: { content: textContent('greeter', template), parent, message: template },
    });
    expect(response.statusCode).toBe(201);
    return (response.json() as { sha: string }).sha;
  };

  const rollout = (id: string, over: Partial<NewRollout> = {}): NewRollout => ({
    id,
    projectId: registry.projectId,
    promptId,
    label: 'production',
    mode: 'split',
    baselineSha: sha,
    candidateSha: otherSha,
    candidateVersion: 2,
    salt: id,
    config: DEFAULT_ROLLOUT_CONFIG,
    state: 'running',
    stepIndex: 0,
    stepStartedAt: '2025-01-01T00:00:00.000Z',
    reason: null,
    createdBy: 'dana',
    createdAt: '2025-01-01T00:00:00.000Z',
    ...over,
  });

  beforeAll(async () => {
    registry = await openTestRegistry(dialect);
    storage = registry.storage;
    sha = await push('Hello v1', null);
    otherSha = await push('Hello v2', sha);
    promptId = (await storage.registry.getPrompt(registry.projectId, 'greeter'))!.id;
  });
  afterAll(async () => {
    await registry.close();
  });

  it('round-trips a rollout and lists it, with its candidate for the snapshot', async () => {
    const made = await storage.transaction((tx) => tx.rollouts.insertRollout(rollout('ro_aaaaaaaaaaa1')));
    expect(made).toMatchObject({ id: 'ro_aaaaaaaaaaa1', name: 'greeter', state: 'running', endedAt: null });
    expect(made.config).toEqual(DEFAULT_ROLLOUT_CONFIG);
    expect(await storage.rollouts.activeRollout(registry.projectId, promptId, 'production')).toMatchObject({
      id: 'ro_aaaaaaaaaaa1',
    });
    const [forSnapshot] = await storage.rollouts.snapshotRollouts(registry.projectId);
    expect(JSON.parse(forSnapshot!.candidateContent)).toMatchObject({ template: 'Hello v2' });
    expect((await storage.rollouts.runningRollouts()).map((r) => r.id)).toContain('ro_aaaaaaaaaaa1');
    expect(
      await storage.rollouts.listRollouts(registry.projectId, { state: 'running', label: 'production', limit: 10 }),
    ).toHaveLength(1);
  });

  it('refuses a second active rollout of the same (prompt, label) in the database', async () => {
    const second = storage.transaction((tx) => tx.rollouts.insertRollout(rollout('ro_aaaaaaaaaaa2')));
    await expect(second).rejects.toBeInstanceOf(StorageConflictError);
    // Another label is free, and so is this one once the first has ended.
    await storage.transaction((tx) => tx.rollouts.insertRollout(rollout('ro_aaaaaaaaaaa3', { label: 'staging' })));
    const ended = await storage.transaction((tx) =>
      tx.rollouts.updateRollout(registry.projectId, 'ro_aaaaaaaaaaa1', {
        state: 'aborted',
        reason: 'worse',
        endedAt: '2025-01-01T01:00:00.000Z',
        updatedAt: '2025-01-01T01:00:00.000Z',
      }),
    );
    expect(ended).toMatchObject({ state: 'aborted', reason: 'worse', endedAt: '2025-01-01T01:00:00.000Z' });
    await storage.transaction((tx) => tx.rollouts.insertRollout(rollout('ro_aaaaaaaaaaa2')));
    expect((await storage.rollouts.activeRollout(registry.projectId, promptId, 'production'))?.id).toBe(
      'ro_aaaaaaaaaaa2',
    );
  });

  it('keeps decisions in order, append-only', async () => {
    const at = '2025-01-01T02:00:00.000Z';
    await storage.transaction(async (tx) => {
      await tx.rollouts.insertDecision({
        rolloutId: 'ro_aaaaaaaaaaa2',
        projectId: registry.projectId,
        at,
        action: 'start',
        actor: 'dana',
        reason: 'go',
        figures: null,
      });
      await tx.rollouts.insertDecision({
        rolloutId: 'ro_aaaaaaaaaaa2',
        projectId: registry.projectId,
        at,
        action: 'hold',
        actor: 'system:rollouts',
        reason: 'too few samples',
        figures: { step: { index: 0 } },
      });
    });
    const decisions = await storage.rollouts.listDecisions(registry.projectId, 'ro_aaaaaaaaaaa2');
    expect(decisions.map((d) => [d.action, d.figures])).toEqual([
      ['start', null],
      ['hold', { step: { index: 0 } }],
    ]);
    await expect(storage.rawSql(`UPDATE rollout_decisions SET reason = 'x'`)).rejects.toThrow(/append-only/);
    await expect(storage.rawSql(`DELETE FROM rollout_decisions`)).rejects.toThrow(/append-only/);
  });

  it('locks a rollout inside a transaction and reads it back', async () => {
    const locked = await storage.transaction((tx) => tx.rollouts.lockRollout(registry.projectId, 'ro_aaaaaaaaaaa2'));
    expect(locked?.state).toBe('running');
    expect(
      await storage.transaction((tx) => tx.rollouts.lockRollout(registry.projectId, 'ro_missing')),
    ).toBeUndefined();
  });
});

describeEachDatabase('lease store on %s', (dialect) => {
  let storage: Stores & RawSqlAccess;
  beforeAll(async () => {
    storage = await createStorage(await testDatabase(dialect));
  });
  afterAll(async () => {
    await storage.close();
  });

  const t0 = new Date('2025-01-01T00:00:00.000Z');
  const at = (ms: number): Date => new Date(t0.getTime() + ms);

  it('is held by one holder until it expires, then taken over', async () => {
    expect(await storage.leases.acquire('rollouts', 'a', t0, 30_000)).toBe(true);
    expect(await storage.leases.acquire('rollouts', 'b', at(10_000), 30_000)).toBe(false);
    // The holder renews.
    expect(await storage.leases.acquire('rollouts', 'a', at(20_000), 30_000)).toBe(true);
    expect(await storage.leases.acquire('rollouts', 'b', at(40_000), 30_000)).toBe(false);
    // a stopped renewing: at 50 s its lease has expired and b takes it over.
    expect(await storage.leases.acquire('rollouts', 'b', at(50_000), 30_000)).toBe(true);
    expect(await storage.leases.get('rollouts')).toEqual({
      name: 'rollouts',
      holder: 'b',
      expiresAt: at(80_000).toISOString(),
    });
    expect(await storage.leases.acquire('rollouts', 'a', at(60_000), 30_000)).toBe(false);
  });

  it('is given up by its holder only', async () => {
    await storage.leases.release('rollouts', 'a');
    expect((await storage.leases.get('rollouts'))?.holder).toBe('b');
    await storage.leases.release('rollouts', 'b');
    expect(await storage.leases.get('rollouts')).toBeUndefined();
    expect(await storage.leases.acquire('rollouts', 'a', at(61_000), 30_000)).toBe(true);
  });

  it('goes to exactly one of many replicas asking at once', async () => {
    const holders = Array.from({ length: 8 }, (_, i) => `replica-${i}`);
    const taken = await Promise.all(holders.map((h) => storage.leases.acquire('monitor', h, t0, 30_000)));
    expect(taken.filter(Boolean)).toHaveLength(1);
  });
});
