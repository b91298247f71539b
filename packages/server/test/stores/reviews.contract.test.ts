import { expect, it } from 'vitest';
import { rolloutConfig } from '@promptops/core';
import type { PolicyRow } from '../../src/reviews/store.js';
import { describeEachDatabase } from '../support/databases.js';
import { AT, shaOf, storesFixture } from './support.js';

/**
 * The reviews store's contract (reviews/store.ts) on both databases: policies, owners and teams upsert and
 * delete; change requests are reachable only within their project, list newest first and page; review
 * events are kept in order and may never change. Every test gets a fresh, empty database.
 */

const LATER = '2024-11-26T10:00:00.000Z';

describeEachDatabase('reviews store contract: %s', (dialect) => {
  const { open, seed } = storesFixture(dialect);

  const policy = (projectId: number, over: Partial<PolicyRow> = {}): PolicyRow => ({
    projectId,
    label: 'production',
    pattern: '*',
    protected: true,
    approvals: 1,
    minRole: 'reviewer',
    owners: [],
    codeOwners: false,
    suites: [],
    authorMayApprove: false,
    updatedAt: AT,
    updatedBy: 'ada',
    ...over,
  });

  it('upserts, lists and deletes policies, owners and teams, per project', async () => {
    const storage = await open();
    const { project } = await seed(storage);
    const other = await storage.transaction((tx) => tx.registry.createProject('other', AT));
    const strict = policy(project.id, {
      pattern: 'billing/*',
      approvals: 2,
      owners: ['ada', '@team:billing'],
      suites: [{ suite: 'smoke', passRate: 0.9 }, { suite: 'tone' }],
      codeOwners: true,
    });
    await storage.transaction(async (tx) => {
      await tx.reviews.upsertPolicy(strict);
      await tx.reviews.upsertPolicy(policy(project.id));
      await tx.reviews.upsertPolicy(policy(project.id, { label: 'canary' }));
      await tx.reviews.upsertPolicy(policy(other.id));
      await tx.reviews.upsertOwners({
        projectId: project.id,
        pattern: 'billing/*',
        owners: ['bob'],
        updatedAt: AT,
        updatedBy: 'ada',
      });
      await tx.reviews.upsertTeam({
        projectId: project.id,
        team: 'billing',
        members: ['bob', 'eve'],
        updatedAt: AT,
        updatedBy: 'ada',
      });
    });
    // Ordered by (label, pattern); only the project's; a label narrows.
    expect((await storage.reviews.listPolicies(project.id)).map((row) => [row.label, row.pattern])).toEqual([
      ['canary', '*'],
      ['production', '*'],
      ['production', 'billing/*'],
    ]);
    // (Matched, not equal: a policy may carry more settings than these.)
    expect(await storage.reviews.listPolicies(project.id, 'production')).toMatchObject([policy(project.id), strict]);

    // An upsert replaces the row of its key.
    const relaxed = { ...strict, approvals: 1, owners: [], suites: [], updatedAt: LATER, updatedBy: 'bob' };
    await storage.transaction((tx) => tx.reviews.upsertPolicy(relaxed));
    expect((await storage.reviews.listPolicies(project.id, 'production'))[1]).toMatchObject(relaxed);
    await storage.transaction((tx) =>
      tx.reviews.upsertTeam({
        projectId: project.id,
        team: 'billing',
        members: ['eve'],
        updatedAt: LATER,
        updatedBy: 'bob',
      }),
    );
    expect(await storage.reviews.listTeams(project.id)).toEqual([
      { projectId: project.id, team: 'billing', members: ['eve'], updatedAt: LATER, updatedBy: 'bob' },
    ]);
    expect(await storage.reviews.listOwners(project.id)).toEqual([
      { projectId: project.id, pattern: 'billing/*', owners: ['bob'], updatedAt: AT, updatedBy: 'ada' },
    ]);

    // Deletes answer whether there was a row, and reach only their project.
    expect(await storage.transaction((tx) => tx.reviews.deletePolicy(other.id, 'canary', '*'))).toBe(false);
    expect(await storage.transaction((tx) => tx.reviews.deletePolicy(project.id, 'canary', '*'))).toBe(true);
    expect(await storage.transaction((tx) => tx.reviews.deletePolicy(project.id, 'canary', '*'))).toBe(false);
    expect(await storage.transaction((tx) => tx.reviews.deleteOwners(project.id, 'billing/*'))).toBe(true);
    expect(await storage.transaction((tx) => tx.reviews.deleteTeam(other.id, 'billing'))).toBe(false);
    expect(await storage.transaction((tx) => tx.reviews.deleteTeam(project.id, 'billing'))).toBe(true);
    expect(await storage.reviews.listPolicies(project.id)).toHaveLength(2);
    expect(await storage.reviews.listOwners(project.id)).toEqual([]);
    expect(await storage.reviews.listTeams(project.id)).toEqual([]);
    expect(await storage.reviews.listPolicies(other.id)).toMatchObject([policy(other.id)]);
  });

  it('keeps change requests and their events, within their project, newest first', async () => {
    const storage = await open();
    const { project, prompt } = await seed(storage, 3);
    const other = await storage.transaction((tx) => tx.registry.createProject('other', AT));
    const request = (version: number, label = 'production') => ({
      projectId: project.id,
      promptId: prompt.id,
      label,
      author: 'ada',
      message: `ship v${version}`,
      sha: shaOf(`greeter v${version}`),
      version,
      baseSha: null,
      baseVersion: null,
      createdAt: AT,
      // The third proposes a rollout: its plan is kept as given.
      rollout: version === 3 ? rolloutConfig({ mode: 'shadow', steps: [10, 100] }) : null,
    });
    const [first, second, third] = await storage.transaction(async (tx) => [
      await tx.reviews.insertChangeRequest(request(1)),
      await tx.reviews.insertChangeRequest(request(2, 'staging')),
      await tx.reviews.insertChangeRequest(request(3)),
    ]);
    expect(first).toEqual({
      ...request(1),
      id: expect.any(Number),
      name: 'greeter',
      status: 'open',
      updatedAt: AT,
      deploymentId: null,
      rolloutId: null,
    });
    expect(await storage.reviews.getChangeRequest(project.id, first!.id)).toEqual(first);
    expect(await storage.reviews.getChangeRequest(other.id, first!.id)).toBeUndefined();

    const ids = async (filter: Parameters<typeof storage.reviews.listChangeRequests>[1]) =>
      (await storage.reviews.listChangeRequests(project.id, filter)).map((row) => row.id);
    expect(await ids({ limit: 10 })).toEqual([third!.id, second!.id, first!.id]);
    expect(await ids({ limit: 1, beforeId: third!.id })).toEqual([second!.id]);
    expect(await ids({ limit: 10, label: 'production' })).toEqual([third!.id, first!.id]);
    expect(await storage.reviews.listChangeRequests(other.id, { limit: 10 })).toEqual([]);

    // Merging: the status and the deployment change; only the project's request is reached.
    await storage.transaction(async (tx) => {
      await tx.reviews.updateChangeRequest(other.id, first!.id, { status: 'closed', updatedAt: LATER });
      await tx.reviews.updateChangeRequest(project.id, first!.id, { status: 'merged', updatedAt: LATER });
      await tx.reviews.updateChangeRequest(project.id, second!.id, { status: 'closed', updatedAt: LATER });
    });
    expect(await storage.reviews.getChangeRequest(project.id, first!.id)).toMatchObject({
      status: 'merged',
      updatedAt: LATER,
    });
    expect(await ids({ limit: 10, status: 'open' })).toEqual([third!.id]);
    await storage.transaction((tx) =>
      tx.reviews.updateChangeRequest(project.id, third!.id, { rolloutId: 'ro_abcdefghijkl', updatedAt: LATER }),
    );
    expect(await storage.reviews.getChangeRequest(project.id, third!.id)).toMatchObject({
      status: 'open',
      rollout: { mode: 'shadow', steps: [10, 100], minSamplesPerArm: 100 },
      rolloutId: 'ro_abcdefghijkl',
    });
    expect((await storage.reviews.listMergedChangeRequests(prompt.id)).map((row) => row.id)).toEqual([first!.id]);

    const event = (changeRequestId: number, kind: 'opened' | 'approved', actor: string) => ({
      changeRequestId,
      kind,
      actor,
      sha: shaOf('greeter v1'),
      comment: `${kind} by ${actor}`,
      at: AT,
    });
    const events = await storage.transaction(async (tx) => [
      await tx.reviews.insertReviewEvent(event(first!.id, 'opened', 'ada')),
      await tx.reviews.insertReviewEvent(event(third!.id, 'opened', 'ada')),
      await tx.reviews.insertReviewEvent(event(first!.id, 'approved', 'bob')),
    ]);
    expect(events[0]).toEqual({ ...event(first!.id, 'opened', 'ada'), id: expect.any(Number) });
    expect(await storage.reviews.listReviewEvents(first!.id)).toEqual([events[0], events[2]]);
    expect(await storage.reviews.listProjectReviewEvents(project.id, 0, 2)).toEqual([events[0], events[1]]);
    expect(await storage.reviews.listProjectReviewEvents(project.id, events[1]!.id, 10)).toEqual([events[2]]);
    expect(await storage.reviews.listProjectReviewEvents(other.id, 0, 10)).toEqual([]);

    // The timeline is append-only in the database.
    await expect(storage.rawSql(`UPDATE review_events SET comment = 'rewritten'`)).rejects.toThrow(/append-only/);
    await expect(storage.rawSql('DELETE FROM review_events')).rejects.toThrow(/append-only/);
    expect(await storage.reviews.listReviewEvents(first!.id)).toEqual([events[0], events[2]]);
  });
});
