import { PromptopsError, type FieldIssue } from '@promptops/core/errors';
import { PROMPT_NAME_PATTERN } from '@promptops/core/render';
import { LABEL_PATTERN } from '@promptops/core/resolve';
import { rolloutUnitHash } from '@promptops/core/rollouts';
import { sha256 } from '../digest.js';
import type { ServedPrompt } from './prompt-link.js';

/**
 * `client.trace(input)` -> one `POST /api/v1/ingest` event (docs/api.md, "Traces"). The checks mirror
 * the server's schema so a bad event is refused here, where the app learns of it through onError,
 * instead of costing a request; free-form maps (variables, attributes) are left to the server, which
 * trims them. Output and error text are truncated to the server's limits rather than losing the call.
 */

export type AttributeValue = string | number | boolean | readonly (string | number | boolean)[];

export interface TraceInput {
  /** The prompt that was served: a `ResolvedPrompt` (its sha, label, release sha…) or just its identity. */
  readonly prompt?: ServedPrompt | { readonly name: string; readonly sha?: string; readonly version?: number };
  readonly variables?: Readonly<Record<string, unknown>>;
  readonly output?: string | null;
  readonly model?: string;
  readonly provider?: string;
  readonly latencyMs?: number;
  readonly usage?: { readonly inputTokens?: number | null; readonly outputTokens?: number | null };
  readonly cost?: number;
  /** Default `'error'` when `error` is given, else `'ok'`. */
  readonly status?: 'ok' | 'error';
  /** A message or an Error (`Name: message` is recorded). */
  readonly error?: unknown;
  /** OpenTelemetry ids; default the active span's when `@opentelemetry/api` is present. */
  readonly traceId?: string;
  readonly spanId?: string;
  readonly parentSpanId?: string;
  readonly tenant?: string;
  readonly attributes?: Readonly<Record<string, AttributeValue>>;
  /** When the call started; default now minus `latencyMs`. */
  readonly startedAt?: Date | number;
  /** Your own event id (1–128 printable ASCII); default a random UUID. */
  readonly id?: string;
  /** For a shadow rollout's candidate run on a copy of a call: the id of the call's own (baseline) trace. */
  readonly shadowOf?: string;
  /**
   * The unit key the prompt was resolved for (`get(name, { unitKey })`). Sent only as its hash
   * (`rollout.unit`, with a rollout's prompt), never as is: the server's sample-ratio check counts units.
   */
  readonly unitKey?: string;
}

export type ScoreKind = 'thumbs' | 'numeric' | 'label';

export interface ScoreInput {
  /** Default `feedback` for thumbs (server side). */
  readonly name?: string;
  readonly kind: ScoreKind;
  /** thumbs: `'up' | 'down' | boolean`; numeric: a finite number; label: a string. */
  readonly value: string | number | boolean;
  readonly comment?: string;
}

/** The wire shape; optional fields are left out rather than sent as null. */
export interface IngestEvent {
  id: string;
  startedAt: number;
  traceId?: string;
  spanId?: string;
  parentSpanId?: string;
  /** `sha`: the version's; a tenant's trace adds what it was served (`effectiveSha`) and its `overrideSha`. */
  prompt?: { name: string; version?: number; sha?: string; effectiveSha?: string; overrideSha?: string };
  label?: string;
  tenant?: string;
  rollout?: { id?: string; arm: string; unit?: string };
  shadowOf?: string;
  releaseSha?: string;
  variables?: Readonly<Record<string, unknown>>;
  output?: string;
  model?: string;
  provider?: string;
  latencyMs?: number;
  usage?: { inputTokens?: number; outputTokens?: number };
  cost?: number;
  status?: 'ok' | 'error';
  error?: string;
  attributes?: Record<string, AttributeValue>;
}

// The server's limits (packages/server/src/traces/limits.ts).
const MAX_ID = 128;
const MAX_SHORT_TEXT = 200;
const MAX_OUTPUT = 128 * 1024;
const MAX_ERROR = 8 * 1024;
const MAX_COMMENT = 2000;
const ID_PATTERN = /^[\x21-\x7e]+$/;
const HEX = (length: number): RegExp => new RegExp(`^[0-9a-fA-F]{${length}}$`);
const SHA = HEX(64);
const TRACE_ID = HEX(32);
const SPAN_ID = HEX(16);
const RELEASE_SHA = /^[0-9a-fA-F]{7,64}$/;
const TRUNCATED = '…[truncated by the promptops SDK]';

/** A v4 UUID: `crypto.randomUUID` where the runtime has it (Node 19+, browsers, workers). */
export const newEventId = (): string => {
  const uuid = (globalThis.crypto as { randomUUID?: () => string } | undefined)?.randomUUID;
  if (uuid !== undefined) return uuid.call(globalThis.crypto);
  const hex = Array.from({ length: 32 }, () => Math.floor(Math.random() * 16).toString(16));
  hex[12] = '4';
  hex[16] = ((Number.parseInt(hex[16]!, 16) & 3) | 8).toString(16);
  const s = hex.join('');
  return `${s.slice(0, 8)}-${s.slice(8, 12)}-${s.slice(12, 16)}-${s.slice(16, 20)}-${s.slice(20)}`;
};

const truncate = (text: string, max: number): string =>
  text.length <= max ? text : text.slice(0, max - TRUNCATED.length) + TRUNCATED;

const errorText = (error: unknown): string | undefined => {
  if (error === undefined || error === null) return undefined;
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return typeof error === 'string' ? error : String(error);
};

const isCount = (value: unknown): value is number =>
  typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= 1e9;

const isShortText = (value: unknown): value is string =>
  typeof value === 'string' && value.length > 0 && value.length <= MAX_SHORT_TEXT;

/**
 * A tenant's resolved prompt (`get(name, { tenant })`): its `sha` is the effective one, `baseSha` the
 * version's; the trace keeps the version's as `prompt.sha`, as the gateway does.
 */
const tenantOf = (
  prompt: NonNullable<TraceInput['prompt']>,
): { tenant: string; baseSha: string; overrideSha: string | null } | undefined => {
  const p = prompt as { tenant?: unknown; baseSha?: unknown; overrideSha?: unknown };
  if (typeof p.tenant !== 'string' || typeof p.baseSha !== 'string') return undefined;
  return {
    tenant: p.tenant,
    baseSha: p.baseSha,
    overrideSha: typeof p.overrideSha === 'string' ? p.overrideSha : null,
  };
};

export type BuiltEvent =
  { readonly ok: true; readonly event: IngestEvent } | { readonly ok: false; readonly issues: FieldIssue[] };

/** Validates `input` and shapes the ingest event; never throws. */
export const buildEvent = (input: TraceInput, id: string, nowMs: number): BuiltEvent => {
  const issues: FieldIssue[] = [];
  const bad = (path: string, message: string): undefined => {
    issues.push({ path, message });
    return undefined;
  };
  if (typeof input !== 'object' || input === null)
    return { ok: false, issues: [{ path: '', message: 'must be an object' }] };
  if (id.length > MAX_ID || !ID_PATTERN.test(id)) bad('id', `must be 1–${MAX_ID} printable ASCII characters`);

  const latencyMs = input.latencyMs;
  if (latencyMs !== undefined && !(typeof latencyMs === 'number' && latencyMs >= 0 && latencyMs <= 86_400_000)) {
    bad('latencyMs', 'must be a number of milliseconds between 0 and 86,400,000');
  }
  const started = input.startedAt instanceof Date ? input.startedAt.getTime() : input.startedAt;
  const startedAt = Math.round(started ?? nowMs - (typeof latencyMs === 'number' ? latencyMs : 0));
  if (!Number.isFinite(startedAt) || startedAt < 0) bad('startedAt', 'must be a Date or epoch milliseconds');

  const event: IngestEvent = { id, startedAt };
  const { prompt } = input;
  if (prompt !== undefined && prompt !== null) {
    if (
      typeof prompt.name !== 'string' ||
      !PROMPT_NAME_PATTERN.test(prompt.name) ||
      prompt.name.length > MAX_SHORT_TEXT
    ) {
      bad('prompt.name', 'is not a prompt name');
    }
    const shaOk = prompt.sha === undefined || (typeof prompt.sha === 'string' && SHA.test(prompt.sha));
    if (!shaOk) bad('prompt.sha', 'must be 64 hex characters');
    const version = prompt.version;
    // Version 0 is an in-code default that was never pushed: the sha identifies it, the number does not.
    if (version !== undefined && !(Number.isInteger(version) && version >= 0))
      bad('prompt.version', 'must be an integer');
    event.prompt = {
      name: prompt.name,
      ...(version === undefined || version === 0 ? {} : { version }),
      ...(prompt.sha === undefined ? {} : { sha: prompt.sha.toLowerCase() }),
    };
    const tenant = tenantOf(prompt);
    if (tenant !== undefined) {
      if (!SHA.test(tenant.baseSha)) bad('prompt.baseSha', 'must be 64 hex characters');
      if (tenant.overrideSha !== null && !SHA.test(tenant.overrideSha))
        bad('prompt.overrideSha', 'must be 64 hex characters');
      event.tenant = tenant.tenant;
      event.prompt = {
        ...event.prompt,
        sha: tenant.baseSha.toLowerCase(),
        ...(prompt.sha === undefined ? {} : { effectiveSha: prompt.sha.toLowerCase() }),
        ...(tenant.overrideSha === null ? {} : { overrideSha: tenant.overrideSha.toLowerCase() }),
      };
    }
    if ('label' in prompt && prompt.label !== null && prompt.label !== undefined) {
      if (!LABEL_PATTERN.test(prompt.label)) bad('prompt.label', 'is not a label name');
      event.label = prompt.label;
    }
    // No rollout arm is recorded for the base arm: `rollout` stays null unless a rollout served it.
    if ('variant' in prompt && typeof prompt.variant === 'string' && prompt.variant !== 'base') {
      const rolloutId = 'rolloutId' in prompt ? prompt.rolloutId : undefined;
      event.rollout = typeof rolloutId === 'string' ? { id: rolloutId, arm: prompt.variant } : { arm: prompt.variant };
      const { unitKey } = input;
      if (unitKey !== undefined && typeof unitKey !== 'string') bad('unitKey', 'must be a string');
      else if (typeof rolloutId === 'string' && unitKey !== undefined && unitKey !== '') {
        event.rollout.unit = rolloutUnitHash(rolloutId, unitKey, sha256);
      }
    }
    if ('releaseSha' in prompt && prompt.releaseSha !== null && prompt.releaseSha !== undefined) {
      if (!RELEASE_SHA.test(prompt.releaseSha)) bad('prompt.releaseSha', 'must be 7 to 64 hex characters');
      event.releaseSha = prompt.releaseSha.toLowerCase();
    }
  }

  const ids = [
    ['traceId', input.traceId, TRACE_ID, 32],
    ['spanId', input.spanId, SPAN_ID, 16],
    ['parentSpanId', input.parentSpanId, SPAN_ID, 16],
  ] as const;
  for (const [key, value, pattern, length] of ids) {
    if (value === undefined) continue;
    if (typeof value === 'string' && pattern.test(value)) event[key] = value.toLowerCase();
    else bad(key, `must be ${length} hex characters`);
  }

  for (const key of ['tenant', 'model', 'provider'] as const) {
    const value = input[key];
    if (value === undefined) continue;
    if (isShortText(value)) event[key] = value;
    else bad(key, `must be 1–${MAX_SHORT_TEXT} characters`);
  }
  if (input.variables !== undefined) {
    if (typeof input.variables === 'object' && input.variables !== null) event.variables = input.variables;
    else bad('variables', 'must be an object');
  }
  if (input.output !== undefined && input.output !== null) {
    if (typeof input.output === 'string') event.output = truncate(input.output, MAX_OUTPUT);
    else bad('output', 'must be a string or null');
  }
  if (typeof latencyMs === 'number') event.latencyMs = latencyMs;
  if (input.usage !== undefined && input.usage !== null) {
    const usage: NonNullable<IngestEvent['usage']> = {};
    for (const key of ['inputTokens', 'outputTokens'] as const) {
      const value = input.usage[key];
      if (value === undefined || value === null) continue;
      if (isCount(value)) usage[key] = value;
      else bad(`usage.${key}`, 'must be a whole number of tokens');
    }
    if (usage.inputTokens !== undefined || usage.outputTokens !== undefined) event.usage = usage;
  }
  if (input.cost !== undefined) {
    if (typeof input.cost === 'number' && input.cost >= 0 && input.cost <= 1e6) event.cost = input.cost;
    else bad('cost', 'must be a number between 0 and 1,000,000');
  }
  if (input.shadowOf !== undefined) {
    if (typeof input.shadowOf === 'string' && input.shadowOf.length <= MAX_ID && ID_PATTERN.test(input.shadowOf)) {
      event.shadowOf = input.shadowOf;
    } else bad('shadowOf', `must be the id of the baseline's trace (1–${MAX_ID} printable ASCII characters)`);
  }
  const error = errorText(input.error);
  if (error !== undefined) event.error = truncate(error, MAX_ERROR);
  if (input.status !== undefined) {
    if (input.status === 'ok' || input.status === 'error') event.status = input.status;
    else bad('status', "must be 'ok' or 'error'");
  }
  if (input.attributes !== undefined) {
    if (typeof input.attributes === 'object' && input.attributes !== null) event.attributes = { ...input.attributes };
    else bad('attributes', 'must be a flat object');
  }
  return issues.length > 0 ? { ok: false, issues } : { ok: true, event };
};

/** The score body, checked like the server does; returns the issues (empty when valid). */
export const scoreIssues = (eventId: unknown, score: ScoreInput): FieldIssue[] => {
  const issues: FieldIssue[] = [];
  if (typeof eventId !== 'string' || eventId.length === 0 || eventId.length > MAX_ID) {
    issues.push({ path: 'eventId', message: 'must be the id trace() returned' });
  }
  if (typeof score !== 'object' || score === null) return [...issues, { path: '', message: 'must be an object' }];
  const { kind, value } = score;
  if (kind === 'thumbs') {
    if (value !== 'up' && value !== 'down' && typeof value !== 'boolean')
      issues.push({ path: 'value', message: "must be 'up', 'down' or a boolean" });
  } else if (kind === 'numeric') {
    if (typeof value !== 'number' || !Number.isFinite(value))
      issues.push({ path: 'value', message: 'must be a finite number' });
  } else if (kind === 'label') {
    if (!isShortText(value)) issues.push({ path: 'value', message: `must be 1–${MAX_SHORT_TEXT} characters` });
  } else {
    issues.push({ path: 'kind', message: "must be 'thumbs', 'numeric' or 'label'" });
  }
  if (score.name !== undefined && !isShortText(score.name))
    issues.push({ path: 'name', message: `must be 1–${MAX_SHORT_TEXT} characters` });
  if (score.comment !== undefined && !(typeof score.comment === 'string' && score.comment.length <= MAX_COMMENT))
    issues.push({ path: 'comment', message: `must be at most ${MAX_COMMENT} characters` });
  return issues;
};

export const invalidInput = (what: string, issues: FieldIssue[]): PromptopsError =>
  new PromptopsError(
    'invalid',
    what === 'score' ? 'invalid_score' : 'invalid_trace',
    `${what} dropped: ${issues.map((issue) => `${issue.path || '(root)'} ${issue.message}`).join('; ')}`,
    { issues, fix: `fix the ${what} input; see the SDK README (Tracing)` },
  );

// eslint-disable-next-line no-control-regex -- any code unit above 0x7f
const NON_ASCII = /[^\x00-\x7f]/;

/** Exact UTF-8 length of a string, without TextEncoder's copy (batches are capped in bytes). */
export const utf8Length = (text: string): number => {
  if (!NON_ASCII.test(text)) return text.length;
  let bytes = text.length;
  for (let i = 0; i < text.length; i += 1) {
    const code = text.charCodeAt(i);
    if (code < 0x80) continue;
    if (code < 0x800) bytes += 1;
    else if (code >= 0xd800 && code <= 0xdbff && i + 1 < text.length) {
      bytes += 2; // a surrogate pair: 2 code units, 4 bytes
      i += 1;
    } else bytes += 2;
  }
  return bytes;
};
