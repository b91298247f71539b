export { createClient } from './client.js';
export type {
  ChangeEvent,
  ClientEvents,
  ClientOptions,
  ClientStatus,
  LabelRulesEvent,
  PromptopsClient,
  RolloutEvent,
  Transport,
} from './client.js';
export type { GetOptions } from './resolver.js';
export { ResolvedPrompt, ShadowPrompt } from './resolved-prompt.js';
export type { PromptSource, PromptVariables, Variant } from './resolved-prompt.js';
export type { FallbackOptions } from './fallback.js';
export type { OpenAIChatMessage, OpenAIChatRequest, ToOpenAIOptions } from './openai.js';
export { instrumentOpenAI } from './trace/openai.js';
export type { InstrumentOpenAIOptions, OpenAILike } from './trace/openai.js';
export type { AttributeValue, ScoreInput, ScoreKind, TraceInput } from './trace/event.js';
export type { TraceStats } from './trace/exporter.js';
export type { TraceOptions } from './trace/tracer.js';
export type { ShadowOptions, ShadowStats } from './trace/shadow.js';
export { SseParser } from '@promptops/core/sse';
export type { SseMessage } from '@promptops/core/sse';
// Receivers of promptops webhooks check `X-Promptops-Signature` with these (timestamp window included).
export { signWebhook, verifyWebhookSignature, WEBHOOK_SIGNATURE_HEADER } from '@promptops/core/webhooks';
export type { WebhookVerdict } from '@promptops/core/webhooks';
// Re-exported so apps can catch and switch on `code` without a direct dependency on core.
export { PromptopsError, isPromptopsError } from '@promptops/core/errors';
export type { PromptContent, RenderedPrompt } from '@promptops/core/render';
export type { Lockfile, Snapshot } from '@promptops/core/resolve';
// A rollout's targeting decision, as get() takes it (an OpenFeature provider reports a rule's match with it).
export { decideTargeting } from '@promptops/core/rollouts';
export type { EvaluationContext, TargetingOutcome, TargetingRule } from '@promptops/core/rollouts';
