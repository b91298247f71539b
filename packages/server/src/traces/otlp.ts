import { PromptopsError } from '@promptops/core';
import { ATTRIBUTE_LIMITS, MAX_BATCH_EVENTS } from './limits.js';
import { sanitizeEntries } from './sanitize.js';

/**
 * OTLP spans to promptops trace events. Reads the GenAI semantic conventions (`gen_ai.*`), the promptops
 * attributes (`promptops.prompt.name`, `.sha`, `.version`, `.base_sha`, `.override_sha`, `promptops.label`, `.tenant`, `.rollout.id`,
 * `.rollout.arm`, `promptops.shadow_of`, `.release.sha`) and OpenFeature's `feature_flag.*` (on the span or on its
 * `feature_flag` evaluation events), and what Langfuse's exporter (`@langfuse/otel`) records of a generation
 * (`langfuse.observation.prompt.name`, `.version`, model, usage, output, level). Spans that carry no
 * `gen_ai.*` or `promptops.*` attribute and are no Langfuse generation or prompt-linked observation are
 * not LLM calls: they are skipped, not rejected. Attributes are read into Maps, so no key is ever used
 * as an object property; what is kept is sanitized like any ingest event's attributes.
 */

type AttrValue = string | number | boolean | null | AttrValue[] | { [key: string]: AttrValue };

interface OtlpSpanView {
  readonly traceId: string;
  readonly spanId: string;
  readonly parentSpanId: string;
  readonly startNs: bigint | null;
  readonly endNs: bigint | null;
  readonly statusCode: number;
  readonly statusMessage: string;
  readonly attributes: Map<string, AttrValue>;
  readonly events: { readonly name: string; readonly attributes: Map<string, AttrValue> }[];
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array);

const list = (value: unknown): unknown[] => (Array.isArray(value) ? value : []);

const hexOf = (value: unknown): string => {
  if (value instanceof Uint8Array) return Buffer.from(value).toString('hex');
  // OTLP/JSON carries ids as hex strings (not base64, unlike the generic protobuf JSON mapping).
  return typeof value === 'string' && /^[0-9a-fA-F]*$/.test(value) ? value.toLowerCase() : '';
};

/**
 * A fixed64 time: a decimal string, or (as the protobuf JSON mapping also allows) a JSON number. Today's
 * times in nanoseconds exceed 2^53, so a number has lost up to a few hundred ns in JSON.parse: nothing at
 * the millisecond resolution stored. Every number that large is an integer, so BigInt takes it.
 */
const nanos = (value: unknown): bigint | null => {
  if (typeof value === 'number' && Number.isInteger(value) && value >= 0 && value < 2 ** 64) return BigInt(value);
  if (typeof value === 'string' && /^\d{1,20}$/.test(value)) return BigInt(value);
  return null;
};

const MAX_ANY_DEPTH = 4;

const anyValue = (value: unknown, depth = 0): AttrValue => {
  if (!isRecord(value) || depth > MAX_ANY_DEPTH) return null;
  if (typeof value['stringValue'] === 'string') return value['stringValue'];
  if (typeof value['boolValue'] === 'boolean') return value['boolValue'];
  if (value['intValue'] !== undefined) {
    const n = Number(value['intValue']);
    return Number.isFinite(n) ? n : null;
  }
  if (value['doubleValue'] !== undefined) {
    const n = Number(value['doubleValue']);
    return Number.isFinite(n) ? n : null;
  }
  if (isRecord(value['arrayValue']))
    return list(value['arrayValue']['values']).map((item) => anyValue(item, depth + 1));
  if (isRecord(value['kvlistValue'])) {
    const out = Object.create(null) as Record<string, AttrValue>;
    for (const [key, inner] of keyValues(value['kvlistValue']['values'], depth + 1)) out[key] = inner;
    return out;
  }
  const bytes = value['bytesValue'];
  if (bytes instanceof Uint8Array) return Buffer.from(bytes).toString('base64');
  if (typeof bytes === 'string') return bytes;
  return null;
};

function keyValues(value: unknown, depth = 0): Map<string, AttrValue> {
  const map = new Map<string, AttrValue>();
  for (const item of list(value)) {
    if (isRecord(item) && typeof item['key'] === 'string') map.set(item['key'], anyValue(item['value'], depth));
  }
  return map;
}

/** Every span of a decoded ExportTraceServiceRequest (JSON or protobuf), with its resource's attributes. */
const spansOf = (request: unknown): { span: unknown; resource: Map<string, AttrValue> }[] => {
  const out: { span: unknown; resource: Map<string, AttrValue> }[] = [];
  if (!isRecord(request)) return out;
  for (const resourceSpans of list(request['resourceSpans'])) {
    if (!isRecord(resourceSpans)) continue;
    const resource = isRecord(resourceSpans['resource'])
      ? keyValues(resourceSpans['resource']['attributes'])
      : new Map<string, AttrValue>();
    for (const scopeSpans of list(resourceSpans['scopeSpans'])) {
      if (!isRecord(scopeSpans)) continue;
      for (const span of list(scopeSpans['spans'])) out.push({ span, resource });
    }
  }
  return out;
};

const viewOf = (span: unknown): OtlpSpanView | undefined => {
  if (!isRecord(span)) return undefined;
  const status = isRecord(span['status']) ? span['status'] : {};
  return {
    traceId: hexOf(span['traceId']),
    spanId: hexOf(span['spanId']),
    parentSpanId: hexOf(span['parentSpanId']),
    startNs: nanos(span['startTimeUnixNano']),
    endNs: nanos(span['endTimeUnixNano']),
    statusCode: Number(status['code'] ?? 0),
    statusMessage: typeof status['message'] === 'string' ? status['message'] : '',
    attributes: keyValues(span['attributes']),
    events: list(span['events']).flatMap((event) =>
      isRecord(event)
        ? [{ name: typeof event['name'] === 'string' ? event['name'] : '', attributes: keyValues(event['attributes']) }]
        : [],
    ),
  };
};

/** Langfuse's observation attributes (`LangfuseOtelSpanAttributes` in `@langfuse/core`). */
const LANGFUSE = {
  type: 'langfuse.observation.type',
  promptName: 'langfuse.observation.prompt.name',
  promptVersion: 'langfuse.observation.prompt.version',
  model: 'langfuse.observation.model.name',
  usage: 'langfuse.observation.usage_details',
  output: 'langfuse.observation.output',
  level: 'langfuse.observation.level',
  statusMessage: 'langfuse.observation.status_message',
} as const;

const isLlmSpan = (attributes: Map<string, AttrValue>): boolean => {
  for (const key of attributes.keys()) if (key.startsWith('gen_ai.') || key.startsWith('promptops.')) return true;
  return attributes.get(LANGFUSE.type) === 'generation' || attributes.has(LANGFUSE.promptName);
};

const text = (value: AttrValue | undefined): string | undefined =>
  typeof value === 'string' && value !== '' ? value : typeof value === 'number' ? String(value) : undefined;

const integer = (value: AttrValue | undefined): number | undefined => {
  const n = typeof value === 'string' ? Number(value.replace(/^v/, '')) : value;
  return typeof n === 'number' && Number.isSafeInteger(n) ? n : undefined;
};

const number = (value: AttrValue | undefined): number | undefined => {
  const n = typeof value === 'string' ? Number(value) : value;
  return typeof n === 'number' && Number.isFinite(n) ? n : undefined;
};

/** The text of `gen_ai.output.messages` (JSON: [{ role, parts: [{ type: "text", content }] }]). */
const outputMessagesText = (value: AttrValue | undefined): string | undefined => {
  if (typeof value !== 'string') return undefined;
  try {
    const messages = JSON.parse(value) as unknown;
    const parts = list(messages).flatMap((message) => (isRecord(message) ? list(message['parts']) : []));
    const texts = parts.flatMap((part) =>
      isRecord(part) && typeof part['content'] === 'string' ? [part['content']] : [],
    );
    return texts.length === 0 ? undefined : texts.join('\n');
  } catch {
    return undefined;
  }
};

const variablesOf = (value: AttrValue | undefined): unknown => {
  if (typeof value !== 'string') return isRecord(value) ? value : undefined;
  try {
    return JSON.parse(value) as unknown;
  } catch {
    return undefined;
  }
};

/** Langfuse's `usage_details` (JSON: { input, output, total } or OpenAI's prompt/completion_tokens). */
const langfuseUsage = (value: AttrValue | undefined): { input?: number | undefined; output?: number | undefined } => {
  const usage = variablesOf(value);
  if (!isRecord(usage)) return {};
  const count = (...keys: string[]) => keys.map((key) => integer(usage[key] as AttrValue)).find((n) => n !== undefined);
  return { input: count('input', 'prompt_tokens'), output: count('output', 'completion_tokens') };
};

/** Attributes mapped to columns; everything else is kept (bounded) in `attributes`. */
const MAPPED = new Set([
  'promptops.prompt.name',
  'promptops.prompt.version',
  'promptops.prompt.sha',
  'promptops.prompt.effective_sha',
  'promptops.prompt.base_sha',
  'promptops.prompt.override_sha',
  'promptops.override_sha',
  'promptops.label',
  'promptops.tenant',
  'promptops.rollout.id',
  'promptops.rollout.arm',
  'promptops.rollout.unit',
  'promptops.shadow_of',
  'promptops.release.sha',
  'promptops.variables',
  'promptops.output',
  'promptops.cost',
  'promptops.event.id',
  'gen_ai.request.model',
  'gen_ai.provider.name',
  'gen_ai.system',
  'gen_ai.usage.input_tokens',
  'gen_ai.usage.output_tokens',
  'gen_ai.usage.prompt_tokens',
  'gen_ai.usage.completion_tokens',
  'gen_ai.output.messages',
  'gen_ai.completion',
  LANGFUSE.promptName,
  LANGFUSE.promptVersion,
  LANGFUSE.model,
  LANGFUSE.usage,
  LANGFUSE.output,
]);

const NS_PER_MS = 1_000_000n;

/** One span as an ingest event (validated afterwards by the same schema as `POST /api/v1/ingest`). */
const toEvent = (view: OtlpSpanView, resource: Map<string, AttrValue>): Record<string, unknown> => {
  const a = view.attributes;
  // OpenFeature: flag evaluations recorded as span events fill in what the span itself lacks.
  const flags = new Map<string, AttrValue>();
  for (const event of view.events) {
    if (event.name.startsWith('feature_flag'))
      for (const [key, value] of event.attributes) if (!flags.has(key)) flags.set(key, value);
  }
  const get = (key: string): AttrValue | undefined => a.get(key) ?? flags.get(key);
  const exception = view.events.find((event) => event.name === 'exception');

  const promptName = text(a.get('promptops.prompt.name')) ?? text(a.get(LANGFUSE.promptName));
  const rolloutId = text(a.get('promptops.rollout.id')) ?? text(get('feature_flag.key'));
  const rolloutArm =
    text(a.get('promptops.rollout.arm')) ??
    text(get('feature_flag.result.variant')) ??
    text(get('feature_flag.variant'));
  const langfuseTokens = langfuseUsage(a.get(LANGFUSE.usage));
  const inputTokens =
    integer(a.get('gen_ai.usage.input_tokens') ?? a.get('gen_ai.usage.prompt_tokens')) ?? langfuseTokens.input;
  const outputTokens =
    integer(a.get('gen_ai.usage.output_tokens') ?? a.get('gen_ai.usage.completion_tokens')) ?? langfuseTokens.output;
  const isError = view.statusCode === 2 || a.get(LANGFUSE.level) === 'ERROR';
  const error = isError
    ? (text(view.statusMessage) ??
      text(a.get(LANGFUSE.statusMessage)) ??
      text(exception?.attributes.get('exception.message')) ??
      text(a.get('error.type')) ??
      'error')
    : undefined;

  const extra: [string, unknown][] = [];
  for (const [key, value] of a) if (!MAPPED.has(key)) extra.push([key, value]);
  const service = text(resource.get('service.name'));
  if (service !== undefined) extra.push(['service.name', service]);
  for (const [key, value] of flags) if (!a.has(key)) extra.push([key, value]);

  const { startNs, endNs } = view;
  const event: Record<string, unknown> = {
    id: text(a.get('promptops.event.id')) ?? `${view.traceId}-${view.spanId}`,
    traceId: view.traceId === '' ? undefined : view.traceId,
    spanId: view.spanId === '' ? undefined : view.spanId,
    parentSpanId: view.parentSpanId === '' ? undefined : view.parentSpanId,
    prompt:
      promptName === undefined && !a.has('promptops.prompt.sha') && !a.has('promptops.prompt.base_sha')
        ? undefined
        : {
            name: promptName,
            version: integer(a.get('promptops.prompt.version') ?? a.get(LANGFUSE.promptVersion)),
            sha: text(a.get('promptops.prompt.sha')),
            effectiveSha: text(a.get('promptops.prompt.effective_sha')),
            baseSha: text(a.get('promptops.prompt.base_sha')),
            // `promptops.override_sha`: the name the gateway's traces carry it under.
            overrideSha: text(a.get('promptops.prompt.override_sha') ?? a.get('promptops.override_sha')),
          },
    label: text(a.get('promptops.label')),
    tenant: text(a.get('promptops.tenant')),
    rollout:
      rolloutId === undefined && rolloutArm === undefined
        ? undefined
        : { id: rolloutId, arm: rolloutArm, unit: text(a.get('promptops.rollout.unit')) },
    shadowOf: text(a.get('promptops.shadow_of')),
    releaseSha: text(a.get('promptops.release.sha')),
    variables: variablesOf(a.get('promptops.variables')),
    output:
      text(a.get('promptops.output')) ??
      outputMessagesText(a.get('gen_ai.output.messages')) ??
      text(a.get('gen_ai.completion')) ??
      text(a.get(LANGFUSE.output)),
    model: text(a.get('gen_ai.request.model')) ?? text(a.get('gen_ai.response.model')) ?? text(a.get(LANGFUSE.model)),
    provider: text(a.get('gen_ai.provider.name')) ?? text(a.get('gen_ai.system')),
    latencyMs: startNs !== null && endNs !== null && endNs >= startNs ? Number(endNs - startNs) / 1e6 : undefined,
    usage: inputTokens === undefined && outputTokens === undefined ? undefined : { inputTokens, outputTokens },
    cost: number(a.get('promptops.cost')),
    status: isError ? 'error' : 'ok',
    error,
    attributes: sanitizeEntries(extra, ATTRIBUTE_LIMITS).value,
    startedAt: startNs === null ? undefined : Number(startNs / NS_PER_MS),
  };
  // Absent stays absent: the schema treats undefined as "not given".
  for (const key of Object.keys(event)) if (event[key] === undefined) delete event[key];
  const prompt = event['prompt'] as Record<string, unknown> | undefined;
  if (prompt !== undefined) for (const key of Object.keys(prompt)) if (prompt[key] === undefined) delete prompt[key];
  return event;
};

export interface OtlpEvents {
  /** LLM spans as ingest events. */
  readonly events: Record<string, unknown>[];
  /** Spans that are not LLM calls (no gen_ai.* / promptops.* attributes). */
  readonly skipped: number;
  /** Spans that are not even span-shaped. */
  readonly malformed: number;
}

export class OtlpTooLargeError extends Error {}

/** The body must be an ExportTraceServiceRequest: an object whose `resourceSpans`, if any, is a list. */
export const checkExportRequest = (request: unknown): void => {
  const problem = !isRecord(request)
    ? `the body is ${request === null ? 'null' : Array.isArray(request) ? 'an array' : `a ${typeof request}`}`
    : request['resourceSpans'] !== undefined && !Array.isArray(request['resourceSpans'])
      ? 'resourceSpans is not a list'
      : undefined;
  if (problem === undefined) return;
  throw new PromptopsError('invalid', 'invalid_otlp', `${problem}, not an OTLP ExportTraceServiceRequest`, {
    fix: 'send { "resourceSpans": [ … ] } (OTLP/JSON) or a protobuf ExportTraceServiceRequest',
  });
};

export const otlpToEvents = (request: unknown): OtlpEvents => {
  const spans = spansOf(request);
  if (spans.length > MAX_BATCH_EVENTS * 10) throw new OtlpTooLargeError(`${spans.length} spans in one request`);
  const events: Record<string, unknown>[] = [];
  let skipped = 0;
  let malformed = 0;
  for (const { span, resource } of spans) {
    const view = viewOf(span);
    if (view === undefined) malformed += 1;
    else if (!isLlmSpan(view.attributes)) skipped += 1;
    else events.push(toEvent(view, resource));
  }
  if (events.length > MAX_BATCH_EVENTS) throw new OtlpTooLargeError(`${events.length} LLM spans in one request`);
  return { events, skipped, malformed };
};
