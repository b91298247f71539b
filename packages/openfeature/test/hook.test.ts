import { FlagNotFoundError, OpenFeature, type JsonValue, type Provider } from '@openfeature/server-sdk';
import { trace } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { promptopsOpenFeatureHook } from '@promptops/openfeature';

/** The hook on a real OTel pipeline (in-memory exporter): a rollout's arm, and an error evaluation. */

const exporter = new InMemorySpanExporter();
const tracing = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });

/** Answers as the promptops provider does for a unit inside a rollout; unknown keys are FLAG_NOT_FOUND. */
const provider: Provider = {
  metadata: { name: 'promptops' },
  runsOn: 'server',
  resolveObjectEvaluation: async <T extends JsonValue>(key: string) => {
    if (key !== 'prompt:greeter') throw new FlagNotFoundError(`no prompt for ${key}`);
    return {
      value: { sha: 'abc' } as unknown as T,
      variant: 'candidate',
      reason: 'SPLIT',
      flagMetadata: { sha: 'abc123', version: 18, label: 'production', rolloutId: 'ro_1' },
    };
  },
  resolveBooleanEvaluation: async () => ({ value: false }),
  resolveStringEvaluation: async () => ({ value: '' }),
  resolveNumberEvaluation: async () => ({ value: 0 }),
};

const evaluate = (key: string): Promise<Record<string, unknown>> =>
  trace.getTracer('t').startActiveSpan('request', async (span) => {
    await OpenFeature.getClient('hook-test').getObjectValue(key, {}, { targetingKey: 'user-7' });
    span.end();
    return { ...exporter.getFinishedSpans().at(-1)!.attributes };
  });

describe('promptopsOpenFeatureHook', () => {
  beforeAll(async () => {
    tracing.register();
    await OpenFeature.setProviderAndWait('hook-test', provider);
    OpenFeature.addHooks(promptopsOpenFeatureHook);
  });

  afterAll(async () => {
    await OpenFeature.close();
    await tracing.shutdown();
  });

  it('after: feature_flag.* and the prompt and rollout attributes', async () => {
    expect(await evaluate('prompt:greeter')).toEqual({
      'feature_flag.key': 'prompt:greeter',
      'feature_flag.provider.name': 'promptops',
      'feature_flag.context.id': 'user-7',
      'feature_flag.result.variant': 'candidate',
      'feature_flag.result.reason': 'split',
      'feature_flag.version': 'abc123',
      'promptops.prompt.name': 'greeter',
      'promptops.prompt.sha': 'abc123',
      'promptops.prompt.version': 18,
      'promptops.rollout.id': 'ro_1',
      'promptops.rollout.arm': 'candidate',
    });
  });

  it('error: the key, reason error, error.type and the message', async () => {
    expect(await evaluate('prompt:missing')).toEqual({
      'feature_flag.key': 'prompt:missing',
      'feature_flag.provider.name': 'promptops',
      'feature_flag.context.id': 'user-7',
      'feature_flag.result.reason': 'error',
      'error.type': 'flag_not_found',
      'feature_flag.error.message': 'no prompt for prompt:missing',
    });
  });

  it('writes nothing without an active span', async () => {
    const before = exporter.getFinishedSpans().length;
    await OpenFeature.getClient('hook-test').getObjectValue('prompt:greeter', {});
    expect(exporter.getFinishedSpans().length).toBe(before);
  });
});
