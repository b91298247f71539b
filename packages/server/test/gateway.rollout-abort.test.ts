import type { AddressInfo } from 'node:net';
import OpenAI, { APIError } from 'openai';
import type { FastifyInstance } from 'fastify';
import { rolloutUnitHash } from '@promptops/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../src/app/app.js';
import { startFakeUpstream, type FakeUpstream } from './support/fake-upstream.js';
import { call } from './support/http.js';
import { DIALECTS, openTestRegistry, type TestRegistry } from './support/registry.js';

/**
 * A split rollout met by real traffic end to end: the official `openai` client calls the gateway, which
 * serves each unit its arm and forwards to a local OpenAI-compatible upstream per arm (the candidate's
 * provider answers every call with a 500), records the traces, and the lease-held scheduler, ticked
 * here between rounds of traffic, reads those traces and aborts the rollout by itself on its error-rate
 * guardrail. Afterwards the gateway serves every unit the baseline.
 */

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const content = (system: string, provider: string) => ({
  name: 'bake',
  type: 'chat',
  messages: [{ role: 'system', content: system }],
  config: { provider, model: 'gpt-4o-mini', params: {} },
  variables: { user_name: { type: 'string', required: true } },
  slots: {},
});

/** Calls per round of traffic, and the most rounds before the test gives up (it aborts in about two). */
const ROUND = 40;
const MAX_ROUNDS = 25;

for (const dialect of DIALECTS)
  describe(`a split rollout aborted by the scheduler on gateway traffic, on ${dialect}`, () => {
    let registry: TestRegistry;
    let good: FakeUpstream;
    let bad: FakeUpstream;
    let app: FastifyInstance;
    let client: OpenAI;
    let v1: { sha: string };
    let v2: { sha: string };
    let unit = 0;

    const api = async (method: 'GET' | 'POST' | 'PUT', url: string, payload?: unknown): Promise<Json> => {
      const reply = await call<Json>(app, method, url, registry.keys.admin, payload);
      expect(reply.status, `${method} ${url}: ${reply.text}`).toBeLessThan(300);
      return reply.body;
    };

    beforeAll(async () => {
      registry = await openTestRegistry(dialect);
      good = await startFakeUpstream({ record: false });
      bad = await startFakeUpstream({ record: false });
      app = await buildApp({
        storage: registry.storage,
        // Ticked by the test; the timer never starts (start-server.ts starts it).
        rollouts: { holder: 'e2e', tickMs: 60_000 },
        gateway: {
          config: {
            providers: { openai: { baseURL: `${good.url}/v1` }, flaky: { baseURL: `${bad.url}/v1` } },
          },
        },
      });
      await app.listen({ host: '127.0.0.1', port: 0 });
      const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
      client = new OpenAI({ apiKey: registry.keys.editor, baseURL: `${base}/v1`, maxRetries: 0 });
      v1 = (await api('POST', '/api/v1/prompts/bake/versions', {
        content: content('Greet {{user_name}}.', 'openai'),
        parent: null,
        message: 'baseline',
      })) as { sha: string };
      v2 = (await api('POST', '/api/v1/prompts/bake/versions', {
        content: content('Greet {{user_name}} warmly.', 'flaky'),
        parent: v1.sha,
        message: 'candidate',
      })) as { sha: string };
      await api('PUT', '/api/v1/prompts/bake/labels/production', { ref: 'v1' });
    });

    afterAll(async () => {
      await app?.close();
      await good?.close();
      await bad?.close();
      await registry?.close();
    });

    /** One call as a new unit; answers the arm and sha the gateway served (an upstream error included). */
    const send = async (
      unitKey: string,
    ): Promise<{ arm: string | null; sha: string | null; rollout: string | null; status: number }> => {
      // The candidate's upstream fails every call it gets, in OpenAI's error shape.
      bad.script.push({ status: 500, body: { error: { message: 'overloaded', type: 'server_error' } } });
      try {
        const { response } = await client.chat.completions
          .create({
            model: 'prompt:bake@production',
            user: unitKey,
            messages: [{ role: 'user', content: 'hello' }],
            ...({ promptops: { variables: { user_name: 'Ada' } } } as Record<string, unknown>),
          })
          .withResponse();
        return {
          arm: response.headers.get('x-promptops-arm'),
          sha: response.headers.get('x-promptops-sha'),
          rollout: response.headers.get('x-promptops-rollout'),
          status: response.status,
        };
      } catch (error) {
        if (!(error instanceof APIError)) throw error;
        return {
          arm: error.headers?.get('x-promptops-arm') ?? null,
          sha: error.headers?.get('x-promptops-sha') ?? null,
          rollout: error.headers?.get('x-promptops-rollout') ?? null,
          status: error.status ?? 0,
        };
      }
    };

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
        await app.gateway.settle();
        expect((await app.rolloutScheduler.tick()).held).toBe(true);
        state = (await api('GET', `/api/v1/rollouts/${id}`))['rollout']['state'] as string;
      }
      expect(served.candidate, 'the candidate served some units before the abort').toBeGreaterThan(0);
      expect(app.gateway.stats().traces).toMatchObject({ dropped: 0, failed: 0 });

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
