import type SqliteDatabase from 'better-sqlite3';
import {
  decodeLatencySketchBinary,
  encodeLatenciesBinary,
  encodeLatencySketchBinary,
  mergeBinaryLatencySketches,
  type LatencySketch,
} from '@promptops/core';
import { CompiledQuery, type Kysely } from 'kysely';
import type pg from 'pg';
import { postgresDialect, sqliteDialect, type SqlDialect } from '../../storage/dialect.js';
import {
  HOUR_MS,
  OTHER_TENANT,
  RollupDeltas,
  rowProject,
  rowPrompt,
  rowTenant,
  type RollupDelta,
  type RollupEvent,
} from './rollup-deltas.js';
import type { RowParams } from './row-params.js';

/**
 * Rollups are written in the transaction of what they count (a trace insert, a score, a backfill batch),
 * through whichever connection runs it: the writer thread's (better-sqlite3 or a pg client) or the main
 * one (Kysely). Each is a `RollupSql`; the statements are fixed texts, upserts whose conflict clause adds
 * the counts. The latency sketch is read, merged in JavaScript (core's binary merge) and written back,
 * under the prompt's rollup lock (`lockRollups`). Measured, the alternatives cost more than the upsert
 * itself: on SQLite a JavaScript function called from the upsert (~5 µs a row: two Buffers and a C++/JS
 * hop per call); on PostgreSQL a SQL function merging jsonb (a sub-query per row; live ingestion kept 77 %
 * of its throughput, against 85 % or more with the lock).
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
  readonly dialect: SqlDialect;
  run(text: string, params: readonly unknown[]): Promise<readonly Record<string, unknown>[]>;
}

/** better-sqlite3, synchronous underneath; statements prepared once per text. */
export const sqliteRollupSql = (db: SqliteDatabase.Database): RollupSql => {
  const statements = new Map<string, SqliteDatabase.Statement>();
  return {
    dialect: sqliteDialect,
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
    dialect: postgresDialect,
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
export const kyselyRollupSql = (db: Kysely<unknown>, dialect: SqlDialect): RollupSql => ({
  dialect,
  async run(text, params) {
    return (await db.executeQuery<Record<string, unknown>>(CompiledQuery.raw(text, [...params]))).rows;
  },
});

const asBuffer = (bytes: Uint8Array): Buffer => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);

/** A sketch as stored: core's binary form (a BLOB, a bytea). */
export const encodeStoredSketch = (sketch: LatencySketch): Buffer => asBuffer(encodeLatencySketchBinary(sketch));

/** A stored sketch as read back (both drivers hand bytes over as Buffers). */
export const decodeStoredSketch = (stored: unknown): LatencySketch => decodeLatencySketchBinary(stored as Uint8Array);

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

/** `?` placeholders as the dialect writes them. */
export const rollupSqlText = (dialect: SqlDialect, text: string): string => {
  const id = `${dialect.name}:${text}`;
  let cached = textCache.get(id);
  if (cached === undefined) {
    let n = 0;
    cached = text.replace(/\?/g, () => dialect.placeholder((n += 1)));
    textCache.set(id, cached);
  }
  return cached;
};

const SERIES_COLUMNS = 'project_id, prompt_name, prompt_sha, effective_sha, label, tenant, rollout_id, rollout_arm';
/** The summed columns of every rollup table, in insert order. */
export const SUM_COLUMNS = [
  'count',
  'errors',
  'input_tokens',
  'output_tokens',
  'cost',
  'thumbs_up',
  'thumbs_down',
  'score_sum',
  'score_count',
] as const;

/** A table of summed rows: a key whose last column tells rows of one bucket apart, sums, a sketch. */
interface SummedTable {
  readonly name: 'trace_rollups' | 'trace_rollup_groups';
  readonly key: readonly string[];
}
/** Per series: minute and hour rows. */
export const SERIES_ROWS: SummedTable = {
  name: 'trace_rollups',
  key: ['project_id', 'prompt_name', 'grain_ms', 'bucket_ms', 'series_id'],
};
/** Per charted group (sha, label, arm): hour rows. */
export const GROUP_ROWS: SummedTable = {
  name: 'trace_rollup_groups',
  key: ['project_id', 'prompt_name', 'group_by', 'hour_ms', 'group_key'],
};
/** What the groups are charted by, and the key column each reads. */
export const GROUPS = [
  ['sha', 'promptSha'],
  ['label', 'label'],
  ['arm', 'rolloutArm'],
] as const;

/** One row to add: its key's values (in the table's order), its sums (SUM_COLUMNS' order), its latencies. */
interface SummedRow {
  readonly key: readonly unknown[];
  readonly sums: readonly number[];
  readonly latencies: readonly number[];
}

const upsertTexts = new Map<string, string>();
const upsertText = (dialect: SqlDialect, table: SummedTable | 'scores', rows: number): string => {
  const id = `${dialect.name}:${typeof table === 'string' ? table : table.name}:${rows}`;
  let text = upsertTexts.get(id);
  if (text !== undefined) return text;
  if (table === 'scores') {
    const key = SERIES_ROWS.key.join(', ');
    const tuple = `(${Array.from({ length: SERIES_ROWS.key.length + 3 }, () => '?').join(',')})`;
    text = `insert into trace_rollup_scores (${key}, name, sum, count) values ${Array.from({ length: rows }, () => tuple).join(',')} on conflict (${key}, name) do update set sum = trace_rollup_scores.sum + excluded.sum, count = trace_rollup_scores.count + excluded.count`;
  } else {
    const columns = [...table.key, ...SUM_COLUMNS, 'latency'];
    const tuple = `(${columns.map(() => '?').join(',')})`;
    // The upsert brings the merged sketch (read and merged under the rollup lock).
    text = `insert into ${table.name} (${columns.join(', ')}) values ${Array.from({ length: rows }, () => tuple).join(',')} on conflict (${table.key.join(', ')}) do update set ${SUM_COLUMNS.map((c) => `${c} = ${table.name}.${c} + excluded.${c}`).join(', ')}, latency = excluded.latency`;
  }
  text = rollupSqlText(dialect, text);
  upsertTexts.set(id, text);
  return text;
};

const upsertAll = async (sql: RollupSql, table: SummedTable | 'scores', rows: readonly unknown[][]): Promise<void> => {
  const sizes = sql.dialect.rollupUpsertChunks;
  for (let offset = 0; offset < rows.length;) {
    const size = sizes.find((n) => n <= rows.length - offset) ?? 1;
    const params: unknown[] = [];
    for (let row = offset; row < offset + size; row += 1) params.push(...rows[row]!);
    await sql.run(upsertText(sql.dialect, table, size), params);
    offset += size;
  }
};

/**
 * The sketch each row's upsert writes: the stored one merged with the row's, read under the rollup lock.
 * Read by key range: per prefix (the key but its bucket and last columns), the batch's buckets in runs
 * with gaps of at most 16 buckets, one index range each (a batch's traces are mostly close in time; on
 * PostgreSQL, where each statement is a round trip, a list of buckets was planned as a filter over all of
 * the prefix's rows).
 */
const sketchesToWrite = async (sql: RollupSql, table: SummedTable, rows: readonly SummedRow[]): Promise<unknown[]> => {
  const prefix = table.key.slice(0, -2);
  const [bucket, last] = table.key.slice(-2) as [string, string];
  const select = rollupSqlText(
    sql.dialect,
    `select ${bucket} as bucket, ${last} as last, latency from ${table.name} where ${prefix.map((c) => `${c} = ?`).join(' and ')} and ${bucket} >= ? and ${bucket} <= ?`,
  );
  const width = table === GROUP_ROWS ? HOUR_MS : undefined;
  const reads = new Map<string, { params: readonly unknown[]; buckets: number[]; step: number }>();
  for (const row of rows) {
    const params = row.key.slice(0, -2);
    const id = params.join('\u0000');
    // Series rows name their grain in the key; group rows are hours.
    const read = reads.get(id) ?? { params, buckets: [], step: width ?? Number(row.key[2]) };
    reads.set(id, read);
    read.buckets.push(Number(row.key.at(-2)));
  }
  const stored = new Map<string, Uint8Array>();
  for (const [id, { params, buckets, step }] of reads) {
    buckets.sort((a, b) => a - b);
    for (let from = 0; from < buckets.length;) {
      let to = from;
      while (to + 1 < buckets.length && buckets[to + 1]! - buckets[to]! <= 16 * step) to += 1;
      for (const found of await sql.run(select, [...params, buckets[from], buckets[to]]))
        stored.set(
          `${id}\u0000${Number(found['bucket'])}\u0000${String(found['last'])}`,
          found['latency'] as Uint8Array,
        );
      from = to + 1;
    }
  }
  return rows.map((row) => {
    const before = stored.get(row.key.map(String).join('\u0000'));
    const mine = encodeLatenciesBinary(row.latencies);
    return asBuffer(before === undefined ? mine : mergeBinaryLatencySketches(before, mine));
  });
};

/** Adds summed rows (sorted by key: one lock order for every transaction). */
const addRows = async (sql: RollupSql, table: SummedTable, rows: readonly SummedRow[]): Promise<void> => {
  const sketches = await sketchesToWrite(sql, table, rows);
  await upsertAll(
    sql,
    table,
    rows.map((row, i) => [...row.key, ...row.sums, sketches[i]]),
  );
};

const sumsOf = (d: RollupDelta): number[] => [
  d.count,
  d.errors,
  d.inputTokens,
  d.outputTokens,
  d.cost,
  d.thumbsUp,
  d.thumbsDown,
  d.scoreSum,
  d.scoreCount,
];

/**
 * Hour deltas (of traces older than the fold's horizon) added to their hours' group rows too, which the
 * fold would otherwise make.
 */
const groupRowsOf = (deltas: readonly RollupDelta[]): SummedRow[] => {
  const groups = new Map<string, { key: unknown[]; sums: number[]; latencies: number[] }>();
  for (const d of deltas) {
    if (d.grainMs !== HOUR_MS) continue;
    for (const [by, field] of GROUPS) {
      const key = [d.projectId, d.promptName, by, d.bucketMs, d[field]];
      const id = key.join('\u0000');
      const group = groups.get(id) ?? { key, sums: SUM_COLUMNS.map(() => 0), latencies: [] };
      groups.set(id, group);
      sumsOf(d).forEach((n, i) => (group.sums[i]! += n));
      for (const ms of d.latencies) group.latencies.push(ms);
    }
  }
  return [...groups.keys()].sort().map((id) => groups.get(id)!);
};

/**
 * The rollup lock of a transaction's prompts: who writes a prompt's rollups reads its stored sketches,
 * merges them and writes them back, so writers of one prompt must take turns. SQLite: every write
 * transaction already holds the database's one write lock. PostgreSQL: a transaction-scoped advisory lock
 * per (project, prompt), taken in sorted order (in the two-key space, apart from the migration's lock).
 * The rows a writer upserts are locked by the upsert anyway until it commits, so this adds no waiting
 * where writers touch the same rows, which concurrent writers of one prompt mostly do (its current minute).
 */
export const lockRollups = async (
  sql: RollupSql,
  prompts: readonly { projectId: number; promptName: string }[],
): Promise<void> => {
  if (!sql.dialect.locksRows) return;
  const distinct = new Map(prompts.map((p) => [`${p.projectId}\u0000${p.promptName}`, p]));
  for (const id of [...distinct.keys()].sort()) {
    const { projectId, promptName } = distinct.get(id)!;
    await sql.run('select pg_advisory_xact_lock($1, hashtext($2))', [projectId, promptName]);
  }
};

/** Writes deltas: each key's series, its rows and per-name scores, group rows, then the hour marks. */
const writeDeltas = async (sql: RollupSql, cache: RollupCache, batch: RollupDeltas): Promise<void> => {
  const deltas = batch.sorted();
  await lockRollups(sql, deltas);
  const created = new Map<string, number>();
  const keys: unknown[][] = [];
  for (const d of deltas)
    keys.push([d.projectId, d.promptName, d.grainMs, d.bucketMs, await cache.series(sql, d, created)]);
  await addRows(
    sql,
    SERIES_ROWS,
    deltas.map((d, i) => ({ key: keys[i]!, sums: sumsOf(d), latencies: d.latencies })),
  );
  const scores: unknown[][] = [];
  deltas.forEach((d, i) => {
    if (d.scores !== null) for (const [name, s] of d.scores) scores.push([...keys[i]!, name, s.sum, s.count]);
  });
  await upsertAll(sql, 'scores', scores);
  await addRows(sql, GROUP_ROWS, groupRowsOf(deltas));
  // Last: a fold (which takes the prompt's lock first) sees the minutes and the mark together.
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
