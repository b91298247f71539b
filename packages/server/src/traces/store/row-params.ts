import type { SqlDialect } from '../../storage/dialect.js';
import type { NewTrace } from '../store.js';

/** The traces insert's columns and their parameters in that order, shared by every insert path. */

export const INSERT_COLUMNS = [
  'project_id',
  'event_id',
  'trace_id',
  'span_id',
  'parent_span_id',
  'prompt_name',
  'prompt_version',
  'prompt_sha',
  'effective_sha',
  'label',
  'tenant',
  'rollout_id',
  'rollout_arm',
  'rollout_unit',
  'shadow_of',
  'release_sha',
  'variables',
  'output',
  'model',
  'provider',
  'latency_ms',
  'input_tokens',
  'output_tokens',
  'cost',
  'status',
  'error',
  'attributes',
  'started_at_ms',
  'created_at_ms',
] as const;

/** One row's parameters, in `INSERT_COLUMNS` order. */
export type RowParams = readonly unknown[];

/**
 * A row's parameters as an array of its own: a batch is an array of these, never one flat array. Measured,
 * a flat array of 1,000 rows x 28 columns (224 KB) lands in V8's large-object space, whose fresh pages
 * fault in on every batch: ~2 ms to build, and again for every slice of it, against ~0.03 ms for 1,000
 * row arrays.
 */
export const rowParams = (projectId: number, t: NewTrace, createdAtMs: number): RowParams => [
  projectId,
  t.eventId,
  t.traceId,
  t.spanId,
  t.parentSpanId,
  t.promptName,
  t.promptVersion,
  t.promptSha,
  t.effectiveSha,
  t.label,
  t.tenant,
  t.rolloutId,
  t.rolloutArm,
  t.rolloutUnit ?? null,
  t.shadowOf ?? null,
  t.releaseSha,
  t.variables,
  t.output,
  t.model,
  t.provider,
  t.latencyMs,
  t.inputTokens,
  t.outputTokens,
  t.cost,
  t.status,
  t.error,
  t.attributes,
  t.startedAtMs,
  createdAtMs,
];

/**
 * Rows per statement, largest first: any batch is a few statements of these fixed shapes. The largest
 * stays under both databases' bound-parameter limits (SQLite 32,766, PostgreSQL 65,535): 1,000 x 29 columns.
 */
export const CHUNK_SIZES = [1000, 100, 20, 5, 1] as const;
const MAX_PARAMS = 32_766; // the smaller of the two
if (CHUNK_SIZES[0] * INSERT_COLUMNS.length > MAX_PARAMS)
  throw new Error('the largest insert chunk binds too many parameters');

export const insertSqlCache = new Map<string, string>();

export const insertSql = (dialect: SqlDialect, rows: number): string => {
  const key = `${dialect.name}:${rows}`;
  const cached = insertSqlCache.get(key);
  if (cached !== undefined) return cached;
  const width = INSERT_COLUMNS.length;
  const tuples: string[] = [];
  for (let row = 0; row < rows; row += 1) {
    const cells: string[] = [];
    for (let col = 1; col <= width; col += 1) cells.push(dialect.placeholder(row * width + col));
    tuples.push(`(${cells.join(',')})`);
  }
  const text = `insert into traces (${INSERT_COLUMNS.join(',')}) values ${tuples.join(',')} on conflict (project_id, event_id) do nothing returning event_id`;
  insertSqlCache.set(key, text);
  return text;
};

const EVENT_ID = INSERT_COLUMNS.indexOf('event_id');

/**
 * Inserts rows in statements of the given sizes (the fixed chunk sizes unless told), largest that fits
 * first, which `run` executes (a multi-row statement takes its rows' parameters flat), and answers per row
 * 1 (inserted) or 0 (duplicate): a row was inserted when its event id comes back from `RETURNING`, first
 * occurrence first, so a repeat within the call is a duplicate.
 */
export const insertInChunks = async (
  dialect: SqlDialect,
  rows: readonly RowParams[],
  run: (size: number, sql: string, values: unknown[]) => Promise<readonly { event_id: string }[]>,
  sizes: readonly number[] = CHUNK_SIZES,
): Promise<Uint8Array> => {
  const returned = new Set<unknown>();
  for (let offset = 0; offset < rows.length;) {
    const size = sizes.find((n) => n <= rows.length - offset) ?? 1;
    const values: unknown[] = [];
    for (let row = offset; row < offset + size; row += 1) values.push(...rows[row]!);
    for (const row of await run(size, insertSql(dialect, size), values)) returned.add(row.event_id);
    offset += size;
  }
  const inserted = new Uint8Array(rows.length);
  rows.forEach((row, i) => {
    if (returned.delete(row[EVENT_ID])) inserted[i] = 1;
  });
  return inserted;
};

/** Event ids split by an insert's per-row flags (1 inserted, 0 duplicate), in order. */
export const splitInserted = (
  eventIds: readonly string[],
  inserted: Uint8Array,
): { accepted: string[]; duplicates: string[] } => {
  const accepted: string[] = [];
  const duplicates: string[] = [];
  eventIds.forEach((id, i) => (inserted[i] === 1 ? accepted : duplicates).push(id));
  return { accepted, duplicates };
};
