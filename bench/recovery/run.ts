/**
 * bench/recovery: time to recovery, measured on the real server with its real monitor runner. Per rate
 * (20, 100 and 1,000 traces per second): a prompt's production serves v1 with a baseline of good traces,
 * v2 is promoted and every one of 100 connected SDK clients serves it; then a sender in this process posts
 * traces through `POST /api/v1/ingest` at the rate, each carrying the sha the first client serves (v2
 * fails 20 % of its calls, v1 1 %). A monitor with the default settings and `action: rollback` watches the
 * label; the runner's own timer looks (`PROMPTOPS_MONITOR_TICK_MS`, default here 500 ms, the server's
 * default is 5 s). Time to recovery runs from the first bad trace to the moment all 100 clients serve v1,
 * split into detection wait (first bad trace → the look that fired), decision (that look → the
 * auto-rollback's deployment), rollback (deployment → the first client serving v1) and propagation (first
 * → last client). Printed, with the ratio against the seed's human path of 90 s. No assertions.
 *
 *   npm run bench:recovery        (BENCH_RATES=20,100,1000; BENCH_TICK_MS=500; BENCH_CLIENTS=100)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient, type PromptopsClient } from '../../packages/sdk/src/index.js';
import { textPrompt, versionOf } from '../../packages/sdk/test/support/fixtures.js';
import { startPromptops, type ChildServer } from '../registry/servers.js';

const KEY = 'po_bench_admin_key_0123456789abcdef';
const RATES = (process.env['BENCH_RATES'] ?? '20,100,1000').split(',').map(Number);
const TICK_MS = Number(process.env['BENCH_TICK_MS'] ?? 500);
const CLIENTS = Number(process.env['BENCH_CLIENTS'] ?? 100);
const HUMAN_PATH_MS = 90_000;
const BASELINE_TRACES = 400;
/** The sender posts a batch this often: 10 requests a second whatever the rate. */
const SEND_EVERY_MS = 100;
const GIVE_UP_MS = 180_000;

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const call = async <T = Json>(url: string, method: string, path: string, body?: unknown): Promise<T> => {
  const response = await fetch(`${url}/api/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${await response.text()}`);
  return (response.status === 204 ? {} : await response.json()) as T;
};

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

interface Prompt {
  readonly name: string;
  readonly v1: string;
  readonly v2: string;
}

const setUp = async (url: string, rate: number): Promise<Prompt> => {
  const name = `recovery_${rate}`;
  const v1 = versionOf(textPrompt(name, 'Answer politely, by name: {{question}}'), 1);
  const v2 = versionOf(textPrompt(name, 'Answer: {{question}}'), 2);
  const path = `/prompts/${name}`;
  await call(url, 'POST', `${path}/versions`, { content: v1.content, parent: null, message: 'v1' });
  await call(url, 'POST', `${path}/versions`, { content: v2.content, parent: v1.sha, message: 'v2' });
  await call(url, 'PUT', `${path}/labels/production`, { ref: 'v1' });
  // The monitor's defaults (conditions, window, minimum samples, alpha), acting by rolling back.
  await call(url, 'POST', `${path}/monitors`, { label: 'production', config: { action: 'rollback' } });
  return { name, v1: v1.sha, v2: v2.sha };
};

let traceIds = 0;
/** `count` traces of `sha` on production; v2 fails every fifth call, v1 every hundredth. */
const ingest = async (url: string, prompt: Prompt, sha: string, count: number): Promise<void> => {
  const bad = sha === prompt.v2;
  const events = Array.from({ length: count }, () => {
    const n = ++traceIds;
    const failed = bad ? n % 5 === 0 : n % 100 === 0;
    return {
      id: `t${n}`,
      prompt: { name: prompt.name, sha },
      label: 'production',
      latencyMs: 300 + (n % 37),
      startedAt: new Date().toISOString(),
      ...(failed ? { status: 'error', error: 'upstream refused the answer' } : {}),
    };
  });
  for (let i = 0; i < events.length; i += 1000)
    await call(url, 'POST', '/ingest', { events: events.slice(i, i + 1000) });
};

/** Resolves with the time at which `client` serves `sha` for the prompt's production. */
const serves = (client: PromptopsClient, name: string, sha: string): Promise<number> =>
  new Promise((resolve) => {
    if (client.get(name).sha === sha) return resolve(performance.timeOrigin + performance.now());
    const off = client.on('change', (event) => {
      if (event.name !== name || event.label !== 'production' || event.sha !== sha) return;
      off();
      resolve(performance.timeOrigin + performance.now());
    });
  });

const withTimeout = <T>(promise: Promise<T>, what: string): Promise<T> =>
  Promise.race([
    promise,
    sleep(GIVE_UP_MS).then(() => {
      throw new Error(`gave up after ${GIVE_UP_MS / 1000} s waiting for ${what}`);
    }),
  ]);

interface Trial {
  readonly rate: number;
  readonly detectionWaitMs: number;
  readonly decisionMs: number;
  readonly rollbackMs: number;
  readonly propagationMs: number;
  readonly totalMs: number;
  readonly badTraces: number;
  readonly samples: number | null;
}

const trial = async (url: string, prompt: Prompt, rate: number, clients: PromptopsClient[]): Promise<Trial> => {
  await ingest(url, prompt, prompt.v1, BASELINE_TRACES);
  const onV2 = clients.map((client) => serves(client, prompt.name, prompt.v2));
  await call(url, 'PUT', `/prompts/${prompt.name}/labels/production`, { ref: 'v2', reason: 'bench' });
  await withTimeout(Promise.all(onV2), 'every client to serve v2');

  const onV1 = clients.map((client) => serves(client, prompt.name, prompt.v1));
  let sending = true;
  let badTraces = 0;
  const firstBadAt = Date.now();
  const sender = (async () => {
    let sent = 0;
    while (sending) {
      const due = Math.floor(((Date.now() - firstBadAt) / 1000) * rate) + 1;
      const count = Math.max(0, due - sent);
      // The app's traces carry what its client serves right now.
      const sha = clients[0]!.get(prompt.name).sha;
      if (count > 0) {
        await ingest(url, prompt, sha, count);
        if (sha === prompt.v2) badTraces += count;
        sent += count;
      }
      await sleep(SEND_EVERY_MS);
    }
  })();
  const arrivals = await withTimeout(Promise.all(onV1), 'every client to serve v1 again');
  sending = false;
  await sender;

  const { incidents } = await call<{ incidents: Json[] }>(url, 'GET', '/incidents');
  const incident = incidents.find((one) => one['promptName'] === prompt.name);
  if (incident === undefined) throw new Error(`no incident for ${prompt.name}`);
  const detail = await call(url, 'GET', `/incidents/${incident['id']}`);
  const detectedAt = Date.parse(detail['incident']['detection']['at']);
  const { deployments } = await call<{ deployments: Json[] }>(
    url,
    'GET',
    `/prompts/${prompt.name}/deployments?label=production`,
  );
  const rollback = deployments.find((one) => one['kind'] === 'auto-rollback');
  if (rollback === undefined) throw new Error(`no auto-rollback on ${prompt.name}`);
  const rolledBackAt = Date.parse(rollback['createdAt']);
  const first = Math.min(...arrivals);
  const last = Math.max(...arrivals);
  const samples = detail['incident']['detection']['samples'];
  return {
    rate,
    detectionWaitMs: detectedAt - firstBadAt,
    decisionMs: rolledBackAt - detectedAt,
    rollbackMs: first - rolledBackAt,
    propagationMs: last - first,
    totalMs: last - firstBadAt,
    badTraces,
    samples: typeof samples === 'number' ? samples : null,
  };
};

const seconds = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;

const main = async (): Promise<void> => {
  const dir = mkdtempSync(join(tmpdir(), 'promptops-bench-recovery-'));
  // The runner's own timer, shortened for the bench (the server's default is 5 s).
  process.env['PROMPTOPS_MONITOR_TICK_MS'] = String(TICK_MS);
  const server: ChildServer = await startPromptops(dir, KEY, `sqlite:${join(dir, 'bench.db')}`);
  const clients: PromptopsClient[] = [];
  try {
    const prompts = new Map<number, Prompt>();
    for (const rate of RATES) prompts.set(rate, await setUp(server.url, rate));
    for (let i = 0; i < CLIENTS; i += 1) {
      const client = createClient({ url: server.url, apiKey: KEY, traces: false });
      clients.push(client);
    }
    await Promise.all(clients.map((client) => client.ready()));
    console.log(
      `bench/recovery: ${CLIENTS} SDK clients, monitor tick ${TICK_MS} ms (PROMPTOPS_MONITOR_TICK_MS), ` +
        `monitor defaults + action rollback, SQLite, load average ${loadavg()[0]!.toFixed(1)}`,
    );
    const trials: Trial[] = [];
    for (const rate of RATES) {
      const result = await trial(server.url, prompts.get(rate)!, rate, clients);
      trials.push(result);
      console.log(`  ${rate} traces/s: ${seconds(result.totalMs)} (${result.badTraces} bad traces)`);
    }
    console.log('');
    console.log(
      '| traces/s | detection wait | decision | rollback | propagation | time to recovery | bad traces | samples at detection | vs 90 s |',
    );
    console.log(
      '| -------: | -------------: | -------: | -------: | ----------: | ---------------: | ---------: | -------------------: | ------: |',
    );
    for (const t of trials) {
      console.log(
        `| ${t.rate} | ${seconds(t.detectionWaitMs)} | ${seconds(t.decisionMs)} | ${seconds(t.rollbackMs)} | ` +
          `${seconds(t.propagationMs)} | ${seconds(t.totalMs)} | ${t.badTraces} | ${t.samples ?? '–'} | x${(HUMAN_PATH_MS / t.totalMs).toFixed(1)} faster |`,
      );
    }
    console.log(
      `\nload average at the end: ${loadavg()
        .map((n) => n.toFixed(1))
        .join(' ')}`,
    );
  } finally {
    await Promise.all(clients.map((client) => client.close()));
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
};

await main();
