import { rolloutUnitHash } from '@promptops/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openRolloutBake, type GatewayAnswer, type Json, type RolloutBake } from './support/gateway-rollout.js';
import { DIALECTS } from './support/registry.js';

/**
 * A split rollout met by real traffic end to end: the official `openai` client calls the gateway, which
 * serves each unit its arm and forwards to a local OpenAI-compatible upstream per arm (the candidate's
 * provider answers every call with a 500), records the traces, and the lease-held scheduler, ticked
 * here between rounds of traffic, reads those traces and aborts the rollout by itself on its error-rate
 * guardrail. Afterwards the gateway serves every unit the baseline.
 */

/** Calls per round of traffic, and the most rounds before the test gives up (it aborts in about two). */
const ROUND = 40;
const MAX_ROUNDS = 25;

for (const dialect of DIALECTS)
  describe(`a split rollout aborted by the scheduler on gateway traffic, on ${dialect}`, () => {
    let bake: RolloutBake;
    let v1: { sha: string };
    let v2: { sha: string };
    let unit = 0;

    const api = (method: 'GET' | 'POST' | 'PUT', url: string, payload?: unknown): Promise<Json> =>
      bake.api(method, url, payload);
    const send = (unitKey: string): Promise<GatewayAnswer> => bake.send(unitKey);

    beforeAll(async () => {
      bake = await openRolloutBake(dialect, { failCandidate: true });
      ({ v1, v2 } = bake);
    });

    afterAll(async () => {
      await bake?.close();
    });

    it('aborts on the error-rate guardrail by itself; then every unit gets the baseline', async () => {
      const started = await api('POST', '/api/v1/prompts/bake/rollouts', {
        label: 'production',
        candidate: 'v2',
        mode: 'split',
        steps: [50, 100],
        stepDuration: '1h',
        minSamples: 1000,
        guardrails: ['error_rate:+0.02'],
      });
      const id = started['id'] as string;

      let state = 'running';
      const served = { baseline: 0, candidate: 0 };
      for (let round = 0; round < MAX_ROUNDS && state === 'running'; round += 1) {
        const answers = await Promise.all(Array.from({ length: ROUND }, () => send(`user-${(unit += 1)}`)));
        for (const answer of answers) {
          if (answer.arm === 'candidate') {
            served.candidate += 1;
            expect(answer).toMatchObject({ status: 500, sha: v2.sha });
          } else {
            served.baseline += 1;
            expect(answer).toMatchObject({ arm: 'baseline', status: 200, sha: v1.sha });
          }
        }
        // Every trace of the round written, then one look by the lease holder.
        state = (await bake.look(id))['rollout']['state'] as string;
      }
      expect(served.candidate, 'the candidate served some units before the abort').toBeGreaterThan(0);
      expect(bake.app.gateway.stats().traces).toMatchObject({ dropped: 0, failed: 0 });

      const shown = await api('GET', `/api/v1/rollouts/${id}`);
      expect(shown['rollout']).toMatchObject({ state: 'aborted' });
      expect(shown['rollout']['reason']).toMatch(/^error_rate candidate − baseline/);
      expect(shown['decisions'].at(-1)).toMatchObject({
        action: 'abort',
        actor: 'system:rollouts',
        figures: { cause: 'guardrail_failed' },
      });
      const [errors] = (shown['decisions'].at(-1)['figures']['guardrails'] as Json[]).filter(
        (g) => g['metric'] === 'error_rate',
      );
      expect(errors).toMatchObject({ status: 'fail' });
      // The traces carry each unit's hash, never its key, and the SRM check counted units by it.
      expect(shown['decisions'].at(-1)['figures']['srm']).toMatchObject({ counted: 'units' });
      const traces = (await api('GET', `/api/v1/traces?rollout=${id}&limit=500`))['traces'] as Json[];
      const hashes = new Map(Array.from({ length: unit }, (_, i) => [rolloutUnitHash(id, `user-${i + 1}`), i + 1]));
      expect(traces.length).toBeGreaterThan(0);
      for (const trace of traces) expect(hashes.has(trace['rollout']['unit'] as string)).toBe(true);
      expect(JSON.stringify(traces)).not.toMatch(/user-\d/);
      expect((await api('GET', '/api/v1/prompts/bake/labels'))['labels']).toContainEqual(
        expect.objectContaining({ label: 'production', version: 1 }),
      );

      // The abort reaches the gateway through the snapshot, like any SDK: with no rollout left on the label,
      // every unit, those the candidate served included, gets the label's version and no arm of a rollout.
      const after = await Promise.all(Array.from({ length: unit }, (_, i) => send(`user-${i + 1}`)));
      expect(
        after.filter((a) => a.arm !== 'base' || a.rollout !== null || a.sha !== v1.sha || a.status !== 200),
      ).toEqual([]);
    });
  });
