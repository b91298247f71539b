import type SqliteDatabase from 'better-sqlite3';
import {
  decodeLatencySketchBinary,
  decodeLatencySketchJson,
  encodeLatenciesBinary,
  encodeLatencySketchBinary,
  encodeLatencySketchJson,
  latencySketchOf,
  mergeBinaryLatencySketches,
  type LatencySketch,
} from '@promptops/core';
import { CompiledQuery, type Kysely } from 'kysely';
import type pg from 'pg';
import type { Dialect } from './port.js';
import {
  OTHER_TENANT,
  RollupDeltas,
  rowProject,
  rowPrompt,
  rowTenant,
  type RollupDelta,
  type RollupEvent,
} from './trace-rollup-deltas.js';
import type { RowParams } from './trace-row-params.js';

/**
 * Rollups are written in the transaction of what they count (a trace insert, a score, a backfill batch),
 * through whichever connection runs it: the writer thread's (better-sqlite3 or a pg client) or the main
 * one (Kysely). Each is a `RollupSql`; the statements are fixed texts, upserts whose conflict clause adds
 * the counts. The latency sketch is merged by dialect:
 * - PostgreSQL: in the upsert, by `promptops_latency_merge` (a SQL function over jsonb, migration 0007),
 *   so concurrent writers (replicas, the small-body path) never lose one another's values.
 * - SQLite: every write transaction holds the database's one write lock, so the writer reads the batch's
 *   stored sketches (one statement per bucket), merges them with core's binary merge and upserts the
 *   result. Measured, a JavaScript function called from the upsert cost ~5 µs a row (two Buffers made and
 *   a C++/JS hop per call), more than the upsert itself.
 */

export interface RollupOptions {
  /** Off only for benchmarks (ingestion without rollups); metrics then read the raw rows. */
  readonly enabled: boolean;
  /** Tenants of a prompt with rows of their own; later ones share `other`. */
  readonly maxTenants: number;
  /**
   * Traces that started within this many days add to minute rows and leave their hour to the fold; older
   * ones add to their hour rows directly (their minute rows are deleted sooner): the minute rollups'
   * retention less two days, so a fold that runs late still finds every minute.
   */
  readonly foldHorizonDays: number;
}

export const DEFAULT_MAX_TENANTS = 100;
const DAY_MS = 86_400_000;

const daysFromEnv = (name: string, fallback: number, env: Readonly<Record<string, string | undefined>>): number => {
  const text = env[name];
  if (text === undefined || text.trim() === '') return fallback;
  const days = Number(text);
  if (!Number.isFinite(days) || days <= 0) throw new Error(`${name} must be a positive number of days, not "${text}"`);
  return days;
};

/** How long the rollups are kept, per grain: `PROMPTOPS_ROLLUP_MINUTE_RETENTION_DAYS` (35), `…_RETENTION_DAYS` (400). */
export const rollupRetentionDaysFromEnv = (
  env: Readonly<Record<string, string | undefined>> = process.env,
): { minutes: number; hours: number } => ({
  minutes: daysFromEnv('PROMPTOPS_ROLLUP_MINUTE_RETENTION_DAYS', 35, env),
  hours: daysFromEnv('PROMPTOPS_ROLLUP_RETENTION_DAYS', 400, env),
});

export const rollupOptionsFromEnv = (
  env: Readonly<Record<string, string | undefined>> = process.env,
): RollupOptions => {
  const foldHorizonDays = Math.max(1, rollupRetentionDaysFromEnv(env).minutes - 2);
  const text = env['PROMPTOPS_ROLLUP_MAX_TENANTS'];
  if (text === undefined || text.trim() === '')
    return { enabled: true, maxTenants: DEFAULT_MAX_TENANTS, foldHorizonDays };
  const maxTenants = Number(text);
  if (!Number.isInteger(maxTenants) || maxTenants < 0)
    throw new Error(
      `PROMPTOPS_ROLLUP_MAX_TENANTS must be a whole number of tenants (0 or more), not "${text}"; unset it for the default ${DEFAULT_MAX_TENANTS}`,
    );
  return { enabled: true, maxTenants, foldHorizonDays };
};

/** One connection (or open transaction) the rollup statements run on. */
export interface RollupSql {
  readonly dialect: Dialect;
  run(text: string, params: readonly unknown[]): Promise<readonly Record<string, unknown>[]>;
}

/** better-sqlite3, synchronous underneath; statements prepared once per text. */
export const sqliteRollupSql = (db: SqliteDatabase.Database): RollupSql => {
  const statements = new Map<string, SqliteDatabase.Statement>();
  return {
    dialect: 'sqlite',
    run(text, params) {
      let statement = statements.get(text);
      if (statement === undefined) {
        statement = db.prepare(text);
        statements.set(text, statement);
      }
      if (statement.reader) return Promise.resolve(statement.all(...params) as Record<string, unknown>[]);
      statement.run(...params);
      return Promise.resolve([]);
    },
  };
};

/** A pg client; statements named (prepared once per connection). */
export const postgresRollupSql = (client: pg.Client): RollupSql => {
  const names = new Map<string, string>();
  return {
    dialect: 'postgres',
    async run(text, params) {
      let name = names.get(text);
      if (name === undefined) {
        name = `promptops_rollup_${names.size + 1}`;
        names.set(text, name);
      }
      return (await client.query({ name, text, values: [...params] })).rows as Record<string, unknown>[];
    },
  };
};

/** A Kysely connection or transaction. */
export const kyselyRollupSql = (db: Kysely<unknown>, dialect: Dialect): RollupSql => ({
  dialect,
  async run(text, params) {
    return (await db.executeQuery<Record<string, unknown>>(CompiledQuery.raw(text, [...params]))).rows;
  },
});

const asBuffer = (bytes: Uint8Array): Buffer => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);

/** A sketch as the dialect stores it: SQLite core's binary form (a BLOB), PostgreSQL its JSON (jsonb). */
export const encodeStoredSketch = (dialect: Dialect, sketch: LatencySketch): unknown =>
  dialect === 'postgres' ? encodeLatencySketchJson(sketch) : asBuffer(encodeLatencySketchBinary(sketch));

/** A stored sketch as read back: SQLite bytes, or PostgreSQL jsonb (parsed by the driver). */
export const decodeStoredSketch = (stored: unknown): LatencySketch =>
  stored instanceof Uint8Array
    ? decodeLatencySketchBinary(stored)
    : decodeLatencySketchJson(stored as Parameters<typeof decodeLatencySketchJson>[0]);

/**
 * The sketch each delta's upsert writes: PostgreSQL, the delta's own (JSON; the upsert merges it);
 * SQLite, the stored one merged with the delta's (binary), read per bucket under the write lock.
 */
const sketchesToWrite = async (
  sql: RollupSql,
  deltas: readonly RollupDelta[],
  seriesIds: readonly number[],
): Promise<unknown[]> => {
  if (sql.dialect === 'postgres') return deltas.map((d) => encodeLatencySketchJson(latencySketchOf(d.latencies)));
  const stored = new Map<string, Uint8Array>();
  const read = new Set<string>();
  for (const d of deltas) {
    const bucket = `${d.projectId}\u0000${d.promptName}\u0000${d.grainMs}\u0000${d.bucketMs}`;
    if (read.has(bucket)) continue;
    read.add(bucket);
    const rows = await sql.run(
      'select series_id, latency from trace_rollups where project_id = ? and prompt_name = ? and grain_ms = ? and bucket_ms = ?',
      [d.projectId, d.promptName, d.grainMs, d.bucketMs],
    );
    for (const row of rows) stored.set(`${bucket}\u0000${String(row['series_id'])}`, row['latency'] as Uint8Array);
  }
  return deltas.map((d, i) => {
    const before = stored.get(
      `${d.projectId}\u0000${d.promptName}\u0000${d.grainMs}\u0000${d.bucketMs}\u0000${seriesIds[i]}`,
    );
    const mine = encodeLatenciesBinary(d.latencies);
    return asBuffer(before === undefined ? mine : mergeBinaryLatencySketches(before, mine));
  });
};

/**
 * What a connection owner (the writer thread, or the main thread's pool) knows of the rollups' keys:
 *
 * - Which tenants of a prompt get series of their own: the first `maxTenants` seen (stored in
 *   `trace_rollup_tenants`, in the transaction that first counts them), the rest `other`. An admission is
 *   never undone, so a tenant's rows never move. Two writers admitting at once on PostgreSQL may pass the
 *   cap by the few tenants they admit together.
 * - Each key's series id. Only ids read as already committed are kept across calls: one created in this
 *   transaction would be wrong for every other if the transaction rolled back.
 *
 * A failed transaction drops everything (it may have cached an admission that was rolled back).
 */
export class RollupCache {
  readonly #prompts = new Map<string, { tenants: Set<string>; full: boolean }>();
  readonly #series = new Map<string, number>();
  readonly maxTenants: number;
  constructor(readonly options: RollupOptions) {
    this.maxTenants = options.maxTenants;
  }

  /** Traces that started since add to minute rows and mark their hour for the fold. */
  horizonMs(): number {
    return Date.now() - this.options.foldHorizonDays * DAY_MS;
  }

  /** The rollup tenant when the cache knows it. */
  knownTenant(projectId: number, promptName: string, tenant: string): string | undefined {
    if (tenant === '') return '';
    // Most rows of a batch share a prompt: the last entry is checked before the map.
    const last = this.#last;
    const entry =
      last !== undefined && last.projectId === projectId && last.promptName === promptName
        ? last.entry
        : this.#prompts.get(`${projectId}\u0000${promptName}`);
    if (entry === undefined) return undefined;
    this.#last = { projectId, promptName, entry };
    if (entry.tenants.has(tenant)) return tenant;
    return entry.full ? OTHER_TENANT : undefined;
  }

  #last: { projectId: number; promptName: string; entry: { tenants: Set<string>; full: boolean } } | undefined;

  /** `admit`: a trace being counted may take a free place; a score only reads. */
  async tenant(sql: RollupSql, projectId: number, promptName: string, tenant: string, admit: boolean): Promise<string> {
    const cached = this.knownTenant(projectId, promptName, tenant);
    if (cached !== undefined) return cached;
    const rows = await sql.run(
      rollupSqlText(sql.dialect, 'select tenant from trace_rollup_tenants where project_id = ? and prompt_name = ?'),
      [projectId, promptName],
    );
    const entry = { tenants: new Set(rows.map((row) => String(row['tenant']))), full: false };
    entry.full = entry.tenants.size >= this.maxTenants;
    this.#prompts.set(`${projectId}\u0000${promptName}`, entry);
    this.#last = { projectId, promptName, entry };
    if (entry.tenants.has(tenant)) return tenant;
    if (entry.full || !admit) return OTHER_TENANT;
    await sql.run(
      rollupSqlText(
        sql.dialect,
        'insert into trace_rollup_tenants (project_id, prompt_name, tenant) values (?, ?, ?) on conflict do nothing',
      ),
      [projectId, promptName, tenant],
    );
    entry.tenants.add(tenant);
    entry.full = entry.tenants.size >= this.maxTenants;
    return tenant;
  }

  /** The series id of a delta's key; `local`: ids this transaction created (never cached beyond it). */
  async series(sql: RollupSql, delta: RollupDelta, local: Map<string, number>): Promise<number> {
    const known = this.#series.get(delta.keyText) ?? local.get(delta.keyText);
    if (known !== undefined) return known;
    const key = [
      delta.projectId,
      delta.promptName,
      delta.promptSha,
      delta.effectiveSha,
      delta.label,
      delta.tenant,
      delta.rolloutId,
      delta.rolloutArm,
    ];
    const created = await sql.run(
      rollupSqlText(
        sql.dialect,
        `insert into trace_rollup_series (${SERIES_COLUMNS}) values (?, ?, ?, ?, ?, ?, ?, ?) on conflict do nothing returning id`,
      ),
      key,
    );
    if (created[0] !== undefined) {
      const id = Number(created[0]['id']);
      local.set(delta.keyText, id);
      return id;
    }
    // Another transaction's series, committed (PostgreSQL's insert waited for it): safe to keep.
    const [row] = await sql.run(
      rollupSqlText(
        sql.dialect,
        `select id from trace_rollup_series where ${SERIES_COLUMNS.split(', ')
          .map((c) => `${c} = ?`)
          .join(' and ')}`,
      ),
      key,
    );
    if (row === undefined) throw new Error(`the rollup series of ${delta.promptName} vanished`);
    const id = Number(row['id']);
    this.#series.set(delta.keyText, id);
    return id;
  }

  forget(): void {
    this.#last = undefined;
    this.#prompts.clear();
    this.#series.clear();
  }
}

const textCache = new Map<string, string>();

/** `?` placeholders as the dialect numbers them. */
export const rollupSqlText = (dialect: Dialect, text: string): string => {
  if (dialect === 'sqlite') return text;
  let cached = textCache.get(text);
  if (cached === undefined) {
    let n = 0;
    cached = text.replace(/\?/g, () => `$${(n += 1)}`);
    textCache.set(text, cached);
  }
  return cached;
};

const SERIES_COLUMNS = 'project_id, prompt_name, prompt_sha, effective_sha, label, tenant, rollout_id, rollout_arm';
const KEY_COLUMNS = 'project_id, prompt_name, grain_ms, bucket_ms, series_id';
const MAIN_COLUMNS = `${KEY_COLUMNS}, count, errors, input_tokens, output_tokens, cost, thumbs_up, thumbs_down, score_sum, score_count, latency`;
const MAIN_WIDTH = MAIN_COLUMNS.split(',').length;
const MAIN_SUMS = [
  'count',
  'errors',
  'input_tokens',
  'output_tokens',
  'cost',
  'thumbs_up',
  'thumbs_down',
  'score_sum',
  'score_count',
].map((c) => `${c} = trace_rollups.${c} + excluded.${c}`);
/** SQLite's upsert brings the merged sketch; PostgreSQL's merges it. */
const MAIN_UPDATE = {
  sqlite: [...MAIN_SUMS, 'latency = excluded.latency'].join(', '),
  postgres: [...MAIN_SUMS, 'latency = promptops_latency_merge(trace_rollups.latency, excluded.latency)'].join(', '),
};
const SCORE_COLUMNS = `${KEY_COLUMNS}, name, sum, count`;
const SCORE_WIDTH = SCORE_COLUMNS.split(',').length;

/** Rows per upsert statement: SQLite runs single-row statements (cheapest there), PostgreSQL fewer, larger. */
const CHUNKS = { sqlite: [1], postgres: [100, 20, 5, 1] } as const;

const upsertTexts = new Map<number, string>();
const upsertText = (dialect: Dialect, table: 'main' | 'scores', rows: number): string => {
  const id = rows * 4 + (table === 'main' ? 0 : 2) + (dialect === 'sqlite' ? 0 : 1);
  let text = upsertTexts.get(id);
  if (text === undefined) {
    const width = table === 'main' ? MAIN_WIDTH : SCORE_WIDTH;
    const tuple = `(${Array.from({ length: width }, () => '?').join(',')})`;
    const values = Array.from({ length: rows }, () => tuple).join(',');
    text =
      table === 'main'
        ? `insert into trace_rollups (${MAIN_COLUMNS}) values ${values} on conflict (${KEY_COLUMNS}) do update set ${MAIN_UPDATE[dialect]}`
        : `insert into trace_rollup_scores (${SCORE_COLUMNS}) values ${values} on conflict (${KEY_COLUMNS}, name) do update set sum = trace_rollup_scores.sum + excluded.sum, count = trace_rollup_scores.count + excluded.count`;
    text = rollupSqlText(dialect, text);
    upsertTexts.set(id, text);
  }
  return text;
};

const upsertAll = async (sql: RollupSql, table: 'main' | 'scores', rows: readonly unknown[][]): Promise<void> => {
  const sizes = CHUNKS[sql.dialect];
  for (let offset = 0; offset < rows.length;) {
    const size = sizes.find((n) => n <= rows.length - offset) ?? 1;
    const params: unknown[] = [];
    for (let row = offset; row < offset + size; row += 1) params.push(...rows[row]!);
    await sql.run(upsertText(sql.dialect, table, size), params);
    offset += size;
  }
};

/** Writes deltas: each key's series, then the rows and the per-name scores. */
const writeDeltas = async (sql: RollupSql, cache: RollupCache, batch: RollupDeltas): Promise<void> => {
  const deltas = batch.sorted();
  const created = new Map<string, number>();
  const seriesIds: number[] = [];
  for (const d of deltas) seriesIds.push(await cache.series(sql, d, created));
  const sketches = await sketchesToWrite(sql, deltas, seriesIds);
  const keys = deltas.map((d, i) => [d.projectId, d.promptName, d.grainMs, d.bucketMs, seriesIds[i]]);
  await upsertAll(
    sql,
    'main',
    deltas.map((d, i) => [
      ...keys[i]!,
      d.count,
      d.errors,
      d.inputTokens,
      d.outputTokens,
      d.cost,
      d.thumbsUp,
      d.thumbsDown,
      d.scoreSum,
      d.scoreCount,
      sketches[i],
    ]),
  );
  const scores: unknown[][] = [];
  deltas.forEach((d, i) => {
    if (d.scores !== null) for (const [name, s] of d.scores) scores.push([...keys[i]!, name, s.sum, s.count]);
  });
  await upsertAll(sql, 'scores', scores);
  // Last, in one order: on PostgreSQL a fold holds its hour's mark while it reads the minutes, so an insert
  // that marks the hour after writing them waits for the fold to commit, and marks the hour again.
  for (const hour of batch.dirtyHours())
    await sql.run(
      rollupSqlText(
        sql.dialect,
        'insert into trace_rollup_dirty (project_id, prompt_name, hour_ms, version) values (?, ?, ?, 1) on conflict (project_id, prompt_name, hour_ms) do update set version = trace_rollup_dirty.version + 1',
      ),
      [hour.projectId, hour.promptName, hour.hourMs],
    );
};

/**
 * Adds the inserted rows of an insert (`inserted`: 1 inserted, 0 duplicate, per row) to the rollups
 * through `sql`, inside the insert's transaction. Traces of no prompt have no metrics.
 */
export const applyRowRollups = async (
  sql: RollupSql,
  cache: RollupCache,
  rows: readonly RowParams[],
  inserted: Uint8Array,
): Promise<void> => {
  // In row order: a tenant the cache does not know is resolved (maybe admitted) when first seen.
  const deltas = new RollupDeltas(cache.horizonMs());
  for (let i = 0; i < rows.length; i += 1) {
    const row = rows[i]!;
    const prompt = inserted[i] === 1 ? rowPrompt(row) : undefined;
    if (prompt === undefined) continue;
    const project = rowProject(row);
    const tenant = rowTenant(row);
    deltas.addRow(
      row,
      cache.knownTenant(project, prompt, tenant) ?? (await cache.tenant(sql, project, prompt, tenant, true)),
    );
  }
  await writeDeltas(sql, cache, deltas);
};

/**
 * Adds `events` (stored traces, scores) to the rollups through `sql`, inside the caller's transaction.
 * `admit`: counted traces may admit new tenants (scores only read the admissions).
 */
export const applyRollups = async (
  sql: RollupSql,
  cache: RollupCache,
  events: readonly RollupEvent[],
  admit = true,
): Promise<void> => {
  if (events.length === 0) return;
  const deltas = new RollupDeltas(cache.horizonMs());
  for (const event of events) {
    const tenant =
      cache.knownTenant(event.projectId, event.promptName, event.tenant) ??
      (await cache.tenant(sql, event.projectId, event.promptName, event.tenant, admit && event.counted));
    deltas.addEvent(event, tenant);
  }
  await writeDeltas(sql, cache, deltas);
};
