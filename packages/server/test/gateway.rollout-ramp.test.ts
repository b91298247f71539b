import { assignArm, type Arm } from '@promptops/core';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { openRolloutBake, type Json, type RolloutBake } from './support/gateway-rollout.js';
import { DIALECTS } from './support/registry.js';

/**
 * A split rollout met by real gateway traffic (the `openai` client, local fake upstreams), the other two
 * ends of the scheduler beside gateway.rollout-abort: with equal arms it ramps step by step and completes,
 * the label moving to the candidate with a `rollout` deployment; with one arm's units missing (a broken
 * assignment or lost traces) the sample-ratio check pauses it, naming the units. Units are picked with
 * core's assignment so each arm gets exactly the counts wanted; Date is faked (frozen, moved by the test)
 * so the gateway's trace times and the scheduler's clock agree and each step's minute passes on cue.
 */

/** Fresh unit keys whose arm at `ramp` fills `wanted` per arm (a key whose arm is full is skipped). */
const unitsFor = (
  rolloutId: string,
  ramp: number,
  wanted: Record<Arm, number>,
  next: () => string,
): { key: string; arm: Arm }[] => {
  const left = { ...wanted };
  const picked: { key: string; arm: Arm }[] = [];
  while (left.baseline + left.candidate > 0) {
    const key = next();
    const { arm } = assignArm(rolloutId, key, ramp);
    if (left[arm] === 0) continue;
    left[arm] -= 1;
    picked.push({ key, arm });
  }
  return picked;
};

const STEP_MS = 60_000;

for (const dialect of DIALECTS)
  describe(`a split rollout on gateway traffic, on ${dialect}`, () => {
    let bake: RolloutBake;
    const opened: RolloutBake[] = [];
    const open = async (): Promise<void> => {
      bake = await openRolloutBake(dialect);
      opened.push(bake);
    };
    let unit = 0;
    const nextKey = (): string => `user-${(unit += 1)}`;

    afterEach(async () => {
      vi.useRealTimers();
      await Promise.all(opened.splice(0).map((b) => b.close()));
    });

    /** Sends every unit once, 40 at a time, and checks the gateway served each its predicted arm. */
    const serve = async (rolloutId: string, units: readonly { key: string; arm: Arm }[]): Promise<void> => {
      for (let at = 0; at < units.length; at += 40) {
        const batch = units.slice(at, at + 40);
        const answers = await Promise.all(batch.map(({ key }) => bake.send(key)));
        answers.forEach((answer, i) => {
          const { arm } = batch[i]!;
          expect(answer, batch[i]!.key).toEqual({
            arm,
            sha: arm === 'candidate' ? bake.v2.sha : bake.v1.sha,
            rollout: rolloutId,
            status: 200,
          });
        });
      }
    };

    it('ramps equal arms step by step to completion; the label then serves the candidate', async () => {
      // Before the app is built: the gateway and its trace recorder keep the `Date.now` they find.
      vi.useFakeTimers({ toFake: ['Date'], now: Date.now() });
      await open();
      const started = await bake.api('POST', '/api/v1/prompts/bake/rollouts', {
        label: 'production',
        candidate: 'v2',
        mode: 'split',
        steps: [20, 50, 100],
        stepDuration: STEP_MS,
        minSamples: 30,
        guardrails: ['error_rate:+0.02'],
      });
      const id = started['id'] as string;

      for (const [index, ramp] of [20, 50].entries()) {
        // 30 candidate units and the baseline's share beside them: exactly the ramp, so no SRM by chance.
        const wanted = { baseline: Math.round((30 * (100 - ramp)) / ramp), candidate: 30 };
        await serve(id, unitsFor(id, ramp, wanted, nextKey));
        const held = await bake.look(id);
        expect(held['rollout']).toMatchObject({ state: 'running', stepIndex: index, ramp });
        const hold = held['decisions'].at(-1) as Json;
        expect(hold).toMatchObject({ action: 'hold', figures: { cause: 'step_in_progress' } });
        expect(hold['reason']).toMatch(/1 minute left/);
        expect(hold['figures']['step']['samples']).toEqual(wanted);
        expect(hold['figures']['srm']).toMatchObject({
          tested: true,
          mismatch: false,
          counted: 'units',
          observed: [wanted.baseline, wanted.candidate],
        });

        vi.setSystemTime(Date.now() + STEP_MS);
        const passed = (await bake.look(id))['decisions'].at(-1) as Json;
        expect(passed).toMatchObject({
          action: ramp === 50 ? 'complete' : 'advance',
          actor: 'system:rollouts',
          figures: { cause: ramp === 50 ? 'last_step_passed' : 'step_passed' },
        });
      }

      const done = await bake.api('GET', `/api/v1/rollouts/${id}`);
      expect(done['rollout']).toMatchObject({ state: 'completed' });
      expect(done['decisions'].map((d: Json) => d['action'])).toEqual(['start', 'hold', 'advance', 'hold', 'complete']);
      expect(bake.app.gateway.stats().traces).toMatchObject({ dropped: 0, failed: 0 });
      expect((await bake.api('GET', '/api/v1/prompts/bake/labels'))['labels']).toContainEqual(
        expect.objectContaining({ label: 'production', version: 2 }),
      );
      const history = await bake.api('GET', '/api/v1/prompts/bake/deployments?label=production');
      expect(history['deployments'][0]).toMatchObject({ kind: 'rollout', toVersion: 2, actor: 'system:rollouts' });

      // The label moved: every unit, those the baseline served included, now gets v2 and no arm.
      const after = await Promise.all(Array.from({ length: unit }, (_, i) => bake.send(`user-${i + 1}`)));
      expect(
        after.filter((a) => a.arm !== 'base' || a.rollout !== null || a.sha !== bake.v2.sha || a.status !== 200),
      ).toEqual([]);
    });

    it('pauses on a sample-ratio mismatch when one arm loses most of its units, naming them', async () => {
      await open();
      const started = await bake.api('POST', '/api/v1/prompts/bake/rollouts', {
        label: 'production',
        candidate: 'v2',
        mode: 'split',
        steps: [50, 100],
        stepDuration: '1h',
        minSamples: 10_000,
        guardrails: ['error_rate:+0.02'],
      });
      const id = started['id'] as string;
      // At 50 %, 60 baseline units and only 8 candidate ones (the fewest the test looks at) reach the
      // gateway: chi-square 40, p ~ 3e-10.
      await serve(id, unitsFor(id, 50, { baseline: 60, candidate: 8 }, nextKey));
      const { rollout, decisions } = await bake.look(id);
      expect(rollout).toMatchObject({ state: 'paused', ramp: 50 });
      const pause = decisions.at(-1) as Json;
      expect(pause).toMatchObject({
        action: 'pause',
        actor: 'system:rollouts',
        figures: { cause: 'sample_ratio_mismatch' },
      });
      expect(pause['figures']['srm']).toMatchObject({ mismatch: true, counted: 'units', observed: [60, 8] });
      expect(pause['reason']).toMatch(/^sample-ratio mismatch at 50 %: 60 baseline and 8 candidate units,/);
      expect(rollout['reason']).toBe(pause['reason']);
      // Paused is not finished: the label has not moved.
      expect((await bake.api('GET', '/api/v1/prompts/bake/labels'))['labels']).toContainEqual(
        expect.objectContaining({ label: 'production', version: 1 }),
      );
    });
  });
