import type { EvaluationDetails, FlagValue, Hook, HookContext } from '@openfeature/server-sdk';
import { trace, type Span } from '@opentelemetry/api';

/**
 * Writes each evaluation onto the active span: OpenTelemetry's `feature_flag.*` attributes (any flag,
 * any provider) and, for promptops' flags, `promptops.prompt.*` and `promptops.rollout.*` as the SDK's
 * traces write them, so any OTel pipeline sees which prompt version a request used.
 */
export const promptopsOpenFeatureHook: Hook = {
  after(hookContext: Readonly<HookContext>, details: EvaluationDetails<FlagValue>): void {
    const span = trace.getActiveSpan();
    if (span === undefined) return;
    common(span, hookContext);
    if (details.variant !== undefined) span.setAttribute('feature_flag.result.variant', details.variant);
    if (details.reason !== undefined) span.setAttribute('feature_flag.result.reason', details.reason.toLowerCase());
    const meta = details.flagMetadata;
    const sha = meta['sha'];
    if (typeof sha === 'string') span.setAttribute('feature_flag.version', sha);
    if (hookContext.providerMetadata.name !== 'promptops') return;
    const name = meta['name'] ?? promptName(hookContext.flagKey);
    if (typeof name === 'string') span.setAttribute('promptops.prompt.name', name);
    if (typeof sha === 'string') span.setAttribute('promptops.prompt.sha', sha);
    if (typeof meta['version'] === 'number') span.setAttribute('promptops.prompt.version', meta['version']);
    if (typeof meta['rolloutId'] === 'string') {
      span.setAttribute('promptops.rollout.id', meta['rolloutId']);
      if (details.variant === 'baseline' || details.variant === 'candidate') {
        span.setAttribute('promptops.rollout.arm', details.variant);
      }
    }
  },

  error(hookContext: Readonly<HookContext>, error: unknown): void {
    const span = trace.getActiveSpan();
    if (span === undefined) return;
    common(span, hookContext);
    span.setAttribute('feature_flag.result.reason', 'error');
    const code = (error as { code?: unknown } | null)?.code;
    span.setAttribute('error.type', typeof code === 'string' ? code.toLowerCase() : 'general');
    if (error instanceof Error) span.setAttribute('feature_flag.error.message', error.message);
  },
};

const common = (span: Span, hookContext: Readonly<HookContext>): void => {
  span.setAttribute('feature_flag.key', hookContext.flagKey);
  span.setAttribute('feature_flag.provider.name', hookContext.providerMetadata.name);
  const targetingKey = hookContext.context.targetingKey;
  if (typeof targetingKey === 'string') span.setAttribute('feature_flag.context.id', targetingKey);
};

const promptName = (flagKey: string): string | undefined =>
  flagKey.startsWith('prompt:') ? flagKey.slice('prompt:'.length).split('@')[0] : undefined;
