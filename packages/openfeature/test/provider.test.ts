import {
  ErrorCode,
  OpenFeature,
  ProviderEvents,
  ProviderStatus,
  StandardResolutionReasons,
  type Client,
} from '@openfeature/server-sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PromptopsProvider } from '@promptops/openfeature';
import { createClient, type PromptopsClient } from '@promptops/sdk';
import { ADMIN_KEY, UNIT_VECTORS, api, greeter, startServerWithGateway, versionOf, waitFor } from './support.js';

/**
 * The OpenFeature server-provider requirements that apply to promptops, as tests (metadata, resolution
 * details, reasons, error codes, events and their order), against a real server on SQLite; and the same
 * unit in the same arm through the SDK, the provider and the gateway, over the published vectors.
 */

const NAME = 'customer_support_greeter';
const v17 = versionOf(greeter(17), 1);
const v18 = versionOf(greeter(18), 2);
const SALT = 'ro_01hx7k';
const units = UNIT_VECTORS.filter((u) => u.salt === SALT && u.unitKey !== null && u.unitKey.isWellFormed());

describe('PromptopsProvider against a real server (sqlite)', () => {
  let server: Awaited<ReturnType<typeof startServerWithGateway>>;
  let sdk: PromptopsClient;
  let provider: PromptopsProvider;
  let of: Client;
  const events: { type: string; flags?: string[] }[] = [];
  let rolloutId = '';

  beforeAll(async () => {
    server = await startServerWithGateway();
    const registry = api(server.url);
    await registry.push(v17.content, null);
    await registry.push(v18.content, v17.sha);
    await registry.promote(NAME, 'production', 'v1');
    await registry.promote(NAME, 'beta', 'v2');
    const options = { url: server.url, apiKey: ADMIN_KEY, traces: false, snapshotCheckIntervalMs: 0 } as const;
    sdk = createClient(options);
    await sdk.ready();
    provider = new PromptopsProvider({
      ...options,
      reconnect: { initialDelayMs: 10, maxDelayMs: 200, probeIntervalMs: 50 },
      onError: () => undefined,
      staleCheckMs: 20,
    });
    of = OpenFeature.getClient('promptops-test');
    for (const type of [
      ProviderEvents.Ready,
      ProviderEvents.Stale,
      ProviderEvents.Error,
      ProviderEvents.ConfigurationChanged,
    ]) {
      of.addHandler(type, (details) =>
        events.push({ type, ...(details?.flagsChanged ? { flags: details.flagsChanged } : {}) }),
      );
    }
  });

  afterAll(async () => {
    await OpenFeature.close();
    await sdk?.close();
    await server?.close();
  });

  it('has metadata naming it, and runs on the server', () => {
    expect(provider.metadata.name).toBe('promptops');
    expect(provider.runsOn).toBe('server');
  });

  it('answers PROVIDER_NOT_READY with the default before it is ready, then READY once the SDK is', async () => {
    const direct = provider.resolveObjectEvaluation(`prompt:${NAME}`, {}, {});
    await expect(direct).rejects.toMatchObject({ code: ErrorCode.PROVIDER_NOT_READY });
    const setting = OpenFeature.setProviderAndWait('promptops-test', provider);
    const early = await of.getObjectDetails(`prompt:${NAME}`, { fallback: true });
    expect(early).toMatchObject({
      value: { fallback: true },
      reason: StandardResolutionReasons.ERROR,
      errorCode: ErrorCode.PROVIDER_NOT_READY,
    });
    await setting;
    expect(of.providerStatus).toBe(ProviderStatus.READY);
    expect(events).toEqual([{ type: ProviderEvents.Ready }]);
  });

  it('resolves a prompt: the value, variant vN, reason STATIC and the flag metadata', async () => {
    const details = await of.getObjectDetails(`prompt:${NAME}`, {});
    expect(details).toMatchObject({
      flagKey: `prompt:${NAME}`,
      variant: 'v1',
      reason: StandardResolutionReasons.STATIC,
      flagMetadata: { sha: v17.sha, version: 1, label: 'production' },
      value: { name: NAME, version: 1, sha: v17.sha, label: 'production', type: 'chat', template: null },
    });
    expect(details.errorCode).toBeUndefined();
    expect((details.value as { messages: unknown }).messages).toEqual(v17.content.messages);
    expect((details.value as { content: unknown }).content).toEqual(v17.content);
    const beta = await of.getObjectDetails(`prompt:${NAME}`, {}, { label: 'beta', targetingKey: 'u-1' });
    expect(beta).toMatchObject({ variant: 'v2', flagMetadata: { sha: v18.sha, label: 'beta' } });
  });

  it('errors carry the spec codes, reason ERROR and the default value', async () => {
    const cases: [Promise<{ errorCode?: ErrorCode; reason?: string; value: unknown }>, ErrorCode][] = [
      [of.getObjectDetails('prompt:no_such_prompt', { d: 1 }), ErrorCode.FLAG_NOT_FOUND],
      [of.getObjectDetails(`prompt:${NAME}`, { d: 1 }, { label: 'no-such-label' }), ErrorCode.FLAG_NOT_FOUND],
      [of.getBooleanDetails('rollout:ro_unknown', false, { targetingKey: 'u' }), ErrorCode.FLAG_NOT_FOUND],
      [of.getBooleanDetails(`prompt:${NAME}`, false), ErrorCode.TYPE_MISMATCH],
      [of.getStringDetails(`prompt:${NAME}`, 'd'), ErrorCode.TYPE_MISMATCH],
      [of.getNumberDetails(`prompt:${NAME}`, 0), ErrorCode.TYPE_MISMATCH],
      [of.getObjectDetails('rollout:ro_1', { d: 1 }), ErrorCode.TYPE_MISMATCH],
      [of.getObjectDetails(NAME, { d: 1 }), ErrorCode.PARSE_ERROR],
      [of.getObjectDetails('prompt:', { d: 1 }), ErrorCode.PARSE_ERROR],
      [of.getObjectDetails(`prompt:${NAME}`, { d: 1 }, { tenant: 42 }), ErrorCode.INVALID_CONTEXT],
    ];
    for (const [evaluation, code] of cases) {
      const details = await evaluation;
      expect(details.errorCode).toBe(code);
      expect(details.reason).toBe(StandardResolutionReasons.ERROR);
      expect(details.value).not.toBeUndefined();
    }
    expect((await of.getObjectDetails('prompt:no_such_prompt', { d: 1 })).value).toEqual({ d: 1 });
  });

  it('a label move emits CONFIGURATION_CHANGED naming the prompt, and the next evaluation serves it', async () => {
    events.length = 0;
    await api(server.url).promote(NAME, 'beta', 'v1');
    await waitFor(() => events.length > 0, 'CONFIGURATION_CHANGED');
    expect(events).toEqual([{ type: ProviderEvents.ConfigurationChanged, flags: [`prompt:${NAME}`] }]);
    expect((await of.getObjectDetails(`prompt:${NAME}`, {}, { label: 'beta' })).flagMetadata.sha).toBe(v17.sha);
  });

  it('inside a split rollout: SPLIT, the arm as variant, and the same arm as the SDK, the gateway and the vectors', async () => {
    events.length = 0;
    const ramp = 25;
    const rollout = await api(server.url).call<{ id: string }>('POST', `/api/v1/prompts/${NAME}/rollouts`, {
      label: 'production',
      candidate: 'v2',
      mode: 'split',
      steps: [ramp, 50, 100],
      salt: SALT,
    });
    rolloutId = rollout.id;
    await waitFor(() => events.some((e) => e.flags?.includes(`rollout:${rolloutId}`)), 'the rollout event');
    await waitFor(() => sdk.get(NAME).rolloutId === rolloutId, 'the SDK to hear the rollout');
    expect(events[0]).toEqual({
      type: ProviderEvents.ConfigurationChanged,
      flags: [`prompt:${NAME}`, `rollout:${rolloutId}`],
    });
    expect(units.length).toBeGreaterThan(3);
    for (const unit of units) {
      const expected = unit.arms.find((a) => a.ramp === ramp)!.arm;
      const context = { targetingKey: unit.unitKey! };
      const details = await of.getObjectDetails(`prompt:${NAME}`, {}, context);
      expect({ unit: unit.name, variant: details.variant }).toEqual({ unit: unit.name, variant: expected });
      expect(details.reason).toBe(StandardResolutionReasons.SPLIT);
      expect(details.flagMetadata).toMatchObject({
        rolloutId,
        sha: expected === 'candidate' ? v18.sha : v17.sha,
      });
      expect(sdk.get(NAME, { unitKey: unit.unitKey }).variant).toBe(expected);
      const inCandidate = await of.getBooleanDetails(`rollout:${rolloutId}`, false, context);
      expect(inCandidate).toMatchObject({ value: expected === 'candidate', variant: expected, reason: 'SPLIT' });
      const answer = await fetch(`${server.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          model: `prompt:${NAME}`,
          user: unit.unitKey,
          promptops: { variables: { user_name: 'Ada', question: 'hi' } },
        }),
      });
      await answer.arrayBuffer();
      expect(answer.status).toBe(200);
      expect(answer.headers.get('x-promptops-arm')).toBe(expected);
    }
    // Without a targeting key: the baseline, not a split.
    const keyless = await of.getObjectDetails(`prompt:${NAME}`, {});
    expect(keyless).toMatchObject({ variant: 'baseline', reason: StandardResolutionReasons.STATIC });
  });

  it('STALE when the server goes away (the snapshot keeps serving), READY again on reconnect', async () => {
    events.length = 0;
    const port = Number(new URL(server.url).port);
    const { startServer } = await import('../../server/src/index.js');
    await server.close();
    await waitFor(() => events.some((e) => e.type === ProviderEvents.Stale), 'STALE');
    expect(of.providerStatus).toBe(ProviderStatus.STALE);
    const served = await of.getObjectDetails(`prompt:${NAME}`, {}, { label: 'beta' });
    expect(served.flagMetadata.sha).toBe(v17.sha);
    const restarted = await startServer({ port, db: server.dbUrl, print: () => undefined });
    try {
      await waitFor(() => events.some((e) => e.type === ProviderEvents.Ready), 'READY after reconnecting');
      expect(events.map((e) => e.type)).toEqual([ProviderEvents.Stale, ProviderEvents.Ready]);
      expect(of.providerStatus).toBe(ProviderStatus.READY);
    } finally {
      await OpenFeature.close();
      const closing = restarted.close();
      restarted.app.server.closeAllConnections();
      await closing;
    }
  });
});
