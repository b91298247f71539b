import type { AttributeValue, IngestEvent } from './event.js';

/**
 * OpenTelemetry, when the app has it: `@opentelemetry/api` is an optional peer, imported dynamically
 * once (a variable specifier, so bundlers and the type checker do not require it) and cached. The API
 * keeps its tracer provider in a process-wide registry, so this copy sees the app's provider. Only the
 * few members used here are typed.
 */

export interface SpanLike {
  spanContext(): { readonly traceId: string; readonly spanId: string };
  setAttributes(attributes: Record<string, AttributeValue>): unknown;
  isRecording(): boolean;
}

interface OtelApi {
  readonly trace: { getActiveSpan(): SpanLike | undefined };
}

const SPECIFIER = '@opentelemetry/api';
const INVALID_TRACE_ID = '0'.repeat(32);

let api: OtelApi | null = null;
let loading: Promise<boolean> | undefined;

const asApi = (module: unknown): OtelApi | null => {
  const candidates = [module, (module as { default?: unknown } | null)?.default];
  for (const candidate of candidates) {
    const trace = (candidate as { trace?: { getActiveSpan?: unknown } } | null | undefined)?.trace;
    if (typeof trace?.getActiveSpan === 'function') return candidate as OtelApi;
  }
  return null;
};

/** Starts loading the API (once); resolves whether it is present. Never rejects. */
export const loadOtel = (): Promise<boolean> =>
  (loading ??= import(/* webpackIgnore: true */ /* @vite-ignore */ SPECIFIER).then(
    (module: unknown) => (api = asApi(module)) !== null,
    () => false,
  ));

/** The active span, when the API is loaded and a span is active; never throws. */
export const activeSpan = (): SpanLike | undefined => {
  try {
    const span = api?.trace.getActiveSpan();
    return span !== undefined && span.spanContext().traceId !== INVALID_TRACE_ID ? span : undefined;
  } catch {
    return undefined;
  }
};

/** The promptops and GenAI attributes of one traced call (the server's OTLP reader uses the same names). */
export const spanAttributes = (event: IngestEvent): Record<string, AttributeValue> => {
  const attributes: Record<string, AttributeValue> = { 'promptops.event.id': event.id };
  const set = (key: string, value: AttributeValue | undefined): void => {
    if (value !== undefined) attributes[key] = value;
  };
  set('promptops.prompt.name', event.prompt?.name);
  set('promptops.prompt.sha', event.prompt?.sha);
  set('promptops.prompt.version', event.prompt?.version);
  if (event.prompt?.effectiveSha !== undefined) {
    set('promptops.prompt.base_sha', event.prompt.sha);
    set('promptops.prompt.effective_sha', event.prompt.effectiveSha);
  }
  set('promptops.prompt.override_sha', event.prompt?.overrideSha);
  set('promptops.label', event.label);
  set('promptops.tenant', event.tenant);
  set('promptops.rollout.id', event.rollout?.id);
  set('promptops.rollout.arm', event.rollout?.arm);
  set('promptops.rollout.unit', event.rollout?.unit);
  set('promptops.shadow_of', event.shadowOf);
  set('promptops.release.sha', event.releaseSha);
  for (const [key, value] of Object.entries(event.attributes ?? {})) {
    if (key.startsWith('gen_ai.')) set(key, value);
  }
  if (attributes['gen_ai.request.model'] === undefined) set('gen_ai.request.model', event.model);
  set('gen_ai.provider.name', event.provider);
  set('gen_ai.usage.input_tokens', event.usage?.inputTokens);
  set('gen_ai.usage.output_tokens', event.usage?.outputTokens);
  return attributes;
};

/** Sets `attributes` on `span` if it still records; never throws into the app. */
export const annotateSpan = (span: SpanLike | undefined, attributes: Record<string, AttributeValue>): void => {
  try {
    if (span?.isRecording()) span.setAttributes(attributes);
  } catch {
    // a misbehaving tracer must not break the traced call
  }
};
