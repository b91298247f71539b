/**
 * A flag in your own flag system decides which label of a prompt callers get; promptops serves it; every
 * request's span shows the flag evaluation (`feature_flag.*`) and the prompt's sha (`promptops.prompt.*`).
 * Here the flag system is OpenFeature's in-memory provider: switching its flag moves callers from
 * `production` to `beta` at once, without a deploy.
 *
 *   PROMPTOPS_URL=http://127.0.0.1:4680 PROMPTOPS_API_KEY=po_... npx tsx examples/openfeature/index.ts
 */
import { InMemoryProvider, OpenFeature } from '@openfeature/server-sdk';
import { trace } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { PromptopsProvider, labelFromOpenFeature, promptopsOpenFeatureHook } from '@promptops/openfeature';
import { createClient } from '@promptops/sdk';

export const PROMPT = 'customer_support_greeter';
const LABEL_FLAG = 'greeter-label';

export interface Served {
  readonly user: string;
  readonly label: string | null;
  readonly sha: string;
  readonly variant: string | undefined;
  /** The request span's attributes, as any OTel exporter would receive them. */
  readonly span: Readonly<Record<string, unknown>>;
}

/** Serves `users` twice: with the flag on `production`, then switched to `beta`. */
export const run = async (url: string, apiKey: string, users: readonly string[]): Promise<Served[][]> => {
  // OpenTelemetry: spans kept in memory here; any exporter works the same.
  const exporter = new InMemorySpanExporter();
  const tracing = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  tracing.register();
  const tracer = trace.getTracer('openfeature-example');

  // The team's flag system: which label each caller gets.
  const labelFlag = (variant: 'stable' | 'beta') => ({
    [LABEL_FLAG]: { disabled: false, variants: { stable: 'production', beta: 'beta' }, defaultVariant: variant },
  });
  const flags = new InMemoryProvider(labelFlag('stable'));
  await OpenFeature.setProviderAndWait('flags', flags);

  // promptops as a provider too, so prompt evaluations go through the same hooks.
  const client = createClient({ url, apiKey, traces: false });
  await OpenFeature.setProviderAndWait('prompts', new PromptopsProvider({ client }));
  OpenFeature.addHooks(promptopsOpenFeatureHook);

  const pickLabel = labelFromOpenFeature(OpenFeature.getClient('flags'), LABEL_FLAG);
  const prompts = OpenFeature.getClient('prompts');

  const serve = (user: string): Promise<Served> =>
    tracer.startActiveSpan('handle request', async (span) => {
      const label = await pickLabel(PROMPT, { targetingKey: user });
      const details = await prompts.getObjectDetails(
        `prompt:${PROMPT}`,
        {},
        { targetingKey: user, ...(label === undefined ? {} : { label }) },
      );
      span.end();
      const value = details.value as { label?: string | null; sha?: string };
      const ended = exporter.getFinishedSpans().find((s) => s.spanContext().spanId === span.spanContext().spanId);
      return {
        user,
        label: value.label ?? null,
        sha: value.sha ?? '',
        variant: details.variant,
        span: { ...ended?.attributes },
      };
    });

  try {
    const before = await Promise.all(users.map(serve));
    await flags.putConfiguration(labelFlag('beta')); // the switch: no deploy, no restart
    const after = await Promise.all(users.map(serve));
    return [before, after];
  } finally {
    await OpenFeature.close();
    await client.close();
    await tracing.shutdown();
  }
};

if (import.meta.url === `file://${process.argv[1]}`) {
  const url = process.env['PROMPTOPS_URL'] ?? 'http://127.0.0.1:4680';
  const apiKey = process.env['PROMPTOPS_API_KEY'] ?? '';
  const [before, after] = await run(url, apiKey, ['user-1', 'user-2']);
  for (const [when, served] of [
    ['flag on stable', before!],
    ['flag switched to beta', after!],
  ] as const) {
    console.log(`${when}:`);
    for (const s of served) console.log(`  ${s.user}: label ${s.label}, sha ${s.sha.slice(0, 12)}`, s.span);
  }
}
