/**
 * bench/sdk, part 3: fleet start-up with N prompts (each ~1 KB of chat prompt, all on `production`).
 *
 * Per N, against a real server (its own process, SQLite):
 * - the snapshot served cold (a new change stamp before each request) and from the cache: server CPU
 *   per request (/proc, all threads: the compression runs on libuv's pool) and the time to the last byte;
 * - bytes on the wire: plain, gzip, brotli, and a 304;
 * - `ready()` of one client in a fresh Node process (cold JIT, as an app starts), 20 starts each: with no
 *   cache file (the full snapshot, brotli) and with a current cache file (revalidated: 304);
 * - 100 clients starting at once: 10 Node processes x 10 clients, released together; wall time until the
 *   last is ready, server CPU, and the clients' CPU (here on the same 2 cores as the server); and the
 *   server alone: 100 simultaneous snapshot requests read raw, to the last byte.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { PromptContent } from '@promptops/core';
import type * as Sdk from '../../packages/sdk/src/index.js';
import { startPromptops, type ChildServer } from '../registry/servers.js';

const SDK_DIST = fileURLToPath(new URL('../../packages/sdk/dist/index.js', import.meta.url));

export interface StartupOptions {
  readonly key: string;
  readonly dir: string;
  readonly starts: number;
  readonly fleet: { readonly processes: number; readonly clientsPerProcess: number };
}

export interface StartupFigures {
  readonly prompts: number;
  readonly bytes: { readonly plain: number; readonly gzip: number; readonly br: number };
  /** Median server CPU ms per request / median ms to the last byte. */
  readonly cold: { readonly plain: Timing; readonly br: Timing };
  readonly cached: { readonly plain: Timing; readonly br: Timing; readonly notModified: Timing };
  readonly ready: { readonly noCache: number[]; readonly cacheFile: number[]; readonly inProcess: number[] };
  readonly fleet: FleetFigures;
  /** 100 raw snapshot requests at once: at a new stamp (built once for them all), then cached. */
  readonly fanOut: { readonly cold: FanOut; readonly cached: FanOut };
}

export interface FanOut {
  readonly wallMs: number;
  readonly serverCpuMs: number;
}

export interface Timing {
  readonly cpuMs: number;
  readonly wallMs: number;
}

export interface FleetFigures {
  readonly clients: number;
  readonly wallMs: number;
  readonly serverCpuMs: number;
  readonly clientCpuMs: number;
}

// ---- realistic prompt content -------------------------------------------------------------------

/** mulberry32: the same prompts every run. */
const prng = (seed: number) => () => {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};

const SYLLABLES = ['ka', 'lo', 'mi', 'ren', 'sta', 'por', 'te', 'vin', 'cal', 'du', 'ex', 'ber', 'qua', 'ni', 'so'];

/**
 * Prompts of one organization: each opens with one of 30 shared policy paragraphs (teams reuse them)
 * and goes on with ~600 characters of its own text, words drawn from a 3,000-word vocabulary. Real
 * prompt sets repeat more than this; uniform random words compress worse than prose.
 */
const corpus = () => {
  const random = prng(28);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;
  const vocabulary = Array.from({ length: 3000 }, () =>
    Array.from({ length: 1 + Math.floor(random() * 3) }, () => pick(SYLLABLES)).join(''),
  );
  const sentence = (): string => {
    const words = Array.from({ length: 6 + Math.floor(random() * 10) }, () => pick(vocabulary));
    return `${words.join(' ')}.`.replace(/^./, (c) => c.toUpperCase());
  };
  const paragraph = (chars: number): string => {
    let text = '';
    while (text.length < chars) text += `${text === '' ? '' : ' '}${sentence()}`;
    return text;
  };
  const shared = Array.from({ length: 30 }, () => paragraph(280));
  return (name: string): PromptContent => ({
    name,
    type: 'chat',
    config: { provider: 'openai', model: 'gpt-4o-mini', params: { temperature: 0.2, max_tokens: 400 } },
    variables: {
      user_name: { type: 'string', required: true },
      question: { type: 'string', required: true },
    },
    slots: {},
    messages: [
      { role: 'system', content: `${pick(shared)}\n${paragraph(600)}` },
      { role: 'user', content: '{{user_name}} asks: {{question}}' },
    ],
  });
};

// ---- HTTP helpers -------------------------------------------------------------------------------

const api = async (url: string, key: string, method: string, path: string, body?: unknown): Promise<unknown> => {
  const response = await fetch(`${url}${path}`, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${text.slice(0, 300)}`);
  return JSON.parse(text);
};

interface Raw {
  readonly status: number;
  readonly bytes: number;
  readonly etag: string | undefined;
  readonly ms: number;
}

/** One GET read raw (never decoded), timed to the last byte. */
const rawGet = (url: string, key: string, headers: Record<string, string> = {}): Promise<Raw> =>
  new Promise((resolve, reject) => {
    const started = performance.now();
    const req = request(
      `${url}/api/v1/snapshot`,
      { headers: { authorization: `Bearer ${key}`, ...headers } },
      (res) => {
        let bytes = 0;
        res.on('data', (chunk: Buffer) => (bytes += chunk.length));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            bytes,
            etag: res.headers.etag,
            ms: performance.now() - started,
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end();
  });

const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length === 0 ? NaN : sorted[Math.floor((sorted.length - 1) / 2)]!;
};

// ---- seeding ------------------------------------------------------------------------------------

export const seed = async (url: string, key: string, prompts: number): Promise<void> => {
  const content = corpus();
  let next = 0;
  const worker = async (): Promise<void> => {
    for (let i = next++; i < prompts; i = next++) {
      const name = `svc-${i % 50}/prompt-${i}`;
      const path = `/api/v1/prompts/${encodeURIComponent(name)}`;
      await api(url, key, 'POST', `${path}/versions`, { content: content(name), parent: null });
      await api(url, key, 'PUT', `${path}/labels/production`, { ref: 'v1' });
    }
  };
  await Promise.all(Array.from({ length: 6 }, worker));
  // The prompt whose `staging` label the cold measurements move between its two versions: each move is
  // a new change stamp.
  const probe = 'bench-stamp';
  const first = (await api(url, key, 'POST', `/api/v1/prompts/${probe}/versions`, {
    content: content(probe),
    parent: null,
  })) as { sha: string };
  const base = content(probe);
  const second =
    base.type === 'chat' ? { ...base, messages: [...base.messages, { role: 'user', content: 'v2' }] } : base;
  await api(url, key, 'POST', `/api/v1/prompts/${probe}/versions`, { content: second, parent: first.sha });
};

// ---- server side --------------------------------------------------------------------------------

let stampFlips = 0;
/** A label move (a change stamp the server has not served yet): `staging` goes to the other version. */
const newStamp = async (url: string, key: string): Promise<void> => {
  stampFlips += 1;
  const moved = (await api(url, key, 'PUT', '/api/v1/prompts/bench-stamp/labels/staging', {
    ref: stampFlips % 2 === 0 ? 'v1' : 'v2',
  })) as { changed: boolean };
  if (!moved.changed) throw new Error('the stamp probe did not move');
};

const timed = async (server: ChildServer, run: () => Promise<Raw>): Promise<{ cpuMs: number; raw: Raw }> => {
  const before = server.cpuMs();
  const raw = await run();
  return { cpuMs: server.cpuMs() - before, raw };
};

const coldTimings = async (server: ChildServer, key: string, coding: string, rounds: number): Promise<Timing> => {
  const cpu: number[] = [];
  const wall: number[] = [];
  for (let i = 0; i < rounds; i += 1) {
    await newStamp(server.url, key);
    const { cpuMs, raw } = await timed(server, () => rawGet(server.url, key, { 'accept-encoding': coding }));
    if (raw.status !== 200) throw new Error(`cold GET: ${raw.status}`);
    cpu.push(cpuMs);
    wall.push(raw.ms);
  }
  // The mean: /proc counts in 10 ms ticks, which a median of short requests would round to nothing.
  return { cpuMs: cpu.reduce((sum, one) => sum + one, 0) / rounds, wallMs: median(wall) };
};

/** Cached requests: /proc counts CPU in 10 ms ticks, so the CPU is taken over a batch. */
const cachedTimings = async (
  server: ChildServer,
  key: string,
  headers: Record<string, string>,
  requests: number,
): Promise<Timing> => {
  await rawGet(server.url, key, headers); // fills the cache for this coding
  const wall: number[] = [];
  const before = server.cpuMs();
  for (let i = 0; i < requests; i += 1) wall.push((await rawGet(server.url, key, headers)).ms);
  return { cpuMs: (server.cpuMs() - before) / requests, wallMs: median(wall) };
};

/** The server alone: `clients` simultaneous snapshot requests, read raw to the last byte. */
const fanOut = async (server: ChildServer, key: string, clients: number, cold: boolean): Promise<FanOut> => {
  if (cold) await newStamp(server.url, key);
  const before = server.cpuMs();
  const started = performance.now();
  await Promise.all(Array.from({ length: clients }, () => rawGet(server.url, key, { 'accept-encoding': 'br, gzip' })));
  return { wallMs: performance.now() - started, serverCpuMs: server.cpuMs() - before };
};

// ---- client side --------------------------------------------------------------------------------

/** A Node process that imports the SDK, then starts `clients` clients when told to ("go" on stdin). */
const clientProcess = (url: string, key: string, clients: number, cacheFile?: string): ChildProcess =>
  spawn(
    process.execPath,
    [
      '--input-type=module',
      '-e',
      `const { createClient } = await import(${JSON.stringify(SDK_DIST)});
       const { cpuUsage } = process;
       process.stdout.write('loaded\\n');
       process.stdin.once('data', async () => {
         const cpu = cpuUsage();
         const started = performance.now();
         // A minute: on a busy 2-core machine a hundred starts can take longer than the default 10 s.
         const list = Array.from({ length: ${clients} }, () => createClient({
           url: ${JSON.stringify(url)}, apiKey: ${JSON.stringify(key)}, snapshotCheckIntervalMs: 0, requestTimeoutMs: 60000,
           ${cacheFile === undefined ? '' : `cacheFile: ${JSON.stringify(cacheFile)},`}
           onError: (e) => process.stderr.write('client: ' + e.message + '\\n'),
         }));
         try {
           await Promise.all(list.map((c) => c.ready()));
         } catch (error) {
           process.stdout.write(JSON.stringify({ error: String(error) }) + '\\n');
           process.exit(1);
         }
         const readyMs = performance.now() - started;
         const used = cpuUsage(cpu);
         process.stdout.write(JSON.stringify({ readyMs, readyAt: performance.timeOrigin + performance.now(), cpuMs: (used.user + used.system) / 1000 }) + '\\n');
         await Promise.all(list.map((c) => c.close()));
         process.exit(0);
       });`,
    ],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  );

const lines = (child: ChildProcess): AsyncIterator<string> => {
  const queue: string[] = [];
  const waiting: ((line: string) => void)[] = [];
  let buffer = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    buffer += chunk.toString();
    for (let end = buffer.indexOf('\n'); end !== -1; end = buffer.indexOf('\n')) {
      const line = buffer.slice(0, end);
      buffer = buffer.slice(end + 1);
      const waiter = waiting.shift();
      if (waiter) waiter(line);
      else queue.push(line);
    }
  });
  // A process that dies answers every later read with an error line instead of leaving it waiting.
  child.once('exit', (code) => {
    const line = JSON.stringify({ error: `the process exited (${code}) before answering` });
    queue.push(line);
    for (const waiter of waiting.splice(0)) waiter(line);
  });
  return {
    next: () =>
      new Promise((resolve) => {
        const line = queue.shift();
        if (line !== undefined) resolve({ value: line, done: false });
        else waiting.push((value) => resolve({ value, done: false }));
      }),
  };
};

interface ChildResult {
  readonly error?: string;
  readonly readyMs: number;
  readonly readyAt: number;
  readonly cpuMs: number;
}

/**
 * Waits until every process has loaded the SDK, releases them together (after `beforeGo`), and
 * collects their results.
 */
const release = async (
  children: ChildProcess[],
  beforeGo: () => void = () => undefined,
): Promise<{ goAt: number; results: ChildResult[] }> => {
  const readers = children.map(lines);
  for (const reader of readers) {
    const first = await reader.next();
    if (first.value !== 'loaded') throw new Error(`a client process did not load the SDK: ${String(first.value)}`);
  }
  beforeGo();
  const goAt = performance.timeOrigin + performance.now();
  for (const child of children) child.stdin!.write('go\n');
  const results = await Promise.all(
    readers.map(async (reader) => JSON.parse((await reader.next()).value) as ChildResult),
  );
  const failed = results.find((result) => result.error !== undefined);
  if (failed !== undefined) throw new Error(`a client process could not start: ${failed.error}`);
  // Each closes its clients (flushing a cache file) and exits.
  await Promise.all(
    children.map(
      (child) => new Promise((resolve) => (child.exitCode === null ? child.once('exit', resolve) : resolve(0))),
    ),
  );
  return { goAt, results };
};

const readyInFreshProcesses = async (url: string, key: string, starts: number, cacheFile?: string) => {
  const times: number[] = [];
  for (let i = 0; i < starts; i += 1) {
    const { results } = await release([clientProcess(url, key, 1, cacheFile)]);
    times.push(results[0]!.readyMs);
  }
  return times;
};

const readyInProcess = async (url: string, key: string, starts: number): Promise<number[]> => {
  const { createClient } = (await import(SDK_DIST)) as typeof Sdk;
  const times: number[] = [];
  for (let i = 0; i < starts; i += 1) {
    const started = performance.now();
    const client = createClient({ url, apiKey: key, snapshotCheckIntervalMs: 0 });
    await client.ready();
    times.push(performance.now() - started);
    await client.close();
  }
  return times;
};

const fleet = async (server: ChildServer, key: string, options: StartupOptions['fleet']): Promise<FleetFigures> => {
  await newStamp(server.url, key); // cold: the first request of the fleet builds the new stamp's snapshot
  const children = Array.from({ length: options.processes }, () =>
    clientProcess(server.url, key, options.clientsPerProcess),
  );
  // The CPU window opens once every process is waiting: loading Node and the SDK is not the fleet's cost.
  let before = Number.NaN;
  const { goAt, results } = await release(children, () => (before = server.cpuMs()));
  const serverCpuMs = server.cpuMs() - before;
  return {
    clients: options.processes * options.clientsPerProcess,
    wallMs: Math.max(...results.map((r) => r.readyAt)) - goAt,
    serverCpuMs,
    clientCpuMs: results.reduce((sum, r) => sum + r.cpuMs, 0),
  };
};

// ---- one size -----------------------------------------------------------------------------------

export const startupBench = async (prompts: number, options: StartupOptions): Promise<StartupFigures> => {
  process.env['PROMPTOPS_WRITE_RATE_LIMIT'] = '0'; // seeding writes thousands of versions
  const dir = join(options.dir, `startup-${prompts}`);
  const server = await startPromptops(dir, options.key, `sqlite:${join(dir, 'bench.db')}`);
  try {
    const { key } = options;
    await seed(server.url, key, prompts);
    const plain = await rawGet(server.url, key);
    const gzip = await rawGet(server.url, key, { 'accept-encoding': 'gzip' });
    const br = await rawGet(server.url, key, { 'accept-encoding': 'br' });
    const cold = {
      plain: await coldTimings(server, key, 'identity', 7),
      br: await coldTimings(server, key, 'br', 7),
    };
    const brEtag = (await rawGet(server.url, key, { 'accept-encoding': 'br' })).etag ?? '';
    const cached = {
      plain: await cachedTimings(server, key, {}, 100),
      br: await cachedTimings(server, key, { 'accept-encoding': 'br' }, 200),
      notModified: await cachedTimings(server, key, { 'accept-encoding': 'br', 'if-none-match': brEtag }, 300),
    };
    const cacheFile = join(dir, 'client-cache.json');
    await readyInFreshProcesses(server.url, key, 1, cacheFile); // writes the cache file
    if (!existsSync(cacheFile)) throw new Error(`no cache file was written at ${cacheFile}`);
    const ready = {
      noCache: await readyInFreshProcesses(server.url, key, options.starts),
      cacheFile: await readyInFreshProcesses(server.url, key, options.starts, cacheFile),
      inProcess: await readyInProcess(server.url, key, options.starts),
    };
    const clients = options.fleet.processes * options.fleet.clientsPerProcess;
    const fanned = {
      cold: await fanOut(server, key, clients, true),
      cached: await fanOut(server, key, clients, false),
    };
    return {
      prompts,
      bytes: { plain: plain.bytes, gzip: gzip.bytes, br: br.bytes },
      cold,
      cached,
      ready,
      fleet: await fleet(server, key, options.fleet),
      fanOut: fanned,
    };
  } finally {
    await server.stop();
  }
};

// ---- report -------------------------------------------------------------------------------------

const TARGET_PROMPTS = 5000;
const ms = (n: number): string => (n < 10 ? n.toFixed(2) : n < 100 ? n.toFixed(1) : n.toFixed(0));
const kb = (n: number): string => (n >= 1e6 ? `${(n / 1e6).toFixed(2)} MB` : `${(n / 1e3).toFixed(1)} kB`);
/** 100 starts on 100 hosts: the server's fan-out at a new stamp, then each client's own ready() in parallel. */
const estimate = (f: StartupFigures): number => f.fanOut.cold.wallMs + p50(f.ready.noCache);
const p50 = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.ceil(sorted.length / 2) - 1] ?? NaN;
};

/** Prints the sizes side by side, then the targets at 5,000 prompts. */
export const printStartup = (all: readonly StartupFigures[]): void => {
  const head = all.map((f) => `${f.prompts.toLocaleString('en-US')} prompts`.padStart(28));
  const row = (label: string, cell: (f: StartupFigures) => string): void =>
    console.log(`${label.padEnd(74)}${all.map((f) => cell(f).padStart(28)).join('')}`);
  console.log(`\n${'fleet start-up'.padEnd(74)}${head.join('')}`);
  row('snapshot bytes: plain / gzip / br', (f) => `${kb(f.bytes.plain)} / ${kb(f.bytes.gzip)} / ${kb(f.bytes.br)}`);
  row('  br vs plain', (f) => `${((100 * f.bytes.br) / f.bytes.plain).toFixed(1)} %`);
  row(
    'cold (new stamp) plain: server CPU / last byte, ms',
    (f) => `${ms(f.cold.plain.cpuMs)} / ${ms(f.cold.plain.wallMs)}`,
  );
  row('cold (new stamp) br: server CPU / last byte, ms', (f) => `${ms(f.cold.br.cpuMs)} / ${ms(f.cold.br.wallMs)}`);
  row('cached plain: server CPU / last byte, ms', (f) => `${ms(f.cached.plain.cpuMs)} / ${ms(f.cached.plain.wallMs)}`);
  row('cached br: server CPU / last byte, ms', (f) => `${ms(f.cached.br.cpuMs)} / ${ms(f.cached.br.wallMs)}`);
  row(
    '304 (If-None-Match): server CPU / last byte, ms',
    (f) => `${ms(f.cached.notModified.cpuMs)} / ${ms(f.cached.notModified.wallMs)}`,
  );
  row('ready() p50, fresh process, no cache file (br), ms', (f) => ms(p50(f.ready.noCache)));
  row('ready() p50, fresh process, cache file + 304, ms', (f) => ms(p50(f.ready.cacheFile)));
  row('ready() p50, in one warm process, no cache file, ms', (f) => ms(p50(f.ready.inProcess)));
  row(
    'server alone, 100 requests at once (br), new stamp: last byte / CPU, ms',
    (f) => `${ms(f.fanOut.cold.wallMs)} / ${ms(f.fanOut.cold.serverCpuMs)}`,
  );
  row(
    '  the same, cached: last byte / CPU, ms',
    (f) => `${ms(f.fanOut.cached.wallMs)} / ${ms(f.fanOut.cached.serverCpuMs)}`,
  );
  row('100 clients at once (10 processes x 10): all ready, ms', (f) => ms(f.fleet.wallMs));
  row(
    "  server CPU / the clients' CPU (same 2 cores), ms",
    (f) => `${ms(f.fleet.serverCpuMs)} / ${ms(f.fleet.clientCpuMs)}`,
  );
  row('  on separate hosts, estimated: new-stamp fan-out + ready() p50, ms', (f) => ms(estimate(f)));
  const at = all.find((f) => f.prompts === TARGET_PROMPTS);
  if (at === undefined) return;
  const check = (ok: boolean): string => (ok ? 'met' : 'MISSED');
  console.log(
    `\ntargets at ${TARGET_PROMPTS.toLocaleString('en-US')} prompts: cached snapshot server time ${ms(at.cached.br.cpuMs)} ms (<= 10: ${check(at.cached.br.cpuMs <= 10)}); ` +
      `on the wire ${kb(at.bytes.br)} (<= 1.5 MB: ${check(at.bytes.br <= 1.5e6)}); ` +
      `ready() p50 ${ms(p50(at.ready.noCache))} ms without / ${ms(p50(at.ready.cacheFile))} ms with a cache file (<= 200: ${check(Math.max(p50(at.ready.noCache), p50(at.ready.cacheFile)) <= 200)}); ` +
      `100 simultaneous starts ${ms(at.fleet.wallMs)} ms on this machine (<= 2000: ${check(at.fleet.wallMs <= 2000)}), ` +
      `~${ms(estimate(at))} ms estimated on separate hosts (<= 2000: ${check(estimate(at) <= 2000)})`,
  );
};
