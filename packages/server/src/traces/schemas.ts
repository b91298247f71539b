import { LABEL_PATTERN, PROMPT_NAME_PATTERN, zodIssues, type FieldIssue } from '@promptops/core';
import * as z from 'zod';
import type { NewTrace } from './store.js';
import {
  ATTRIBUTE_LIMITS,
  MAX_ERROR_LENGTH,
  MAX_EVENT_ID_LENGTH,
  MAX_OUTPUT_LENGTH,
  MAX_SHORT_TEXT,
  VARIABLE_LIMITS,
} from './limits.js';
import { isWellFormedEvent, type WellFormedEvent } from './fast-event.js';
import { sanitizeMap, type Sanitized } from './sanitize.js';

/**
 * One ingest event, validated on its own so a bad item rejects only itself. Unknown fields are ignored
 * (not rejected): telemetry from a newer SDK must not be lost on an older server.
 */

const hex = (length: number) =>
  z
    .string()
    .regex(new RegExp(`^[0-9a-fA-F]{${length}}$`), `must be ${length} hex characters`)
    .transform((value) => value.toLowerCase());
const shortText = z.string().min(1).max(MAX_SHORT_TEXT);

const TIMESTAMP_FORMS = 'epoch milliseconds or an ISO-8601 time with a zone, e.g. 2025-01-31T12:00:00Z';

/**
 * Epoch milliseconds, or an ISO-8601 time with a zone; between 2000 and one day ahead of the server. A
 * value that matches neither would be only "Invalid input" (the union hides the pattern's message), so the
 * union names the forms it takes.
 */
const timestamp = z.union(
  [
    z.number().int().nonnegative(),
    z
      .string()
      .regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/)
      .transform((value) => Date.parse(value)),
  ],
  { error: (issue) => (issue.input === undefined ? `required: ${TIMESTAMP_FORMS}` : `must be ${TIMESTAMP_FORMS}`) },
);

/** An event id: the event's own, or the one a shadow output's trace pairs with. */
const eventId = z
  .string()
  .min(1)
  .max(MAX_EVENT_ID_LENGTH)
  .regex(/^[\x21-\x7e]+$/, 'must be printable ASCII without spaces');

export const ingestEventSchema = z.object({
  id: eventId,
  traceId: hex(32).optional(),
  spanId: hex(16).optional(),
  parentSpanId: hex(16).optional(),
  prompt: z
    .object({
      name: z.string().max(MAX_SHORT_TEXT).regex(PROMPT_NAME_PATTERN, 'is not a prompt name'),
      version: z.number().int().min(1).optional(),
      sha: hex(64).optional(),
      effectiveSha: hex(64).optional(),
      /** With a tenant's override: the base version's sha (then `sha` is the effective one, as the SDK has it). */
      baseSha: hex(64).optional(),
      overrideSha: hex(64).optional(),
    })
    .optional(),
  label: z.string().regex(LABEL_PATTERN, 'is not a label name').optional(),
  tenant: shortText.optional(),
  rollout: z
    .object({
      id: shortText.optional(),
      arm: shortText.optional(),
      /** The hash of the call's unit key (core's rolloutUnitHash): the SRM check counts distinct ones. */
      unit: z
        .string()
        .regex(
          /^[0-9a-fA-F]{16}$/,
          'must be 16 hex characters: the start of sha256("ROLLOUT_ID:UNIT_KEY") (rolloutUnitHash in @promptops/core), never the unit key itself',
        )
        .optional(),
    })
    .optional(),
  /** A shadow rollout's candidate output: the id of the baseline call's trace it pairs with. */
  shadowOf: eventId.optional(),
  releaseSha: z
    .string()
    .regex(/^[0-9a-fA-F]{7,64}$/, 'must be 7 to 64 hex characters')
    .optional(),
  variables: z.unknown().optional(),
  output: z.string().max(MAX_OUTPUT_LENGTH).optional(),
  model: shortText.optional(),
  provider: shortText.optional(),
  latencyMs: z.number().nonnegative().max(86_400_000).optional(),
  usage: z
    .object({
      inputTokens: z.number().int().nonnegative().max(1e9).optional(),
      outputTokens: z.number().int().nonnegative().max(1e9).optional(),
    })
    .optional(),
  cost: z.number().nonnegative().max(1e6).optional(),
  status: z.enum(['ok', 'error']).optional(),
  error: z.string().max(MAX_ERROR_LENGTH).optional(),
  attributes: z.unknown().optional(),
  startedAt: timestamp,
});

export type IngestEvent = z.input<typeof ingestEventSchema>;

const EARLIEST_MS = Date.UTC(2000, 0, 1);
const MAX_FUTURE_MS = 24 * 60 * 60 * 1000;

export type ParsedEvent =
  | { readonly ok: true; readonly trace: NewTrace; readonly dropped: number }
  | { readonly ok: false; readonly id: string | undefined; readonly issues: FieldIssue[] };

const json = (value: object): string | null => (Object.keys(value).length === 0 ? null : JSON.stringify(value));

/**
 * `prompt_sha` is the version's sha (versions and per-sha metrics link to it): `baseSha` when given, and
 * `sha` is then what was served, the effective sha (unless `effectiveSha` says it).
 */
const shas = (prompt: WellFormedEvent['prompt']): { promptSha: string | null; effectiveSha: string | null } => {
  const base = prompt?.baseSha?.toLowerCase();
  const sha = prompt?.sha?.toLowerCase() ?? null;
  const effective = prompt?.effectiveSha?.toLowerCase() ?? null;
  return base === undefined
    ? { promptSha: sha, effectiveSha: effective }
    : { promptSha: base, effectiveSha: effective ?? sha };
};

/** The override sha is kept as the attribute the gateway writes too (`promptops.override_sha`), never dropped. */
const withOverrideSha = (attributes: Sanitized, overrideSha: string | undefined): Sanitized =>
  overrideSha === undefined
    ? attributes
    : { ...attributes, value: { ...attributes.value, 'promptops.override_sha': overrideSha.toLowerCase() } };

/** A valid event to its storage row: the time window, the free-form maps' limits, JSON encoded once. */
const toRow = (event: WellFormedEvent, nowMs: number): ParsedEvent => {
  const startedAtMs = typeof event.startedAt === 'number' ? event.startedAt : Date.parse(event.startedAt);
  if (!Number.isFinite(startedAtMs) || startedAtMs < EARLIEST_MS || startedAtMs > nowMs + MAX_FUTURE_MS) {
    return {
      ok: false,
      id: event.id,
      issues: [{ path: 'startedAt', message: 'must be a time between 2000 and one day from now' }],
    };
  }
  const variables =
    event.variables === undefined ? { value: {}, dropped: 0 } : sanitizeMap(event.variables, VARIABLE_LIMITS);
  const attributes = withOverrideSha(
    event.attributes === undefined ? { value: {}, dropped: 0 } : sanitizeMap(event.attributes, ATTRIBUTE_LIMITS),
    event.prompt?.overrideSha,
  );
  const { prompt, rollout, usage } = event;
  const trace: NewTrace = {
    eventId: event.id,
    // Hex ids are stored lower case (zod's transform already did it; the fast path did not).
    traceId: event.traceId?.toLowerCase() ?? null,
    spanId: event.spanId?.toLowerCase() ?? null,
    parentSpanId: event.parentSpanId?.toLowerCase() ?? null,
    promptName: prompt?.name ?? null,
    promptVersion: prompt?.version ?? null,
    ...shas(prompt),
    label: event.label ?? null,
    tenant: event.tenant ?? null,
    rolloutId: rollout?.id ?? null,
    rolloutArm: rollout?.arm ?? null,
    rolloutUnit: rollout?.unit?.toLowerCase() ?? null,
    shadowOf: event.shadowOf ?? null,
    releaseSha: event.releaseSha?.toLowerCase() ?? null,
    variables: json(variables.value),
    output: event.output ?? null,
    model: event.model ?? null,
    provider: event.provider ?? null,
    latencyMs: event.latencyMs ?? null,
    inputTokens: usage?.inputTokens ?? null,
    outputTokens: usage?.outputTokens ?? null,
    cost: event.cost ?? null,
    // An error message without a status means the call failed.
    status: event.status ?? (event.error === undefined ? 'ok' : 'error'),
    error: event.error ?? null,
    attributes: json(attributes.value),
    startedAtMs,
  };
  return { ok: true, trace, dropped: variables.dropped + attributes.dropped };
};

/** The zod path: the reference for what is valid, and the source of per-field messages. */
export const parseEventWithZod = (input: unknown, nowMs: number): ParsedEvent => {
  const result = ingestEventSchema.safeParse(input);
  if (result.success) return toRow(result.data, nowMs);
  const rawId = typeof input === 'object' && input !== null ? (input as { id?: unknown }).id : undefined;
  const id = typeof rawId === 'string' && rawId.length <= MAX_EVENT_ID_LENGTH ? rawId : undefined;
  return { ok: false, id, issues: zodIssues(result.error) };
};

/** Validates one event and maps it to a storage row; never throws. Well-formed events skip zod. */
export const parseEvent = (input: unknown, nowMs: number): ParsedEvent =>
  isWellFormedEvent(input) ? toRow(input, nowMs) : parseEventWithZod(input, nowMs);

/** The score body of `POST /api/v1/traces/:id/scores`. */
export const scoreSchema = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('thumbs'),
    name: shortText.optional(),
    value: z.union([z.enum(['up', 'down']), z.boolean()], { error: 'a thumbs score is up, down, true or false' }),
    comment: z.string().max(2000).optional(),
  }),
  z.object({
    kind: z.literal('numeric'),
    name: shortText.optional(),
    value: z.number().finite(),
    comment: z.string().max(2000).optional(),
  }),
  z.object({
    kind: z.literal('label'),
    name: shortText.optional(),
    value: shortText,
    comment: z.string().max(2000).optional(),
  }),
]);

export type ScoreInput = z.infer<typeof scoreSchema>;
