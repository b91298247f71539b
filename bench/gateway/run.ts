/**
 * `npm run bench:gateway`: what the gateway adds to a chat completion. The same requests go straight to a
 * local fake upstream (a fixed 20 ms answer, its own process) and through the gateway (`startServer` from
 * the build, SQLite, traces recorded, its own process), side by side in one run, at 1 and 50 concurrent,
 * non-streaming and streaming. Prints the added latency (p50, p99), the added time to first byte of the
 * answer, and the gateway's own X-Promptops-Overhead-Ms. No assertions. BENCH_ROUNDS (default 2) rounds
 * alternate which side goes first; BENCH_REQUESTS scales the request counts.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const SERVER_DIST = fileURLToPath(new URL('../../packages/server/dist/index.js', import.meta.url));
const UPSTREAM = fileURLToPath(new URL('./upstream.ts', import.meta.url));
const ADMIN_KEY = 'po_bench_gateway_admin_key_0000000000';
const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 2);
const SCALE = Number(process.env['BENCH_REQUESTS'] ?? 1);

const start = (args: string[], env: Record<string, string> = {}): Promise<{ url: string; child: ChildProcess }> =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const match = /listening on (http:\/\/\S+)/.exec(out);
      if (match) resolve({ url: match[1]!, child });
    });
    child.once('exit', (code) => reject(new Error(`exited (${code}): ${out}`)));
  });

/** CPU time (user + system, all threads) a process has used, in ms, from /proc; NaN off Linux. */
const cpuMs = (pid: number | undefined, thread = false): number => {
  try {
    // The process (all threads), or its main thread (whose id is the process's).
    const fields = readFileSync(thread ? `/proc/${pid}/task/${pid}/stat` : `/proc/${pid}/stat`, 'utf8')
      .split(') ')[1]!
      .split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
  } catch {
    return Number.NaN;
  }
};

const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });

interface Sample {
  readonly totalMs: number;
  readonly firstByteMs: number;
  readonly overheadMs: number | undefined;
}

const post = (url: string, body: string, key: string | undefined): Promise<Sample> =>
  new Promise((resolve, reject) => {
    const started = performance.now();
    const request = http.request(url, {
      method: 'POST',
      agent,
      headers: {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(body),
        ...(key === undefined ? {} : { authorization: `Bearer ${key}` }),
      },
    });
    request.on('response', (response) => {
      let first: number | undefined;
      response.on('data', () => {
        first ??= performance.now();
      });
      response.on('end', () => {
        if (response.statusCode !== 200) reject(new Error(`status ${response.statusCode}`));
        const overhead = response.headers['x-promptops-overhead-ms'];
        resolve({
          totalMs: performance.now() - started,
          firstByteMs: (first ?? performance.now()) - started,
          overheadMs: typeof overhead === 'string' ? Number(overhead) : undefined,
        });
      });
    });
    request.on('error', reject);
    request.end(body);
  });

const run = async (url: string, body: string, key: string | undefined, concurrency: number, total: number) => {
  const samples: Sample[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < total) {
        next += 1;
        samples.push(await post(url, body, key));
      }
    }),
  );
  return samples;
};

const quantile = (values: number[], q: number): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
};

const ms = (value: number): string => `${value.toFixed(2)} ms`;
const signed = (value: number): string => `${value >= 0 ? '+' : ''}${value.toFixed(2)} ms`;

const main = async (): Promise<void> => {
  const dir = mkdtempSync(join(tmpdir(), 'promptops-bench-gateway-'));
  const upstream = await start(['--import', 'tsx', UPSTREAM]);
  const config = join(dir, 'gateway.json');
  writeFileSync(config, JSON.stringify({ providers: { openai: { baseURL: `${upstream.url}/v1` } } }));
  const gateway = await start(
    [
      ...(process.env['BENCH_PROFILE'] === undefined
        ? []
        : ['--cpu-prof', '--cpu-prof-dir', process.env['BENCH_PROFILE']]),
      '--input-type=module',
      '-e',
      `const { startServer } = await import(${JSON.stringify(SERVER_DIST)});
       const server = await startServer({ port: 0, dataDir: ${JSON.stringify(dir)}, log: false, webRoot: false });
       process.once('SIGTERM', () => void server.close().then(() => process.exit(0)));`,
    ],
    { PROMPTOPS_INIT_ADMIN_KEY: ADMIN_KEY, PROMPTOPS_GATEWAY_CONFIG: config },
  );
  try {
    const system = 'You are a terse assistant. Answer in one sentence.';
    const content = {
      name: 'bench',
      type: 'chat',
      messages: [{ role: 'system', content: system }],
      config: { provider: 'openai', model: 'bench-model', params: {} },
      variables: {},
      slots: {},
    };
    const api = (method: string, path: string, body: unknown) =>
      fetch(`${gateway.url}${path}`, {
        method,
        headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      }).then((r) => {
        if (!r.ok) throw new Error(`${method} ${path}: ${r.status}`);
      });
    await api('POST', '/api/v1/prompts/bench/versions', { content, parent: null, message: 'bench' });
    await api('PUT', '/api/v1/prompts/bench/labels/production', { ref: 'v1' });

    const user = { role: 'user', content: 'What is the capital of France?' };
    const rows: string[] = [];
    for (const stream of [false, true]) {
      const direct = JSON.stringify({
        model: 'bench-model',
        messages: [{ role: 'system', content: system }, user],
        stream,
      });
      const through = JSON.stringify({ model: 'prompt:bench', messages: [user], stream });
      for (const concurrency of [1, 50]) {
        const total = Math.round((concurrency === 1 ? 150 : 2500) * SCALE);
        // Warm both paths (connections, JIT, the snapshot cache).
        await run(`${upstream.url}/v1/chat/completions`, direct, undefined, concurrency, concurrency * 4);
        await run(`${gateway.url}/v1/chat/completions`, through, ADMIN_KEY, concurrency, concurrency * 4);
        const straight: Sample[] = [];
        const gated: Sample[] = [];
        let gatewayCpu = 0;
        let mainCpu = 0;
        for (let round = 0; round < ROUNDS; round += 1) {
          const sides = [
            async () =>
              straight.push(
                ...(await run(`${upstream.url}/v1/chat/completions`, direct, undefined, concurrency, total)),
              ),
            async () => {
              const before = cpuMs(gateway.child.pid);
              const mainBefore = cpuMs(gateway.child.pid, true);
              gated.push(...(await run(`${gateway.url}/v1/chat/completions`, through, ADMIN_KEY, concurrency, total)));
              gatewayCpu += cpuMs(gateway.child.pid) - before;
              mainCpu += cpuMs(gateway.child.pid, true) - mainBefore;
            },
          ];
          for (const side of round % 2 === 0 ? sides : sides.reverse()) await side();
        }
        const field = (samples: Sample[], key: 'totalMs' | 'firstByteMs') => samples.map((s) => s[key]);
        const overhead = gated.map((s) => s.overheadMs ?? Number.NaN);
        const p = (samples: Sample[], key: 'totalMs' | 'firstByteMs', q: number) => quantile(field(samples, key), q);
        rows.push(
          `| ${stream ? 'stream' : 'json'} | ${concurrency} | ${ms(p(straight, 'totalMs', 0.5))} / ${ms(p(gated, 'totalMs', 0.5))} | ${signed(p(gated, 'totalMs', 0.5) - p(straight, 'totalMs', 0.5))} | ${signed(p(gated, 'totalMs', 0.99) - p(straight, 'totalMs', 0.99))} | ${signed(p(gated, 'firstByteMs', 0.5) - p(straight, 'firstByteMs', 0.5))} | ${ms(quantile(overhead, 0.5))} / ${ms(quantile(overhead, 0.99))} | ${((gatewayCpu / gated.length) * 1000).toFixed(0)} / ${((mainCpu / gated.length) * 1000).toFixed(0)} µs | ${straight.length} |`,
        );
        console.log(rows.at(-1));
      }
    }
    console.log('');
    console.log(
      `load average ${loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')}, ${ROUNDS} rounds, Node ${process.version}`,
    );
    console.log(
      '| answer | concurrent | p50 direct / through | added p50 | added p99 | added first byte p50 | X-Promptops-Overhead-Ms p50 / p99 | server CPU per call, all / main thread | requests per side |',
    );
    console.log(
      '| ------ | ---------: | -------------------- | --------: | --------: | -------------------: | --------------------------------- | -------------------------------------: | ----------------: |',
    );
    for (const row of rows) console.log(row);
  } finally {
    agent.destroy();
    const stopped = new Promise((resolve) => gateway.child.once('exit', resolve));
    gateway.child.kill('SIGTERM');
    upstream.child.kill('SIGTERM');
    await stopped;
    rmSync(dir, { recursive: true, force: true });
  }
};

await main();
