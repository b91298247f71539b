import { LABEL_PATTERN, PROMPT_NAME_PATTERN } from '@promptops/core';
import { MAX_ERROR_LENGTH, MAX_EVENT_ID_LENGTH, MAX_OUTPUT_LENGTH, MAX_SHORT_TEXT } from './limits.js';

/**
 * The ingest fast path: a hand-written predicate that accepts exactly what `ingestEventSchema` accepts
 * (types, lengths, limits; free-form maps are left to the sanitizer on both paths). Zod costs ~30 µs per
 * event, more than its insert; this costs ~1 µs. When it says no, the caller runs zod anyway for the
 * per-field messages, so it only has to be exact on "yes" — and the differential test
 * (`traces.fast-event.test.ts`) holds it to exact on both.
 */

/** The shape `isWellFormedEvent` guarantees; hex fields may still be upper case, startedAt a string. */
export interface WellFormedEvent {
  readonly id: string;
  readonly traceId?: string | undefined;
  readonly spanId?: string | undefined;
  readonly parentSpanId?: string | undefined;
  readonly prompt?: WellFormedPrompt | undefined;
  readonly label?: string | undefined;
  readonly tenant?: string | undefined;
  readonly rollout?:
    | { readonly id?: string | undefined; readonly arm?: string | undefined; readonly unit?: string | undefined }
    | undefined;
  readonly shadowOf?: string | undefined;
  readonly releaseSha?: string | undefined;
  readonly variables?: unknown;
  readonly output?: string | undefined;
  readonly model?: string | undefined;
  readonly provider?: string | undefined;
  readonly latencyMs?: number | undefined;
  readonly usage?:
    { readonly inputTokens?: number | undefined; readonly outputTokens?: number | undefined } | undefined;
  readonly cost?: number | undefined;
  readonly status?: 'ok' | 'error' | undefined;
  readonly error?: string | undefined;
  readonly attributes?: unknown;
  readonly startedAt: number | string;
}

interface WellFormedPrompt {
  readonly name: string;
  readonly version?: number | undefined;
  readonly sha?: string | undefined;
  readonly effectiveSha?: string | undefined;
  readonly baseSha?: string | undefined;
  readonly overrideSha?: string | undefined;
}

// The same patterns as the schema, compiled once.
const EVENT_ID = /^[\x21-\x7e]+$/;
const HEX16 = /^[0-9a-fA-F]{16}$/;
const HEX32 = /^[0-9a-fA-F]{32}$/;
const HEX64 = /^[0-9a-fA-F]{64}$/;
const RELEASE_SHA = /^[0-9a-fA-F]{7,64}$/;
const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/;

type Bag = Record<string, unknown>;

/** Zod's notion of an object: anything non-null of type object that is not an array. */
const isObject = (value: unknown): value is Bag => typeof value === 'object' && value !== null && !Array.isArray(value);

/** z.number(): finite only. */
const isNumber = (value: unknown): value is number => typeof value === 'number' && Number.isFinite(value);
/** z.number().int(): a safe integer. */
const isInt = (value: unknown): value is number => typeof value === 'number' && Number.isSafeInteger(value);

const optString = (value: unknown, min: number, max: number, pattern?: RegExp): boolean =>
  value === undefined ||
  (typeof value === 'string' &&
    value.length >= min &&
    value.length <= max &&
    (pattern === undefined || pattern.test(value)));

const optPattern = (value: unknown, pattern: RegExp): boolean =>
  value === undefined || (typeof value === 'string' && pattern.test(value));

const optNumber = (value: unknown, max: number, int: boolean): boolean =>
  value === undefined || (isNumber(value) && (!int || Number.isSafeInteger(value)) && value >= 0 && value <= max);

const shortText = (value: unknown): boolean => optString(value, 1, MAX_SHORT_TEXT);

const wellFormedPrompt = (value: unknown): boolean => {
  if (value === undefined) return true;
  if (!isObject(value)) return false;
  const { version } = value;
  return (
    typeof value['name'] === 'string' &&
    optString(value['name'], 0, MAX_SHORT_TEXT, PROMPT_NAME_PATTERN) &&
    (version === undefined || (isInt(version) && version >= 1)) &&
    optPattern(value['sha'], HEX64) &&
    optPattern(value['effectiveSha'], HEX64) &&
    optPattern(value['baseSha'], HEX64) &&
    optPattern(value['overrideSha'], HEX64)
  );
};

const wellFormedStartedAt = (value: unknown): boolean =>
  (isInt(value) && value >= 0) || (typeof value === 'string' && ISO_TIME.test(value));

/** True exactly when `ingestEventSchema.safeParse(input).success` would be. */
export const isWellFormedEvent = (input: unknown): input is WellFormedEvent => {
  if (!isObject(input)) return false;
  const e = input;
  const { rollout, usage, status } = e;
  return (
    typeof e['id'] === 'string' &&
    optString(e['id'], 1, MAX_EVENT_ID_LENGTH, EVENT_ID) &&
    optPattern(e['traceId'], HEX32) &&
    optPattern(e['spanId'], HEX16) &&
    optPattern(e['parentSpanId'], HEX16) &&
    wellFormedPrompt(e['prompt']) &&
    optPattern(e['label'], LABEL_PATTERN) &&
    shortText(e['tenant']) &&
    (rollout === undefined ||
      (isObject(rollout) &&
        shortText(rollout['id']) &&
        shortText(rollout['arm']) &&
        optPattern(rollout['unit'], HEX16))) &&
    optString(e['shadowOf'], 1, MAX_EVENT_ID_LENGTH, EVENT_ID) &&
    optPattern(e['releaseSha'], RELEASE_SHA) &&
    optString(e['output'], 0, MAX_OUTPUT_LENGTH) &&
    shortText(e['model']) &&
    shortText(e['provider']) &&
    optNumber(e['latencyMs'], 86_400_000, false) &&
    (usage === undefined ||
      (isObject(usage) && optNumber(usage['inputTokens'], 1e9, true) && optNumber(usage['outputTokens'], 1e9, true))) &&
    optNumber(e['cost'], 1e6, false) &&
    (status === undefined || status === 'ok' || status === 'error') &&
    optString(e['error'], 0, MAX_ERROR_LENGTH) &&
    wellFormedStartedAt(e['startedAt'])
  );
};
