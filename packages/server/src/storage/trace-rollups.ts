import type SqliteDatabase from 'better-sqlite3';
import {
  encodeLatencyBins,
  encodeLatencyExact,
  mergeEncodedLatencyBins,
  mergeEncodedLatencyExact,
} from '@promptops/core';
import { CompiledQuery, type Kysely } from 'kysely';
import type pg from 'pg';
import type { Dialect } from './port.js';
import { OTHER_TENANT, rollupDeltas, type RollupDelta, type RollupEvent } from './trace-rollup-deltas.js';

/**
 * Rollups are written in the transaction of what they count (a trace insert, a score, a backfill batch),
 * through whichever connection runs it: the writer thread's (better-sqlite3 or a pg client) or the main
 * one (Kysely). Each is a `RollupSql`; the statements are the same fixed texts for all, upserts whose
 * conflict clause adds the counts and merges the latency sketch's texts with `promptops_latency_*_merge`
 * (PostgreSQL: SQL functions, migration 0007; SQLite: core's functions, registered per connection).
 */

export interface RollupOptions {
  /** Off only for benchmarks (ingestion without rollups); metrics then read the raw rows. */
  readonly enabled: boolean;
  /** Tenants of a prompt with rows of their own; later ones share `other`. */
  readonly maxTenants: number;
}

export const DEFAULT_MAX_TENANTS = 100;

export const rollupOptionsFromEnv = (
  env: Readonly<Record<string, string | undefined>> = process.env,
): RollupOptions => {
  const text = env['PROMPTOPS_ROLLUP_MAX_TENANTS'];
  if (text === undefined || text.trim() === '') return { enabled: true, maxTenants: DEFAULT_MAX_TENANTS };
  const maxTenants = Number(text);
  if (!Number.isInteger(maxTenants) || maxTenants < 0)
    throw new Error(
      `PROMPTOPS_ROLLUP_MAX_TENANTS must be a whole number of tenants (0 or more), not "${text}"; unset it for the default ${DEFAULT_MAX_TENANTS}`,
    );
  return { enabled: true, maxTenants };
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

/** SQLite: the sketch merges the upserts call, on a connection that writes rollups. */
export const registerRollupFunctions = (db: SqliteDatabase.Database): void => {
  db.function('promptops_latency_bins_merge', { deterministic: true }, (a: unknown, b: unknown) =>
    mergeEncodedLatencyBins(String(a), String(b)),
  );
  db.function('promptops_latency_exact_merge', { deterministic: true }, (a: unknown, b: unknown) =>
    mergeEncodedLatencyExact(a === null ? null : String(a), b === null ? null : String(b)),
  );
};

/**
 * Which tenants of a prompt get rows of their own: the first `maxTenants` seen (stored in
 * `trace_rollup_tenants`, in the transaction that first counts them), the rest `other`. An admission is
 * never undone, so a tenant's rows never move. Cached per connection owner; a failed transaction drops the
 * cache (it may hold an admission that was rolled back). Two writers admitting at once on PostgreSQL may
 * pass the cap by the few tenants they admit together.
 */
export class RollupTenants {
  readonly #prompts = new Map<string, { tenants: Set<string>; full: boolean }>();
  constructor(readonly maxTenants: number) {}

  /** The rollup tenant when the cache knows it. */
  known(projectId: number, promptName: string, tenant: string): string | undefined {
    if (tenant === '') return '';
    const entry = this.#prompts.get(`${projectId}\u0000${promptName}`);
    if (entry?.tenants.has(tenant)) return tenant;
    return entry?.full === true ? OTHER_TENANT : undefined;
  }

  /** `admit`: a trace being counted may take a free place; a score only reads. */
  async resolve(
    sql: RollupSql,
    projectId: number,
    promptName: string,
    tenant: string,
    admit: boolean,
  ): Promise<string> {
    const cached = this.known(projectId, promptName, tenant);
    if (cached !== undefined) return cached;
    const rows = await sql.run(
      rollupSqlText(sql.dialect, 'select tenant from trace_rollup_tenants where project_id = ? and prompt_name = ?'),
      [projectId, promptName],
    );
    const entry = { tenants: new Set(rows.map((row) => String(row['tenant']))), full: false };
    entry.full = entry.tenants.size >= this.maxTenants;
    this.#prompts.set(`${projectId}\u0000${promptName}`, entry);
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

  forget(): void {
    this.#prompts.clear();
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

const KEY_COLUMNS =
  'project_id, prompt_name, grain_ms, bucket_ms, prompt_sha, effective_sha, label, tenant, rollout_id, rollout_arm';
const MAIN_COLUMNS = `${KEY_COLUMNS}, count, errors, input_tokens, output_tokens, cost, thumbs_up, thumbs_down, score_sum, score_count, latency_bins, latency_exact`;
const MAIN_WIDTH = MAIN_COLUMNS.split(',').length;
const MAIN_UPDATE = [
  ...[
    'count',
    'errors',
    'input_tokens',
    'output_tokens',
    'cost',
    'thumbs_up',
    'thumbs_down',
    'score_sum',
    'score_count',
  ].map((c) => `${c} = trace_rollups.${c} + excluded.${c}`),
  'latency_bins = promptops_latency_bins_merge(trace_rollups.latency_bins, excluded.latency_bins)',
  'latency_exact = promptops_latency_exact_merge(trace_rollups.latency_exact, excluded.latency_exact)',
].join(', ');
const SCORE_COLUMNS = `${KEY_COLUMNS}, name, sum, count`;
const SCORE_WIDTH = SCORE_COLUMNS.split(',').length;

/** Rows per upsert statement: SQLite runs single-row statements (cheapest there), PostgreSQL fewer, larger. */
const CHUNKS = { sqlite: [1], postgres: [100, 20, 5, 1] } as const;

const upsertTexts = new Map<string, string>();
const upsertText = (dialect: Dialect, table: 'main' | 'scores', rows: number): string => {
  const id = `${dialect}:${table}:${rows}`;
  let text = upsertTexts.get(id);
  if (text === undefined) {
    const width = table === 'main' ? MAIN_WIDTH : SCORE_WIDTH;
    const tuple = `(${Array.from({ length: width }, () => '?').join(',')})`;
    const values = Array.from({ length: rows }, () => tuple).join(',');
    text =
      table === 'main'
        ? `insert into trace_rollups (${MAIN_COLUMNS}) values ${values} on conflict (${KEY_COLUMNS}) do update set ${MAIN_UPDATE}`
        : `insert into trace_rollup_scores (${SCORE_COLUMNS}) values ${values} on conflict (${KEY_COLUMNS}, name) do update set sum = trace_rollup_scores.sum + excluded.sum, count = trace_rollup_scores.count + excluded.count`;
    text = rollupSqlText(dialect, text);
    upsertTexts.set(id, text);
  }
  return text;
};

const keyParams = (d: RollupDelta): unknown[] => [
  d.projectId,
  d.promptName,
  d.grainMs,
  d.bucketMs,
  d.promptSha,
  d.effectiveSha,
  d.label,
  d.tenant,
  d.rolloutId,
  d.rolloutArm,
];

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

/**
 * Adds `events` to the rollups through `sql`, inside the caller's transaction. `admit`: counted traces may
 * admit new tenants (scores only read the admissions).
 */
export const applyRollups = async (
  sql: RollupSql,
  tenants: RollupTenants,
  events: readonly RollupEvent[],
  admit = true,
): Promise<void> => {
  if (events.length === 0) return;
  // Tenants in event order, so the first seen are the ones admitted.
  const mapped = new Map<RollupEvent, string>();
  for (const event of events) {
    mapped.set(
      event,
      tenants.known(event.projectId, event.promptName, event.tenant) ??
        (await tenants.resolve(sql, event.projectId, event.promptName, event.tenant, admit && event.counted)),
    );
  }
  const deltas = rollupDeltas(events, (event) => mapped.get(event)!);
  await upsertAll(
    sql,
    'main',
    deltas.map((d) => [
      ...keyParams(d),
      d.count,
      d.errors,
      d.inputTokens,
      d.outputTokens,
      d.cost,
      d.thumbsUp,
      d.thumbsDown,
      d.scoreSum,
      d.scoreCount,
      encodeLatencyBins(d.latency.bins),
      encodeLatencyExact(d.latency.exact),
    ]),
  );
  const scores: unknown[][] = [];
  for (const d of deltas) for (const [name, s] of d.scores) scores.push([...keyParams(d), name, s.sum, s.count]);
  await upsertAll(sql, 'scores', scores);
};
