import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { roleRank } from '../src/auth/permissions.js';
import { seedDemo } from '../src/demo/seed.js';
import { DEMO_MEMBERS } from '../src/demo/story.js';
import type { AuditRow } from '../src/registry/store.js';
import type { Role } from '../src/access/store.js';
import { DIALECTS, openTestRegistry, type TestRegistry } from './support/registry.js';

/**
 * The demo's audit log never contradicts its people's roles: whoever broke glass is an admin, whoever
 * approved may approve under the policy, whoever set a policy administers the project, whoever moved a
 * label may deploy. Every action the demo records must be listed here with the role it needs.
 */

/** The lowest role each audited action of the demo needs (the route permissions of auth/permissions.ts). */
const needs = (entry: AuditRow): Role | undefined => {
  switch (entry.action) {
    case 'version.created':
    case 'review.opened':
    case 'review.merged':
    case 'review.closed':
    case 'review.superseded':
    case 'eval.suite.created':
    case 'drift.reported':
    case 'incident.acknowledged':
    case 'incident.resolved':
      return 'editor';
    case 'review.approved':
    case 'review.rejected':
    case 'eval.run.recorded':
      return 'reviewer';
    case 'label.moved':
      // A merge moves the label on the policy's approvals; every other move is a deployer's.
      return (JSON.parse(entry.data) as { kind?: string }).kind === 'merge' ? 'editor' : 'deployer';
    case 'label.rolled_back':
    case 'monitor.created':
    case 'rollout.started':
    case 'rollout.stepped':
    case 'rollout.paused':
    case 'rollout.resumed':
    case 'rollout.aborted':
      return 'deployer';
    case 'override.set':
    case 'override.rolled_back':
      // On a protected label only an admin changes a tenant's override.
      return (JSON.parse(entry.data) as { protectedLabel?: boolean }).protectedLabel === true ? 'admin' : 'editor';
    case 'label.forced':
    case 'policy.set':
    case 'policy.deleted':
    case 'owners.set':
    case 'team.set':
      return 'admin';
    default:
      return undefined;
  }
};

/**
 * Entries written by the server itself while setting the demo up (its members) or by its background jobs
 * (the rollouts' scheduler, the default monitor and what a monitor opens), not by one of its people.
 */
const SYSTEM = new Set(['demo', 'system:rollouts', 'promptops:default-monitor', 'monitor:1']);

for (const dialect of DIALECTS) {
  describe(`the demo's roles on ${dialect}`, () => {
    let registry: TestRegistry;
    let entries: AuditRow[] = [];

    beforeAll(async () => {
      registry = await openTestRegistry(dialect);
      const project = await registry.storage.registry.getProject(registry.projectId);
      // Only what the demo writes: the test registry's own keys were created before it.
      const before = await registry.storage.registry.latestAuditSeq(registry.projectId);
      await seedDemo(registry.storage, project!, new Date('2026-01-15T12:00:00Z'));
      entries = await registry.storage.registry.listAudit(registry.projectId, { afterSeq: before, limit: 10_000 });
    });
    afterAll(async () => {
      await registry.close();
    });

    it('gives every person the role each of their audited actions needs', () => {
      const roles = new Map(DEMO_MEMBERS.map((m) => [m.name, m.role]));
      const contradictions: string[] = [];
      for (const entry of entries) {
        if (SYSTEM.has(entry.actor)) continue;
        const role = roles.get(entry.actor);
        const required = needs(entry);
        if (required === undefined) contradictions.push(`#${entry.seq} ${entry.action}: no role listed for it`);
        else if (role === undefined)
          contradictions.push(`#${entry.seq} ${entry.action} by ${entry.actor}: not a member`);
        else if (roleRank(role) < roleRank(required)) {
          contradictions.push(`#${entry.seq} ${entry.action} by ${entry.actor} (${role}) needs ${required}`);
        }
      }
      expect(contradictions).toEqual([]);
    });

    it('keeps the story: dave breaks glass, alice approves #1, the policy is an admin’s', () => {
      const forced = entries.find((e) => e.action === 'label.forced');
      expect(forced).toMatchObject({ actor: 'dave' });
      expect(roles('dave')).toBe('admin');
      expect(entries.find((e) => e.action === 'review.approved')).toMatchObject({ actor: 'alice' });
      expect(new Set(entries.filter((e) => e.action === 'policy.set').map((e) => roles(e.actor)))).toEqual(
        new Set(['admin']),
      );
    });
  });
}

const roles = (name: string): Role | undefined => DEMO_MEMBERS.find((m) => m.name === name)?.role;
