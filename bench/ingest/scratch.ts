/**
 * bench/ingest: sustained trace ingestion through HTTP (`POST /api/v1/ingest`, batches of 100 and 1,000,
 * four concurrent senders in their own process) side by side with the ceiling: the same rows inserted
 * directly into the same database with one prepared single-row INSERT, one transaction per batch.
 * Then the accept path's latency (one sender, batches of 1 and 100), and GET-by-label p99 idle vs while
 * ingestion runs at full speed. SQLite and PostgreSQL (a throwaway cluster). Prints figures and ratios.
 *
 *   npm run bench:ingest            (BENCH_SECONDS=8 by default)
 */
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { request } from 'node:http';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { startPromptops, type ChildServer } from '../registry/servers.js';
import { createDatabase, startPostgres } from '../../packages/server/test/support/postgres.js';

const SECONDS = Number(process.env['BENCH_SECONDS'] ?? 8);
const KEY = 'po_bench_admin_key_0123456789abcdef';
const DRIVER = fileURLToPath(new URL('./driver.mjs', import.meta.url));
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
const drive = (url: string, batch: number, concurrency: number, seconds: number): Promise<DriverResult> =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [DRIVER], {
      env: {
        ...process.env,
        URL_BASE: url,
        KEY,
        BATCH: String(batch),
        CONCURRENCY: String(concurrency),
        SECONDS: String(seconds),
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

/** Sequential POSTs of `size` events; returns p50 and p99 in ms. */
const acceptLatency = async (url: string, size: number, count: number): Promise<[number, number]> => {
  const agent = new (await import('node:http')).Agent({ keepAlive: true, maxSockets: 1 });
  const latencies: number[] = [];
  for (let i = 0; i < count; i += 1) {
    const events = Array.from({ length: size }, (_, j) => ({
      id: `acc-${size}-${i}-${j}`,
      prompt: { name: 'bench', sha: 'c'.repeat(64) },
      label: 'production',
      output: 'Hi Ada!',
      latencyMs: 700,
      startedAt: Date.now(),
    }));
    const body = JSON.stringify({ events });
    const started = performance.now();
    await new Promise<void>((resolve, reject) => {
      const req = request(
        new URL('/api/v1/ingest', url),
        { method: 'POST', agent, headers: { ...headers, 'content-length': Buffer.byteLength(body) } },
        (res) => {
          res.resume();
          res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`ingest ${res.statusCode}`))));
        },
      );
      req.end(body);
    });
    if (i >= 20) latencies.push(performance.now() - started); // after warm-up
  }
  agent.destroy();
  latencies.sort((a, b) => a - b);
  console.log(`accept ${size}: p90 ${latencies[Math.floor(latencies.length*0.9)]!.toFixed(2)} p95 ${latencies[Math.floor(latencies.length*0.95)]!.toFixed(2)} top ${latencies.slice(-8).map((x) => x.toFixed(1)).join(' ')}`);
  return [latencies[Math.floor(latencies.length * 0.5)]!, latencies[Math.floor(latencies.length * 0.99)]!];
};

const resolveLoad = async (url: string, seconds: number) => {
  const result = await autocannon({
    url: `${url}${RESOLVE}`,
    connections: 4,
    overallRate: 400,
    duration: seconds,
    headers,
  });
  return {
    p50: result.latency.p50,
    p99: result.latency.p99,
    rps: result.requests.average,
    errors: result.errors + result.non2xx,
  };
};

const fmt = (n: number, digits = 0): string =>
  n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

const benchDialect = async (dialect: 'sqlite' | 'postgres', db: string): Promise<void> => {
  const dataDir = mkdtempSync(join(tmpdir(), `promptops-bench-ingest-${dialect}-`));
  const server: ChildServer = await startPromptops(dataDir, KEY, db);
  try {
    const { url } = server;
    await setUp(url);
    await drive(url, 100, 4, 2);
    const r = await drive(url, 1000, 4, SECONDS);
    console.log(`${dialect} batch 1000: ${fmt(r.events / r.seconds)} events/s`);
  } finally {
    await server.stop();
  }
};
const main = async (): Promise<void> => {
  if (process.env['ONLY'] !== 'postgres') {
    const dir = mkdtempSync(join(tmpdir(), 'promptops-bench-ingest-db-'));
    await benchDialect('sqlite', `sqlite:${join(dir, 'ingest.db')}`);
  }
  if (process.env['ONLY'] === 'sqlite') return;
  const cluster = await startPostgres();
  try {
    const url = await createDatabase(cluster.url, 'bench_ingest');
    await benchDialect('postgres', url);
  } finally {
    await cluster.stop();
  }
};

await main();
