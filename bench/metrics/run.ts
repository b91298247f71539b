/**
 * bench/metrics: the metrics query (7 days, by sha, hourly buckets) answered from the rollups side by side
 * with the raw scan on the same database, and ingestion throughput with rollups on vs off, at each size
 * of BENCH_SIZES traces over the last 7 days (one prompt, three shas rolled out in turn, two labels,
 * twenty tenants, rollout arms on rollout days, 5 % errors, thumbs on one trace in 500). SQLite, then
 * PostgreSQL (a throwaway cluster); BENCH_SKIP_SQLITE=1 or BENCH_SKIP_POSTGRES=1 skips one. Prints every
 * figure and ratio.
 *
 * Ingestion runs the server's ingest path without HTTP (`ingestTraceBody`: the writer thread parses,
 * validates and inserts 1,000-event JSON bodies) into two databases at once, one with rollups and one
 * without, each body into both, in alternating order, so the machine's noise falls on both alike. Two
 * phases: the fill (the N traces, 7 days in the past, in time order: each body covers minutes of their
 * time, so most minute rollups it writes are new rows), then live traffic (BENCH_LIVE events, default
 * 200,000, stamped as they are sent, into the filled databases). Then the fold of the filled hours into
 * hour rollups (the server's job does it every minute), timed, and the queries.
 *
 *   npm run bench:metrics    (BENCH_SIZES=100000,1000000,5000000 by default; BENCH_QUERY_RUNS=7)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { openStores, type RawSqlAccess, type Stores } from '../../packages/server/dist/app/stores.js';
import { createTraceService } from '../../packages/server/dist/traces/service.js';
import type { MetricsQuery } from '../../packages/server/dist/traces/store.js';
import { createDatabase, startPostgres } from '../../packages/server/test/support/postgres.js';

const SIZES = (process.env['BENCH_SIZES'] ?? '100000,1000000,5000000').split(',').map((s) => Number(s.trim()));
const QUERY_RUNS = Number(process.env['BENCH_QUERY_RUNS'] ?? 7);
const LIVE = Number(process.env['BENCH_LIVE'] ?? 200_000);
const BATCH = 1000;
const DAY = 86_400_000;
const HOUR = 3_600_000;
const SHAS = ['1', '2', '3'].map((c) => c.repeat(64));

type Dialect = 'sqlite' | 'postgres';

/** A deterministic PRNG (mulberry32), so every run ingests the same events. */
const prng = (seed: number) => () => {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};

/**
 * An event at `at`, `day` days into the week: sha 1, then 2 from day 2 (a rollout: arms candidate/control
 * for a day), then 3 from day 5 likewise.
 */
const eventAt = (id: string, at: number, day: number, random: () => number) => {
  const rollout = (from: number) => day >= from && day < from + 1;
  const candidate = random() < 0.5;
  const sha =
    day < 2
      ? SHAS[0]
      : rollout(2)
        ? SHAS[candidate ? 1 : 0]
        : day < 5
          ? SHAS[1]
          : rollout(5)
            ? SHAS[candidate ? 2 : 1]
            : SHAS[2];
  const inRollout = rollout(2) || rollout(5);
  return {
    id,
    prompt: { name: 'bench', sha, effectiveSha: sha },
    label: random() < 0.9 ? 'production' : 'staging',
    tenant: `tenant-${Math.floor(random() * 20)}`,
    ...(inRollout ? { rollout: { id: `r-${day < 4 ? 2 : 5}`, arm: candidate ? 'candidate' : 'control' } } : {}),
    model: 'gpt-4o-mini',
    provider: 'openai',
    output: 'Hi Ada! Your order left our warehouse yesterday. Is there anything else I can help with?',
    latencyMs: Math.round(300 * Math.exp(random() * 2.5) * 10) / 10,
    usage: { inputTokens: 100 + Math.floor(random() * 100), outputTokens: 20 + Math.floor(random() * 80) },
    cost: 0.00004 + random() * 0.0001,
    status: random() < 0.05 ? 'error' : 'ok',
    startedAt: at,
  };
};

const open = async (dialect: Dialect, target: string, rollups: boolean): Promise<Stores & RawSqlAccess> => {
  const options = { rollups: { enabled: rollups, maxTenants: 100, foldHorizonDays: 33 } };
  const storage = openStores(dialect === 'sqlite' ? `sqlite:${target}` : target, options);
  await storage.migrate();
  return storage;
};

/** The WAL folded into the database (SQLite), or a checkpoint and fresh statistics (PostgreSQL). */
const settle = async (dialect: Dialect, target: string): Promise<void> => {
  if (dialect === 'sqlite') {
    const db = new Database(target);
    db.pragma('busy_timeout = 5000');
    db.pragma('wal_checkpoint(TRUNCATE)');
    db.close();
    return;
  }
  const client = new pg.Client({ connectionString: target });
  await client.connect();
  await client.query('checkpoint');
  await client.query('vacuum analyze');
  await client.end();
};

const fmt = (n: number, digits = 0): string =>
  n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

/** Median of QUERY_RUNS timed calls, after one untimed. */
const time = async (fn: () => Promise<unknown>): Promise<number> => {
  await fn();
  const times: number[] = [];
  for (let run = 0; run < QUERY_RUNS; run += 1) {
    const started = performance.now();
    await fn();
    times.push(performance.now() - started);
  }
  return median(times);
};

interface Row {
  dialect: Dialect;
  size: number;
  fill: { on: number; off: number };
  live: { on: number; off: number };
  foldSeconds: number;
  foldedHours: number;
  rollupMs: number;
  rawMs: number;
  serviceMs: number;
  hourRows: number;
  minuteRows: number;
}

const benchSize = async (dialect: Dialect, on: string, off: string, size: number): Promise<Row> => {
  const withRollups = await open(dialect, on, true);
  const without = await open(dialect, off, false);
  try {
    const created = new Date().toISOString();
    const projectId = (await withRollups.transaction((tx) => tx.registry.createProject('bench', created))).id;
    await without.transaction((tx) => tx.registry.createProject('bench', created));
    // The prompt, so the service answers (its versions are not needed for the figures).
    await withRollups.transaction(async (tx) => {
      const prompt = await tx.registry.lockPrompt(projectId, 'bench', created);
      await tx.registry.setPromptHead(prompt.id, 3, SHAS[2]!, created);
    });

    const random = prng(27);
    /** Sends `count` events in bodies of BATCH to both databases; answers each one's events per second. */
    const ingest = async (count: number, make: (i: number) => unknown, phase: string) => {
      const elapsed = { on: 0, off: 0 };
      for (let from = 0; from < count; from += BATCH) {
        const events = Array.from({ length: Math.min(BATCH, count - from) }, (_, i) => make(from + i));
        const body = Buffer.from(JSON.stringify({ events }));
        const order = (from / BATCH) % 2 === 0 ? (['on', 'off'] as const) : (['off', 'on'] as const);
        for (const which of order) {
          const storage = which === 'on' ? withRollups : without;
          const copy = Uint8Array.prototype.slice.call(body); // moved to the writer thread
          const nowMs = Date.now();
          const started = performance.now();
          await storage.traces.ingest.ingestBody(projectId, copy, nowMs, nowMs);
          elapsed[which] += performance.now() - started;
        }
        if (from % (BATCH * 100) === 0 && from > 0) process.stdout.write(`  ${dialect} ${phase} ${fmt(from)}\r`);
      }
      return { on: count / (elapsed.on / 1000), off: count / (elapsed.off / 1000) };
    };
    const startMs = Date.now() - 7 * DAY;
    const fill = await ingest(
      size,
      (i) => {
        const at = startMs + Math.floor(((i + random()) * 7 * DAY) / size);
        return eventAt(`m-${i}`, at, (at - startMs) / DAY, random);
      },
      'fill',
    );
    // Live traffic: the last day's keys (sha 3, no rollout), stamped within the last two seconds.
    const live = await ingest(
      LIVE,
      (i) => eventAt(`live-${i}`, Date.now() - Math.floor(random() * 2000), 6.5, random),
      'live',
    );
    // Thumbs on one trace in 500 (the score path updates the rollups; not part of the ingestion figures).
    const endMs = Date.now();
    for (let i = 0; i < size; i += 500) {
      await withRollups.traces.insertScore(projectId, {
        eventId: `m-${i}`,
        name: 'feedback',
        kind: 'thumbs',
        value: i % 3 === 0 ? 0 : 1,
        stringValue: null,
        comment: null,
        actor: 'bench',
        createdAtMs: endMs,
      });
    }
    await without.close();
    // The fold of the filled hours, as the server's job runs it.
    const foldStarted = performance.now();
    let foldedHours = 0;
    for (let folded = -1; folded !== 0;) {
      folded = await withRollups.traces.foldTraceRollups(Date.now(), 1000);
      foldedHours += folded;
    }
    const foldSeconds = (performance.now() - foldStarted) / 1000;
    await settle(dialect, on);
    // The partial minute at a window's end is read from raw rows: wait for the live burst's minute to end,
    // or the query would read ~100,000 of them (at 1M traces a week a minute holds ~100).
    await new Promise((resolve) => setTimeout(resolve, 60_000 - (Date.now() % 60_000) + 1000));

    const nowMs = Date.now();
    const query: MetricsQuery = {
      promptName: 'bench',
      by: 'sha',
      sinceMs: nowMs - 7 * DAY,
      untilMs: nowMs,
      bucketMs: HOUR,
      maxLatencySamples: 100_000,
    };
    const rollupMs = await time(() => withRollups.traces.traceMetrics(projectId, { ...query, source: 'rollups' }));
    const rawMs = await time(() => withRollups.traces.traceMetrics(projectId, { ...query, source: 'raw' }));
    const service = createTraceService(withRollups, { now: () => new Date() });
    const actor = {
      projectId,
      projectName: 'bench',
      role: 'viewer',
      keyId: 'bench',
      name: 'bench',
      user: null,
    } as const;
    const serviceMs = await time(() => service.metrics(actor, 'bench', { by: 'sha', since: '7d', bucket: '1h' }));
    const count = async (grain: number) =>
      Number((await withRollups.rawSql(`select count(*) as n from trace_rollups where grain_ms = ${grain}`))[0]!['n']);
    return {
      dialect,
      size,
      fill,
      live,
      foldSeconds,
      foldedHours,
      rollupMs,
      rawMs,
      serviceMs,
      hourRows: await count(HOUR),
      minuteRows: await count(60_000),
    };
  } finally {
    await withRollups.close();
    await without.close().catch(() => undefined);
  }
};

const ratio = (rates: { on: number; off: number }): string => `${fmt((100 * rates.on) / rates.off, 1)} %`;

const report = (r: Row): void => {
  console.log(
    `${r.dialect} ${fmt(r.size)} traces | fill: with rollups ${fmt(r.fill.on)} events/s, without ${fmt(r.fill.off)}: ${ratio(r.fill)} | live (${fmt(LIVE)} events): with ${fmt(r.live.on)} events/s, without ${fmt(r.live.off)}: ${ratio(r.live)} (target >= 85 %)`,
  );
  console.log(
    `  fold: ${fmt(r.foldedHours)} hours in ${fmt(r.foldSeconds, 1)} s | metrics 7d by sha per hour: rollups ${fmt(r.rollupMs, 1)} ms (target <= 100 ms at 1M), raw scan ${fmt(r.rawMs, 1)} ms: x${fmt(r.rawMs / r.rollupMs, 1)}; through the service ${fmt(r.serviceMs, 1)} ms | rollup rows: ${fmt(r.hourRows)} hours, ${fmt(r.minuteRows)} minutes`,
  );
};

const main = async (): Promise<void> => {
  console.log(
    `bench/metrics on ${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, Node ${process.version}; sizes ${SIZES.map((s) => fmt(s)).join(', ')}; live ${fmt(LIVE)}; query: median of ${QUERY_RUNS}`,
  );
  const rows: Row[] = [];
  for (const size of process.env['BENCH_SKIP_SQLITE'] === '1' ? [] : SIZES) {
    const dir = mkdtempSync(join(tmpdir(), 'promptops-bench-metrics-'));
    try {
      const row = await benchSize('sqlite', join(dir, 'on.db'), join(dir, 'off.db'), size);
      report(row);
      rows.push(row);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  if (process.env['BENCH_SKIP_POSTGRES'] !== '1') {
    const cluster = await startPostgres();
    try {
      for (const size of SIZES) {
        const on = await createDatabase(cluster.url, `bench_metrics_on_${size}`);
        const off = await createDatabase(cluster.url, `bench_metrics_off_${size}`);
        const row = await benchSize('postgres', on, off, size);
        report(row);
        rows.push(row);
      }
    } finally {
      await cluster.stop();
    }
  }
  console.log(
    '\n| database | traces | fill with / without rollups | ratio | live with / without | ratio | fold | metrics from rollups | raw scan | speed-up | via service |',
  );
  console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const r of rows)
    console.log(
      `| ${r.dialect} | ${fmt(r.size)} | ${fmt(r.fill.on)} / ${fmt(r.fill.off)} /s | ${ratio(r.fill)} | ${fmt(r.live.on)} / ${fmt(r.live.off)} /s | ${ratio(r.live)} | ${fmt(r.foldSeconds, 1)} s | ${fmt(r.rollupMs, 1)} ms | ${fmt(r.rawMs, 1)} ms | x${fmt(r.rawMs / r.rollupMs, 1)} | ${fmt(r.serviceMs, 1)} ms |`,
    );
};

await main();
