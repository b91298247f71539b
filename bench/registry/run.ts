/**
 * bench/registry: fetching a prompt version by label (`GET …/versions/production`) on the real server,
 * side by side with a bare Fastify route returning the same JSON from memory (the ceiling), at 100 and
 * 10 connections; then the time to push 1,000 versions, against the same POSTs to the bare route.
 * Servers run in their own processes; autocannon runs here. Prints figures and ratios; asserts nothing.
 *
 *   npm run bench:registry            (BENCH_SECONDS=10 per subject, BENCH_ROUNDS=4 by default)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { startBareFastify, startPromptops, type ChildServer } from './servers.js';

const SECONDS = Number(process.env['BENCH_SECONDS'] ?? 10);
const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 4);
const KEY = 'po_bench_admin_key_0123456789abcdef';
const PATH = '/api/v1/prompts/customer_support_greeter/versions/production';
const headers = { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' };

interface Load {
  readonly rps: number;
  readonly p50: number;
  readonly p99: number;
  /** The server's CPU time per request (µs): steadier than throughput when the machine's speed moves. */
  readonly cpuUs: number;
  readonly errors: number;
}

/** The q-quantile of ascending values. */
const quantile = (sorted: readonly number[], q: number): number =>
  sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))] ?? Number.NaN;

const load = async (server: ChildServer, connections: number, duration = SECONDS): Promise<Load> => {
  const cpuBefore = server.cpuMs();
  const instance = autocannon({ url: `${server.url}${PATH}`, connections, duration, headers });
  // autocannon's own percentiles are whole milliseconds (0 at 10 connections); its response event has the
  // exact time of each response.
  const latencies: number[] = [];
  instance.on('response', (_client: unknown, statusCode: number, _bytes: number, ms: number) => {
    if (statusCode === 200) latencies.push(ms);
  });
  const result = await instance;
  latencies.sort((a, b) => a - b);
  return {
    rps: result.requests.average,
    p50: quantile(latencies, 0.5),
    p99: quantile(latencies, 0.99),
    cpuUs: ((server.cpuMs() - cpuBefore) * 1000) / Math.max(result.requests.total, 1),
    errors: result.errors + result.non2xx,
  };
};

const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};

/**
 * The ceiling and promptops in ROUNDS alternating pairs of SECONDS / ROUNDS each (which goes first
 * alternates too): on this shared machine the speed of both moves by tens of percent from one minute to the
 * next, and back-to-back single runs compared two different machines. Throughput is the mean over the
 * rounds, p99 the median of the rounds' p99s.
 */
const compare = async (bare: ChildServer, real: ChildServer, connections: number): Promise<[Load, Load]> => {
  const runs: [Load[], Load[]] = [[], []];
  for (let round = 0; round < ROUNDS; round += 1) {
    for (const subject of round % 2 === 0 ? [0, 1] : [1, 0]) {
      runs[subject]!.push(await load(subject === 0 ? bare : real, connections, SECONDS / ROUNDS));
    }
  }
  const summary = (loads: Load[]): Load => ({
    rps: loads.reduce((sum, one) => sum + one.rps, 0) / loads.length,
    p50: median(loads.map((one) => one.p50)),
    p99: median(loads.map((one) => one.p99)),
    cpuUs: median(loads.map((one) => one.cpuUs)),
    errors: loads.reduce((sum, one) => sum + one.errors, 0),
  });
  return [summary(runs[0]), summary(runs[1])];
};

const pushMany = async (url: string, count: number, withParent: boolean): Promise<number> => {
  let parent: string | null = null;
  const started = performance.now();
  for (let i = 0; i < count; i += 1) {
    const content = {
      name: 'bench',
      type: 'text',
      template: `Version ${i}: answer the question {{q}}.`,
      config: { provider: 'openai', model: 'gpt-4o-mini', params: { temperature: 0.2 } },
      variables: { q: { type: 'string', required: true } },
      slots: {},
    };
    const response = await fetch(`${url}/api/v1/prompts/bench/versions`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ content, parent, message: `push ${i}` }),
    });
    if (response.status !== 201) throw new Error(`push ${i}: ${response.status} ${await response.text()}`);
    const body = (await response.json()) as { sha?: string };
    if (withParent) parent = body.sha ?? null;
  }
  return performance.now() - started;
};

const fmt = (n: number, digits = 0): string => n.toFixed(digits);

const main = async (): Promise<void> => {
  const dataDir = mkdtempSync(join(tmpdir(), 'promptops-bench-'));
  const servers: ChildServer[] = [];
  try {
    const promptops = await startPromptops(dataDir, KEY);
    servers.push(promptops);
    const body = await (await fetch(`${promptops.url}${PATH}`, { headers })).text();
    const bare = await startBareFastify(body);
    servers.push(bare);

    console.log(
      `bench/registry on ${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, Node ${process.version}, ${SECONDS} s per subject in ${ROUNDS} alternating rounds`,
    );
    console.log(`GET ${PATH} (${body.length} bytes)\n`);
    await load(bare, 10, 2); // warm up both
    await load(promptops, 10, 2);

    const rows: string[] = [];
    for (const connections of [100, 10]) {
      const [ceiling, real] = await compare(bare, promptops, connections);
      rows.push(
        `${String(connections).padStart(5)} conns | ceiling ${fmt(ceiling.rps).padStart(6)} req/s p99 ${fmt(ceiling.p99, 2).padStart(5)} ms | promptops ${fmt(real.rps).padStart(6)} req/s p99 ${fmt(real.p99, 2).padStart(5)} ms | throughput ${fmt((100 * real.rps) / ceiling.rps)} % of ceiling (target >= 70) | p99 x${fmt(real.p99 / ceiling.p99, 2)} (target <= 1.5) | server CPU per request ${fmt(ceiling.cpuUs, 1)} -> ${fmt(real.cpuUs, 1)} µs (x${fmt(real.cpuUs / ceiling.cpuUs, 2)}) | errors ${real.errors + ceiling.errors}`,
      );
      console.log(rows[rows.length - 1]);
    }

    const PUSHES = 1000;
    const floor = await pushMany(bare.url, PUSHES, false);
    const pushes = await pushMany(promptops.url, PUSHES, true);
    console.log(
      `\npush ${PUSHES} versions (sequential, each on its parent): promptops ${fmt(pushes)} ms (${fmt(pushes / PUSHES, 2)} ms each) | bare POST floor ${fmt(floor)} ms | ratio x${fmt(pushes / floor, 1)}`,
    );
  } finally {
    await Promise.all(servers.map((server) => server.stop()));
    rmSync(dataDir, { recursive: true, force: true });
  }
};

await main();
