import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RolloutDecision } from '@promptops/core';
import { seedDemo } from '../src/demo/seed.js';
import type { RolloutDecisionRow, RolloutRow } from '../src/rollouts/store.js';
import { DIALECTS, openTestRegistry, type TestRegistry } from './support/registry.js';

/**
 * The demo's rollouts, taken through the rollout service and decided by its tick on the seed's clock:
 * alice's shadow of the greeter's v18 aborted itself on the live `mentions-var` assertion before v18
 * answered anyone; carol's split of summarize_ticket v4 is running, past its first step.
 */

const NOW = new Date('2026-01-15T12:00:00Z');

for (const dialect of DIALECTS) {
  describe(`the demo's rollouts on ${dialect}`, () => {
    let registry: TestRegistry;
    let rollouts: RolloutRow[] = [];
    const decisions = new Map<string, RolloutDecisionRow[]>();

    beforeAll(async () => {
      registry = await openTestRegistry(dialect);
      const project = await registry.storage.registry.getProject(registry.projectId);
      await seedDemo(registry.storage, project!, NOW);
      rollouts = await registry.storage.rollouts.listRollouts(registry.projectId, { limit: 10 });
      for (const r of rollouts) decisions.set(r.id, await registry.storage.rollouts.listDecisions(r.projectId, r.id));
    }, 120_000);
    afterAll(async () => {
      await registry.close();
    });

    it('has a shadow rollout of v18 that its assertion guardrail aborted, before v18 was forced through', async () => {
      const shadow = rollouts.find((r) => r.name === 'customer_support_greeter');
      expect(shadow).toMatchObject({ mode: 'shadow', label: 'production', state: 'aborted', candidateVersion: 18 });
      const log = decisions.get(shadow!.id)!;
      expect(log.map((d) => [d.action, d.actor])).toEqual([
        ['start', 'alice'],
        ['hold', 'system:rollouts'],
        ['abort', 'system:rollouts'],
      ]);
      const abort = log.at(-1)!.figures as RolloutDecision;
      expect(abort.cause).toBe('guardrail_failed');
      const assertion = abort.guardrails.find((g) => g.metric === 'assertion_pass_rate')!;
      expect(assertion).toMatchObject({ status: 'fail', baseline: { value: 1 }, candidate: { value: 0 } });
      expect(shadow!.reason).toContain('assertion_pass_rate');

      const prompt = await registry.storage.registry.getPrompt(registry.projectId, 'customer_support_greeter');
      const forced = (await registry.storage.registry.listDeployments(prompt!.id, { label: 'production' })).find(
        (d) => d.kind === 'break-glass',
      );
      expect(Date.parse(shadow!.endedAt!)).toBeLessThan(Date.parse(forced!.createdAt));

      const pairs = await registry.storage.traces.queryTraces(
        registry.projectId,
        { rolloutArm: 'candidate', promptName: 'customer_support_greeter' },
        { limit: 500 },
      );
      expect(pairs.length).toBeGreaterThanOrEqual(30); // the guardrail tests from 30 samples per arm
      expect(pairs.every((t) => t.rolloutId === shadow!.id && t.promptVersion === 18)).toBe(true);
      expect(pairs.every((t) => t.startedAtMs <= Date.parse(shadow!.endedAt!))).toBe(true);
      expect(pairs.every((t) => t.shadowOf !== null && `${t.shadowOf}-shadow` === t.eventId)).toBe(true);
      const summary = await registry.storage.traces.shadowPairs(registry.projectId, shadow!.id, { limit: 500 });
      expect(summary.count).toBe(pairs.length);
    });

    it('has a split rollout of summarize_ticket v4 running on production, at 50 % after two steps', () => {
      const split = rollouts.find((r) => r.name === 'summarize_ticket');
      expect(split).toMatchObject({ mode: 'split', label: 'production', state: 'running', candidateVersion: 4 });
      expect(split).toMatchObject({ id: 'ro_splitsummary', stepIndex: 2 }); // 5 -> 25 -> 50 %
      const log = decisions.get(split!.id)!;
      expect(log[0]).toMatchObject({ action: 'start', actor: 'carol' });
      expect(log.filter((d) => d.action === 'advance')).toHaveLength(split!.stepIndex);
      expect(log.every((d) => d.action !== 'pause' && d.action !== 'abort')).toBe(true);
      // The step it is on started within its duration: the live scheduler holds it there after the seed.
      expect(NOW.getTime() - Date.parse(split!.stepStartedAt!)).toBeLessThan(split!.config.minStepDurationMs);
    });
  });
}
