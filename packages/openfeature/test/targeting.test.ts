import { OpenFeature, ProviderEvents, StandardResolutionReasons, type Client } from '@openfeature/server-sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PromptopsProvider } from '@promptops/openfeature';
import { ADMIN_KEY, api, greeter, startServerWithGateway, versionOf, waitFor } from './support.js';

/**
 * A rollout's targeting rules through the provider: the OpenFeature context is the rules' evaluation
 * context; a unit a rule decided for is TARGETING_MATCH (with the arm, or the served label's version,
 * as variant), one the ramp decided for stays SPLIT, and the gateway serves the same sha from
 * X-Promptops-Context.
 */

const NAME = 'customer_support_greeter';
const v17 = versionOf(greeter(17), 1);
const v18 = versionOf(greeter(18), 2);
const v19 = versionOf(greeter(19), 3);

describe('PromptopsProvider and targeting rules (sqlite)', () => {
  let server: Awaited<ReturnType<typeof startServerWithGateway>>;
  let provider: PromptopsProvider;
  let of: Client;
  let rolloutId = '';
  const changed: string[][] = [];

  beforeAll(async () => {
    server = await startServerWithGateway();
    const registry = api(server.url);
    await registry.push(v17.content, null);
    await registry.push(v18.content, v17.sha);
    await registry.push(v19.content, v18.sha);
    await registry.promote(NAME, 'production', 'v1');
    await registry.promote(NAME, 'beta', 'v3');
    const rollout = await registry.call<{ id: string }>('POST', `/api/v1/prompts/${NAME}/rollouts`, {
      label: 'production',
      candidate: 'v2',
      steps: [1, 100],
    });
    rolloutId = rollout.id;
    provider = new PromptopsProvider({ url: server.url, apiKey: ADMIN_KEY, traces: false, snapshotCheckIntervalMs: 0 });
    await OpenFeature.setProviderAndWait('promptops-targeting', provider);
    of = OpenFeature.getClient('promptops-targeting');
    of.addHandler(ProviderEvents.ConfigurationChanged, (details) => changed.push(details?.flagsChanged ?? []));
    await registry.call('PUT', `/api/v1/rollouts/${rolloutId}/rules`, {
      rules: [
        { when: [{ attribute: 'tenant', op: 'in', values: ['acme'] }], serve: { arm: 'candidate' } },
        { when: [{ attribute: 'plan', op: 'equals', values: ['beta'] }], serve: { label: 'beta' } },
      ],
    });
    await waitFor(() => changed.some((flags) => flags.includes(`rollout:${rolloutId}`)), 'the rules to arrive');
  });

  afterAll(async () => {
    await OpenFeature.close();
    await server?.close();
  });

  it('reports TARGETING_MATCH when a rule decided, SPLIT when the ramp did, like the gateway', async () => {
    const cases: [Record<string, string>, string, string, string][] = [
      [{ targetingKey: 'u1', tenant: 'acme' }, 'candidate', v18.sha, StandardResolutionReasons.TARGETING_MATCH],
      [{ targetingKey: 'u1', plan: 'beta' }, 'v3', v19.sha, StandardResolutionReasons.TARGETING_MATCH],
      [{ targetingKey: 'u1', plan: 'free' }, 'baseline', v17.sha, StandardResolutionReasons.SPLIT],
    ];
    for (const [context, variant, sha, reason] of cases) {
      const details = await of.getObjectDetails(`prompt:${NAME}`, {}, context);
      expect({ context, variant: details.variant, reason: details.reason }).toEqual({ context, variant, reason });
      expect(details.flagMetadata).toMatchObject({ sha, rolloutId });
      const answer = await fetch(`${server.url}/v1/chat/completions`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${ADMIN_KEY}`,
          'content-type': 'application/json',
          'x-promptops-context': JSON.stringify(context),
        },
        body: JSON.stringify({
          model: `prompt:${NAME}`,
          promptops: { variables: { user_name: 'Ada', question: 'hi' } },
        }),
      });
      await answer.arrayBuffer();
      expect(answer.headers.get('x-promptops-sha')).toBe(sha);
    }
    // Attributes alone (no targeting key) reach the rules too.
    const keyless = await of.getObjectDetails(`prompt:${NAME}`, {}, { tenant: 'acme' });
    expect(keyless).toMatchObject({ variant: 'candidate', reason: StandardResolutionReasons.TARGETING_MATCH });
    const inCandidate = await of.getBooleanDetails(`rollout:${rolloutId}`, false, {
      targetingKey: 'u9',
      tenant: 'acme',
    });
    expect(inCandidate).toMatchObject({ value: true, reason: StandardResolutionReasons.TARGETING_MATCH });
  });
});
