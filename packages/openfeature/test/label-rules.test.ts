import { OpenFeature, ProviderEvents, StandardResolutionReasons, type Client } from '@openfeature/server-sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PromptopsProvider } from '@promptops/openfeature';
import { ADMIN_KEY, api, greeter, startServerWithGateway, versionOf, waitFor } from './support.js';

/**
 * Targeting rules on a bare label (no rollout) through the provider: a context a label rule decided for
 * is TARGETING_MATCH with the served version as variant, any other STATIC; the gateway serves the same
 * sha from X-Promptops-Context.
 */

const NAME = 'customer_support_greeter';
const v17 = versionOf(greeter(17), 1);
const v18 = versionOf(greeter(18), 2);
const v19 = versionOf(greeter(19), 3);

describe('PromptopsProvider and label rules (sqlite)', () => {
  let server: Awaited<ReturnType<typeof startServerWithGateway>>;
  let provider: PromptopsProvider;
  let of: Client;
  const changed: string[][] = [];

  beforeAll(async () => {
    server = await startServerWithGateway();
    const registry = api(server.url);
    await registry.push(v17.content, null);
    await registry.push(v18.content, v17.sha);
    await registry.push(v19.content, v18.sha);
    await registry.promote(NAME, 'production', 'v1');
    await registry.promote(NAME, 'beta', 'v3');
    provider = new PromptopsProvider({ url: server.url, apiKey: ADMIN_KEY, traces: false, snapshotCheckIntervalMs: 0 });
    await OpenFeature.setProviderAndWait('promptops-label-rules', provider);
    of = OpenFeature.getClient('promptops-label-rules');
    of.addHandler(ProviderEvents.ConfigurationChanged, (details) => changed.push(details?.flagsChanged ?? []));
    await registry.call('PUT', `/api/v1/prompts/${NAME}/labels/production/rules`, {
      rules: [
        { when: [{ attribute: 'plan', op: 'equals', values: ['pro'] }], serve: { version: 2 } },
        { when: [{ attribute: 'tenant', op: 'in', values: ['globex'] }], serve: { label: 'beta' } },
      ],
    });
    // The rules arrive as a change-feed event: CONFIGURATION_CHANGED names the prompt's flag.
    await waitFor(() => changed.some((flags) => flags.includes(`prompt:${NAME}`)), 'the label rules to arrive');
    expect(provider.evaluatePrompt(`prompt:${NAME}`, { plan: 'pro' }).variant).toBe('v2');
  });

  afterAll(async () => {
    await OpenFeature.close();
    await server?.close();
  });

  it('reports TARGETING_MATCH when a label rule decided, STATIC otherwise, like the gateway', async () => {
    const cases: [Record<string, string>, string, string, string][] = [
      [{ plan: 'pro' }, 'v2', v18.sha, StandardResolutionReasons.TARGETING_MATCH],
      [{ targetingKey: 'u1', tenant: 'globex' }, 'v3', v19.sha, StandardResolutionReasons.TARGETING_MATCH],
      [{ targetingKey: 'u1', plan: 'free' }, 'v1', v17.sha, StandardResolutionReasons.STATIC],
    ];
    for (const [context, variant, sha, reason] of cases) {
      const details = await of.getObjectDetails(`prompt:${NAME}`, {}, context);
      expect({ context, variant: details.variant, reason: details.reason }).toEqual({ context, variant, reason });
      expect(details.flagMetadata).toMatchObject({ sha });
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
  });
});
