import type { ScoreRecord, TraceRecord } from '@promptops/core';
import type { ScoreRow, TraceRow } from './store.js';

export type { ScoreRecord, TraceRecord };

/** Storage rows to the public JSON shapes of docs/api.md (the same names the ingest body uses). */

const parseJson = (text: string | null): Record<string, unknown> | null =>
  text === null ? null : (JSON.parse(text) as Record<string, unknown>);

export const toTraceRecord = (row: TraceRow): TraceRecord => ({
  id: row.eventId,
  traceId: row.traceId,
  spanId: row.spanId,
  parentSpanId: row.parentSpanId,
  prompt:
    row.promptName === null
      ? null
      : { name: row.promptName, version: row.promptVersion, sha: row.promptSha, effectiveSha: row.effectiveSha },
  label: row.label,
  tenant: row.tenant,
  rollout:
    row.rolloutId === null && row.rolloutArm === null
      ? null
      : {
          id: row.rolloutId,
          arm: row.rolloutArm,
          ...(row.rolloutUnit === null ? {} : { unit: row.rolloutUnit }),
        },
  shadowOf: row.shadowOf,
  releaseSha: row.releaseSha,
  variables: parseJson(row.variables),
  output: row.output,
  model: row.model,
  provider: row.provider,
  latencyMs: row.latencyMs,
  usage: { inputTokens: row.inputTokens, outputTokens: row.outputTokens },
  cost: row.cost,
  status: row.status,
  error: row.error,
  attributes: parseJson(row.attributes),
  startedAt: new Date(row.startedAtMs).toISOString(),
  receivedAt: new Date(row.createdAtMs).toISOString(),
});

export const toScoreRecord = (row: ScoreRow): ScoreRecord => ({
  id: row.id,
  traceId: row.eventId,
  name: row.name,
  kind: row.kind,
  value:
    row.kind === 'thumbs'
      ? row.value !== null && row.value >= 1
        ? 'up'
        : 'down'
      : row.kind === 'label'
        ? row.stringValue
        : row.value,
  comment: row.comment,
  actor: row.actor,
  createdAt: new Date(row.createdAtMs).toISOString(),
});
