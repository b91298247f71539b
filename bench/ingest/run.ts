/**
 * bench/ingest: sustained trace ingestion through HTTP (`POST /api/v1/ingest`, batches of 100 and 1,000,
 * four concurrent senders in their own process) side by side with the ceiling: the same rows inserted
 * directly into the same database with one prepared single-row INSERT, one transaction per batch.
 * Then the accept path's latency (one sender, batches of 1 and 100), and GET-by-label p99 idle vs while
 * ingestion runs at full speed (alternated rounds, pooled), and while it runs with the server's main thread
 * and the client in the real-time class. Every phase starts from a settled database (see `settle`).
 * SQLite and PostgreSQL (a throwaway cluster). Prints figures and ratios.
 *
 *   npm run bench:ingest            (BENCH_SECONDS=8 by default; BENCH_REALTIME=0 skips the real-time windows)
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import pg from 'pg';
import { startPromptops, type ChildServer } from '../registry/servers.js';
import { createDatabase, startPostgres } from '../../packages/server/test/support/postgres.js';

const SECONDS = Number(process.env['BENCH_SECONDS'] ?? 8);
const KEY = 'po_bench_admin_key_0123456789abcdef';
const DRIVER = fileURLToPath(new URL('./driver.mjs', import.meta.url));
const RESOLVE_LOAD = fileURLToPath(new URL('./resolve-load.mjs', import.meta.url));
const RESOLVE = '/api/v1/prompts/bench/versions/production';
const headers = { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' };
const CEILING_ROWS = { sqlite: 100_000, postgres: 20_000 } as const;

interface DriverResult {
  events: number;
  requests: number;
  rejected429: number;
  errors: number;
  seconds: number;
  latencies: [number, number];
}

let runs = 0;
/** `length`: seconds, or `{ warmUp, count }` requests of which the last `count` are timed. */
const drive = (
  url: string,
  batch: number,
  concurrency: number,
  length: number | { warmUp: number; count: number },
): Promise<DriverResult> =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [DRIVER], {
      env: {
        ...process.env,
        URL_BASE: url,
        KEY,
        BATCH: String(batch),
        CONCURRENCY: String(concurrency),
        ...(typeof length === 'number'
          ? { SECONDS: String(length) }
          : { WARM_UP: String(length.warmUp), COUNT: String(length.count) }),
        RUN: `r${++runs}`,
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.once('exit', (code) =>
      code === 0 ? resolve(JSON.parse(out) as DriverResult) : reject(new Error(`driver exited ${code}`)),
    );
  });

const api = async (url: string, method: string, path: string, body?: unknown): Promise<Record<string, unknown>> => {
  const response = await fetch(`${url}${path}`, {
    method,
    headers,
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${await response.text()}`);
  return (await response.json()) as Record<string, unknown>;
};

const setUp = async (url: string): Promise<void> => {
  const content = {
    name: 'bench',
    type: 'text',
    template: 'Hello {{user_name}}, answer: {{question}}',
    config: { provider: 'openai', model: 'gpt-4o-mini', params: {} },
    variables: { user_name: { type: 'string', required: true }, question: { type: 'string', required: true } },
    slots: {},
  };
  await api(url, 'POST', '/api/v1/prompts/bench/versions', { content, parent: null });
  await api(url, 'PUT', '/api/v1/prompts/bench/labels/production', { ref: 'v1' });
};

/**
 * The accept path: one sender (the driver, in its own process), sequential POSTs of `size` events; p50 and
 * p99 in ms of the last `count` requests. The first `warmUp` are not timed: measured, the tail of a fresh
 * server keeps shrinking over its first few thousand requests of a shape (both threads' JIT and heap
 * sizing), and the target is the accept path of a server that has been running.
 */
const acceptLatency = async (url: string, size: number, warmUp: number, count: number): Promise<[number, number]> => {
  const result = await drive(url, size, 1, { warmUp, count });
  if (result.errors + result.rejected429 > 0)
    throw new Error(`accept path: ${result.errors} errors, ${result.rejected429} 429s`);
  return result.latencies;
};

interface ResolveResult {
  p50: number;
  p99: number;
  errors: number;
  /** Sorted, in ms. */
  latencies: number[];
}

/**
 * The real-time comparison (see resolveIdleVsBusy) needs `chrt` and the right to use SCHED_FIFO (root, or
 * CAP_SYS_NICE); without them it is skipped and says why. BENCH_REALTIME=0 skips it.
 */
const realtimeUnavailable = (): string | undefined => {
  if (process.env['BENCH_REALTIME'] === '0') return 'BENCH_REALTIME=0';
  const probe = spawnSync('chrt', ['-f', '1', 'true']);
  if (probe.error !== undefined) return `chrt: ${probe.error.message}`;
  return probe.status === 0 ? undefined : `chrt -f: ${probe.stderr.toString().trim()}`;
};

/** Puts one thread (a process id names its main thread) in the real-time class, or back in the normal one. */
const setRealtime = (tid: number, on: boolean): void => {
  const result = spawnSync('chrt', on ? ['-f', '-p', '10', String(tid)] : ['-o', '-p', '0', String(tid)]);
  if (result.status !== 0) throw new Error(`chrt on thread ${tid}: ${result.stderr.toString().trim()}`);
};

/**
 * GET-by-label at 400 req/s over 4 connections, from its own process (resolve-load.mjs); `realtime`: that
 * process runs in the real-time class.
 */
const resolveLoad = (url: string, seconds: number, realtime = false): Promise<ResolveResult> =>
  new Promise((resolve, reject) => {
    const command = realtime ? ['chrt', '-f', '10', process.execPath] : [process.execPath];
    const child = spawn(command[0]!, [...command.slice(1), RESOLVE_LOAD], {
      env: {
        ...process.env,
        URL_FULL: `${url}${RESOLVE}`,
        KEY,
        RATE: '400',
        CONNECTIONS: '4',
        SECONDS: String(seconds),
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.once('exit', (code) =>
      code === 0 ? resolve(JSON.parse(out) as ResolveResult) : reject(new Error(`resolve load exited ${code}`)),
    );
  });

/** Nearest-rank quantile of sorted values. */
const quantile = (sorted: readonly number[], q: number): number =>
  sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))] ?? Number.NaN;

const RATIO_ROUNDS = 3;

/**
 * One window of resolution while ingestion runs at full speed (batches of 1,000, four senders, started a
 * second before); `realtimePid`: that server's main thread and the resolve client in the real-time class.
 */
const resolveWhileIngesting = async (url: string, realtimePid?: number): Promise<[ResolveResult, DriverResult]> => {
  const ingestion = drive(url, 1000, 4, SECONDS + 2);
  await new Promise((r) => setTimeout(r, 1000));
  if (realtimePid !== undefined) setRealtime(realtimePid, true);
  let resolution: ResolveResult;
  try {
    resolution = await resolveLoad(url, SECONDS, realtimePid !== undefined);
  } finally {
    if (realtimePid !== undefined) setRealtime(realtimePid, false);
  }
  return [resolution, await ingestion];
};

/** One condition's windows, pooled: latencies, errors, and the ingestion that ran beside them. */
const pool = () => {
  const latencies: number[] = [];
  let events = 0;
  let seconds = 0;
  const state = {
    windows: 0,
    errors: 0,
    /** Adds a window; answers it, for the round's own figures. */
    add(window: ResolveResult, ingested?: DriverResult): ResolveResult {
      latencies.push(...window.latencies);
      state.windows += 1;
      state.errors += window.errors;
      events += ingested?.events ?? 0;
      seconds += ingested?.seconds ?? 0;
      return window;
    },
    summary() {
      const sorted = [...latencies].sort((a, b) => a - b);
      return { p50: quantile(sorted, 0.5), p99: quantile(sorted, 0.99), eventsPerSecond: events / seconds };
    },
  };
  return state;
};

/**
 * Resolve latency idle and while ingestion runs at full speed (batches of 1,000, four senders), in
 * RATIO_ROUNDS alternated rounds whose latencies are pooled per condition. One window's p99 is its 32nd
 * slowest request: in six runs of the same SQLite path it ranged 2.9-3.8 ms idle and 4.4-8.5 ms busy, and
 * the ratio of two single windows x1.23-2.22, so one pair met or missed the target by chance. Pooling
 * 3 x 3,200 requests per condition narrows that, and alternating spreads the database's growth over both
 * conditions. Each idle window starts from a settled database: it never includes the previous round's
 * backlog.
 *
 * When `serverPid` is given, each round has a third window: ingesting again, with the server's main thread
 * and the resolve client in the real-time class (SCHED_FIFO), so that neither waits for a CPU behind the
 * writer, the load driver or each other. It measures how much of the ingesting tail is waiting for a CPU on
 * this machine's two cores, which no code in the server removes (see bench/README.md).
 */
const resolveIdleVsBusy = async (url: string, dialect: 'sqlite' | 'postgres', db: string, serverPid?: number) => {
  const idle = pool();
  const busy = pool();
  const realtime = pool();
  const rounds: { idle: number; busy: number; realtime?: number }[] = [];
  // Not timed: the server's first seconds of resolution are its warm-up. Measured, the first idle window's
  // p99 was 3.1-5.0 ms against 1.3-2.2 ms for the next ones without it, and still 2.7 ms after 3 s of it.
  await resolveLoad(url, SECONDS);
  for (let round = 0; round < RATIO_ROUNDS; round += 1) {
    await settle(dialect, db);
    const quiet = idle.add(await resolveLoad(url, SECONDS));
    const loaded = busy.add(...(await resolveWhileIngesting(url)));
    rounds.push({ idle: quiet.p99, busy: loaded.p99 });
    if (serverPid !== undefined)
      rounds[round]!.realtime = realtime.add(...(await resolveWhileIngesting(url, serverPid))).p99;
  }
  return {
    idle: idle.summary(),
    busy: busy.summary(),
    realtime: realtime.windows === 0 ? undefined : realtime.summary(),
    rounds,
    errors: idle.errors + busy.errors + realtime.errors,
  };
};

const COLUMNS =
  'project_id,event_id,trace_id,span_id,parent_span_id,prompt_name,prompt_version,prompt_sha,effective_sha,label,tenant,rollout_id,rollout_arm,release_sha,variables,output,model,provider,latency_ms,input_tokens,output_tokens,cost,status,error,attributes,started_at_ms,created_at_ms';
const ceilingRow = (id: string, i: number): unknown[] => [
  1,
  id,
  '0af7651916cd43dd8448eb211c80319c',
  'b7ad6b7169203331',
  null,
  'bench',
  1,
  'c'.repeat(64),
  null,
  'production',
  `tenant-${i % 7}`,
  'r1',
  i % 2 ? 'control' : 'candidate',
  null,
  JSON.stringify({ user_name: 'Ada', question: 'Where is my order? It was due yesterday.' }),
  'Hi Ada! Your order left our warehouse yesterday and should arrive within two days. Is there anything else I can help with?',
  'gpt-4o-mini',
  'openai',
  700 + (i % 300),
  120,
  48,
  0.000047,
  'ok',
  null,
  JSON.stringify({ 'service.name': 'bench', 'gen_ai.response.model': 'gpt-4o-mini-2024-07-18' }),
  Date.now() - 1000,
  Date.now(),
];

const sqliteCeiling = (path: string, batch: number, rows: number): number => {
  const db = new Database(path);
  db.pragma('busy_timeout = 5000');
  db.pragma('synchronous = NORMAL');
  const insert = db.prepare(
    `insert into traces (${COLUMNS}) values (${COLUMNS.split(',')
      .map(() => '?')
      .join(',')})`,
  );
  const tx = db.transaction((start: number) => {
    for (let i = start; i < start + batch; i += 1) insert.run(...ceilingRow(`ceil-${batch}-${i}`, i));
  });
  const started = performance.now();
  for (let start = 0; start < rows; start += batch) tx(start);
  const seconds = (performance.now() - started) / 1000;
  db.close();
  return rows / seconds;
};

const postgresCeiling = async (url: string, batch: number, rows: number): Promise<number> => {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  const text = `insert into traces (${COLUMNS}) values (${COLUMNS.split(',')
    .map((_, i) => `$${i + 1}`)
    .join(',')})`;
  const started = performance.now();
  for (let start = 0; start < rows; start += batch) {
    await client.query('begin');
    for (let i = start; i < start + batch; i += 1)
      await client.query({ name: 'ceiling_insert', text, values: ceilingRow(`ceil-${batch}-${i}`, i) });
    await client.query('commit');
  }
  const seconds = (performance.now() - started) / 1000;
  await client.end();
  return rows / seconds;
};

const fmt = (n: number, digits = 0): string =>
  n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

/**
 * Lets the database finish digesting the previous phase before the next one starts (PostgreSQL: a
 * checkpoint, and the vacuum and analyze autovacuum would otherwise start on the new rows mid-measurement;
 * SQLite: the WAL checkpointed and truncated, where a WAL grown by the previous phase slows the next
 * one's writes). Every measured phase, the ceilings included, starts from this state, so the HTTP runs and
 * their ceilings compare like with like and the latency phases measure the server, not the database's
 * housekeeping on two shared cores.
 */
const settle = async (dialect: 'sqlite' | 'postgres', db: string): Promise<void> => {
  if (dialect === 'sqlite') {
    const database = new Database(db.slice('sqlite:'.length));
    database.pragma('busy_timeout = 5000');
    // The server's checkpointer thread may be running a checkpoint of its own: retry until this one finishes.
    let busy = 1;
    for (let attempt = 0; attempt < 40 && busy !== 0; attempt += 1) {
      if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, 50));
      busy = (database.pragma('wal_checkpoint(TRUNCATE)') as { busy: number }[])[0]?.busy ?? 1;
    }
    if (busy !== 0) console.warn('settle: the SQLite checkpoint could not finish (readers busy)');
    database.close();
    return;
  }
  const client = new pg.Client({ connectionString: db });
  await client.connect();
  await client.query('checkpoint');
  await client.query('vacuum analyze traces');
  await client.end();
};

const benchDialect = async (
  dialect: 'sqlite' | 'postgres',
  db: string,
  ceiling: (batch: number) => Promise<number>,
): Promise<void> => {
  const dataDir = mkdtempSync(join(tmpdir(), `promptops-bench-ingest-${dialect}-`));
  let server: ChildServer | undefined = await startPromptops(dataDir, KEY, db);
  try {
    const { url } = server;
    await setUp(url);
    await drive(url, 100, 4, 2); // warm up
    const http: Record<number, DriverResult> = {};
    for (const batch of [100, 1000]) {
      await settle(dialect, db);
      http[batch] = await drive(url, batch, 4, SECONDS);
    }
    await settle(dialect, db);
    const accept1 = await acceptLatency(url, 1, 3000, 1000);
    const accept100 = await acceptLatency(url, 100, 200, 500);
    const noRealtime = realtimeUnavailable();
    const resolution = await resolveIdleVsBusy(url, dialect, db, noRealtime === undefined ? server.pid : undefined);
    await server.stop();
    server = undefined;

    console.log(`\n== ${dialect} ==`);
    for (const batch of [100, 1000]) {
      const h = http[batch]!;
      const rate = h.events / h.seconds;
      await settle(dialect, db);
      const ceil = await ceiling(batch);
      console.log(
        `batch ${String(batch).padStart(5)} | HTTP ${fmt(rate).padStart(7)} events/s (request p50 ${fmt(h.latencies[0], 1)} ms, p99 ${fmt(h.latencies[1], 1)} ms, 429s ${h.rejected429}, errors ${h.errors}) | ceiling ${fmt(ceil).padStart(7)} rows/s | ${fmt((100 * rate) / ceil)} % of ceiling`,
      );
    }
    console.log(
      `accept path (one sender): 1 event p50 ${fmt(accept1[0], 2)} ms p99 ${fmt(accept1[1], 2)} ms | 100 events p50 ${fmt(accept100[0], 2)} ms p99 ${fmt(accept100[1], 2)} ms`,
    );
    const { idle, busy } = resolution;
    console.log(
      `resolve GET by label (4 conns, 400 req/s; ${RATIO_ROUNDS} alternated rounds, pooled): idle p50 ${fmt(idle.p50, 2)} ms p99 ${fmt(idle.p99, 2)} ms | during full-speed ingestion (${fmt(busy.eventsPerSecond)} events/s) p50 ${fmt(busy.p50, 2)} ms p99 ${fmt(busy.p99, 2)} ms | p99 x${fmt(busy.p99 / idle.p99, 2)} (rounds on their own: ${resolution.rounds.map((r) => `${fmt(r.idle, 2)} -> ${fmt(r.busy, 2)} ms x${fmt(r.busy / r.idle, 2)}`).join(', ')}) | errors ${resolution.errors}`,
    );
    const { realtime } = resolution;
    console.log(
      realtime === undefined
        ? `resolve during ingestion, server main thread and client in the real-time class: skipped (${noRealtime})`
        : `resolve during full-speed ingestion (${fmt(realtime.eventsPerSecond)} events/s), server main thread and client in the real-time class (chrt -f): p50 ${fmt(realtime.p50, 2)} ms p99 ${fmt(realtime.p99, 2)} ms | p99 x${fmt(realtime.p99 / idle.p99, 2)} of idle (rounds: ${resolution.rounds.map((r) => `${fmt(r.realtime ?? Number.NaN, 2)} ms`).join(', ')})`,
    );
  } finally {
    await server?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
};

const main = async (): Promise<void> => {
  console.log(
    `bench/ingest on ${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, Node ${process.version}, ${SECONDS} s per run`,
  );
  const dir = mkdtempSync(join(tmpdir(), 'promptops-bench-ingest-db-'));
  const sqlitePath = join(dir, 'ingest.db');
  try {
    await benchDialect('sqlite', `sqlite:${sqlitePath}`, async (batch) =>
      sqliteCeiling(sqlitePath, batch, CEILING_ROWS.sqlite),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true }); // ~1 GB of traces after a run
  }
  if (process.env['BENCH_SKIP_POSTGRES'] === '1') return;
  const cluster = await startPostgres();
  try {
    const url = await createDatabase(cluster.url, 'bench_ingest');
    await benchDialect('postgres', url, (batch) => postgresCeiling(url, batch, CEILING_ROWS.postgres));
  } finally {
    await cluster.stop();
  }
};

await main();
