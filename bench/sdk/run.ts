/**
 * bench/sdk: the SDK's hot path and how fast a label move reaches clients.
 *
 * 1. Resolution, in this process, side by side: a plain `Map.get` (the floor), GrowthBook's
 *    `getFeatureValue` on a 50/50 experiment keyed by user id (what a feature-flag SDK does per call),
 *    `client.get` (label resolution), `client.get` with a unit key on a label under a running 50 % split
 *    rollout (the arm computed per call, 1,024 distinct users) and `client.get` + `render` of a ~1 KB
 *    chat prompt. ns/op median
 *    and p99 over batches of 1,000 calls (>= 1M calls each), in interleaved rounds so machine noise
 *    hits all alike.
 * 2. Propagation: a real server (its own process), 100 clients here, 50 promote/rollback API calls;
 *    for each, the time from the API call returning to the last of the 100 clients serving the new
 *    sha. The same with the long-poll transport as the baseline.
 * 3. Fleet start-up with 500 and 5,000 prompts side by side (`startup.ts`): the snapshot cold vs from
 *    the cache, bytes on the wire, ready() over 20 starts, 100 clients starting at once.
 *
 *   npm run bench:sdk          (BENCH_ROUNDS=5, BENCH_MOVES=50, BENCH_PROMPTS=500,5000, BENCH_STARTS=20,
 *                               BENCH_PARTS=resolution,propagation,startup)
 * Prints figures and ratios against the targets; asserts nothing.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { GrowthBook } from '@growthbook/growthbook';
import { createClient, type PromptopsClient, type Transport } from '../../packages/sdk/src/index.js';
import { greeter, textPrompt, versionOf } from '../../packages/sdk/test/support/fixtures.js';
import { startPromptops, type ChildServer } from '../registry/servers.js';
import { printStartup, startupBench, type StartupFigures } from './startup.js';

const KEY = 'po_bench_sdk_admin_key_0123456789abcdef';
const NAME = 'customer_support_greeter';
const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 5);
const SAMPLES_PER_ROUND = 220; // x 1,000 calls x 5 rounds = 1.1M calls per subject
const BATCH = 1000;
const MOVES = Number(process.env['BENCH_MOVES'] ?? 50);
const CLIENTS = 100;
const OTHER_PROMPTS = 100;
const PARTS = new Set((process.env['BENCH_PARTS'] ?? 'resolution,propagation,startup').split(','));
const SIZES = (process.env['BENCH_PROMPTS'] ?? '500,5000').split(',').map(Number);
const STARTS = Number(process.env['BENCH_STARTS'] ?? 20);
/**
 * Another build of the SDK (its dist/index.js, e.g. a copy of packages/sdk/dist made at an earlier
 * commit) measured in the same rounds as this one, so a change to `get` is compared before and after
 * under the same load.
 */
const BEFORE = process.env['BENCH_SDK_BEFORE'];

const v17 = versionOf(greeter(17), 1);
const v18 = versionOf(greeter(18), 2);
/** A prompt under a running split rollout, for `get` with a unit key. */
const ROLLOUT_NAME = 'checkout_greeter';
const UNITS = Array.from({ length: 1024 }, (_, i) => `user-${i * 7919}`);

// ---- registry set-up --------------------------------------------------------------------------

const call = async <T>(url: string, method: string, path: string, body?: unknown): Promise<T> => {
  const response = await fetch(`${url}${path}`, {
    method,
    headers: { authorization: `Bearer ${KEY}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${text}`);
  return JSON.parse(text) as T;
};

const seed = async (url: string): Promise<void> => {
  await call(url, 'POST', `/api/v1/prompts/${NAME}/versions`, { content: v17.content, parent: null });
  await call(url, 'POST', `/api/v1/prompts/${NAME}/versions`, { content: v18.content, parent: v17.sha });
  await call(url, 'PUT', `/api/v1/prompts/${NAME}/labels/production`, { ref: 'v1' });
  const r17 = greeter(17, ROLLOUT_NAME);
  const r18 = greeter(18, ROLLOUT_NAME);
  await call(url, 'POST', `/api/v1/prompts/${ROLLOUT_NAME}/versions`, { content: r17, parent: null });
  await call(url, 'POST', `/api/v1/prompts/${ROLLOUT_NAME}/versions`, {
    content: r18,
    parent: versionOf(r17, 1).sha,
  });
  await call(url, 'PUT', `/api/v1/prompts/${ROLLOUT_NAME}/labels/production`, { ref: 'v1' });
  await call(url, 'POST', `/api/v1/prompts/${ROLLOUT_NAME}/rollouts`, {
    label: 'production',
    candidate: 'v2',
    mode: 'split',
    steps: [50, 100],
  });
  // Other prompts, so the snapshot (and the Map baseline) hold a realistic number of entries.
  for (let i = 0; i < OTHER_PROMPTS; i += 1) {
    const name = `faq/topic-${i}`;
    await call(url, 'POST', `/api/v1/prompts/${encodeURIComponent(name)}/versions`, {
      content: textPrompt(name, `Topic ${i}: answer {{question}}`),
      parent: null,
    });
    await call(url, 'PUT', `/api/v1/prompts/${encodeURIComponent(name)}/labels/production`, { ref: 'v1' });
  }
};

// ---- part 1: resolution -----------------------------------------------------------------------

interface Subject {
  readonly name: string;
  readonly run: (n: number) => number;
}

const sampleRound = (subject: Subject, samples: number[], count: number): void => {
  for (let s = 0; s < count; s += 1) {
    const start = process.hrtime.bigint();
    subject.run(BATCH);
    samples.push(Number(process.hrtime.bigint() - start) / BATCH);
  }
};

const quantile = (sorted: readonly number[], q: number): number =>
  sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] ?? NaN;

const resolutionBench = (
  client: PromptopsClient,
  before?: PromptopsClient,
): Map<string, { p50: number; p99: number; calls: number }> => {
  const map = new Map<string, unknown>();
  for (let i = 0; i < OTHER_PROMPTS; i += 1) map.set(`faq/topic-${i}`, { sha: String(i) });
  map.set(NAME, client.get(NAME));

  const gb = new GrowthBook({
    attributes: { id: 'user-1234' },
    features: {
      [NAME]: {
        defaultValue: v17.sha,
        rules: [{ key: 'greeter-wording', variations: [v17.sha, v18.sha], weights: [0.5, 0.5], hashAttribute: 'id' }],
      },
    },
  });
  const vars = { user_name: 'Ada', question: 'Where is my order #1234?' };
  let sink = 0; // consumed below so no call can be optimized away

  const subjects: Subject[] = [
    {
      name: 'Map.get (floor)',
      run: (n) => {
        for (let i = 0; i < n; i += 1) sink += map.get(NAME) === undefined ? 1 : 0;
        return sink;
      },
    },
    {
      name: 'GrowthBook getFeatureValue (50/50 on id)',
      run: (n) => {
        for (let i = 0; i < n; i += 1) sink += gb.getFeatureValue(NAME, '').length;
        return sink;
      },
    },
    {
      name: 'client.get (label resolution)',
      run: (n) => {
        for (let i = 0; i < n; i += 1) sink += client.get(NAME).version;
        return sink;
      },
    },
    ...(before === undefined
      ? []
      : [
          {
            name: 'client.get (label resolution), BENCH_SDK_BEFORE',
            run: (n: number) => {
              for (let i = 0; i < n; i += 1) sink += before.get(NAME).version;
              return sink;
            },
          },
          {
            name: 'client.get with a unit key (rollout), BEFORE',
            run: (n: number) => {
              for (let i = 0; i < n; i += 1) sink += before.get(ROLLOUT_NAME, { unitKey: UNITS[i & 1023]! }).version;
              return sink;
            },
          },
        ]),
    {
      name: 'client.get with options ({ label, unitKey })',
      run: (n) => {
        for (let i = 0; i < n; i += 1) sink += client.get(NAME, { label: 'production', unitKey: 'user-1234' }).version;
        return sink;
      },
    },
    {
      name: 'client.get with a unit key (running rollout)',
      run: (n) => {
        for (let i = 0; i < n; i += 1) sink += client.get(ROLLOUT_NAME, { unitKey: UNITS[i & 1023]! }).version;
        return sink;
      },
    },
    {
      name: 'client.get + render (1 KB chat)',
      run: (n) => {
        for (let i = 0; i < n; i += 1) {
          const rendered = client.get(NAME).render(vars);
          sink += rendered.type === 'chat' ? rendered.messages.length : 0;
        }
        return sink;
      },
    },
  ];
  // Warm-up: let the JIT settle on every subject before measuring.
  for (const subject of subjects) for (let i = 0; i < 20; i += 1) subject.run(BATCH);

  const samples = new Map(subjects.map((subject) => [subject.name, [] as number[]]));
  for (let round = 0; round < ROUNDS; round += 1) {
    for (const subject of subjects) {
      // render is ~1,000x slower than a lookup: fewer samples keep the run short while staying >= 1M calls.
      const count = subject.name.includes('render') ? Math.ceil(1_000_000 / BATCH / ROUNDS) : SAMPLES_PER_ROUND;
      sampleRound(subject, samples.get(subject.name)!, count);
    }
  }
  if (sink === 42) console.log('');
  return new Map(
    [...samples].map(([name, values]) => {
      const sorted = values.sort((a, b) => a - b);
      return [name, { p50: quantile(sorted, 0.5), p99: quantile(sorted, 0.99), calls: values.length * BATCH }];
    }),
  );
};

// ---- part 2: propagation ----------------------------------------------------------------------

const propagation = async (url: string, transport: Transport, moves: number): Promise<number[]> => {
  const clients = Array.from({ length: CLIENTS }, () =>
    createClient({
      url,
      apiKey: KEY,
      transport,
      pollWaitSeconds: 25,
      onError: (error) => console.error(`client: ${error.message}`),
    }),
  );
  await Promise.all(clients.map((client) => client.ready()));
  // Until every client's stream (or first long-poll) is open, a move could be picked up by the replay instead.
  const deadline = Date.now() + 30_000;
  while (transport === 'sse' && !clients.every((client) => client.status().connected) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  if (transport === 'poll') await new Promise((resolve) => setTimeout(resolve, 500));

  const latencies: number[] = [];
  try {
    for (let i = 0; i < moves; i += 1) {
      const current = clients[0]!.get(NAME).sha;
      const target = current === v17.sha ? v18 : v17;
      let served = 0;
      let lastAt = 0;
      let done!: () => void;
      const all = new Promise<void>((resolve) => (done = resolve));
      const offs = clients.map((client) =>
        client.on('change', (change) => {
          if (change.name === NAME && change.label === 'production' && change.sha === target.sha) {
            lastAt = performance.now();
            if ((served += 1) === CLIENTS) done();
          }
        }),
      );
      // Alternate: promote v2, then roll back to v1 (the same calls an operator makes).
      if (target === v18) await call(url, 'PUT', `/api/v1/prompts/${NAME}/labels/production`, { ref: 'v2' });
      else await call(url, 'POST', `/api/v1/prompts/${NAME}/labels/production/rollback`, {});
      const returned = performance.now();
      const timeout = new Promise<void>((_, reject) =>
        setTimeout(() => reject(new Error(`move ${i}: only ${served}/${CLIENTS} clients in 10 s`)), 10_000).unref(),
      );
      await Promise.race([all, timeout]);
      offs.forEach((off) => off());
      if (!clients.every((client) => client.get(NAME).sha === target.sha))
        throw new Error(`move ${i}: a client serves the wrong sha`);
      // A client may see the change before the HTTP response is read: that counts as 0.
      latencies.push(Math.max(0, lastAt - returned));
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  } finally {
    await Promise.all(clients.map((client) => client.close()));
  }
  return latencies.sort((a, b) => a - b);
};

// ---- main -------------------------------------------------------------------------------------

const fmtNs = (n: number): string => (n < 10 ? n.toFixed(1) : n.toFixed(0));

const main = async (): Promise<void> => {
  const dir = mkdtempSync(join(tmpdir(), 'promptops-bench-sdk-'));
  const server: ChildServer = await startPromptops(dir, KEY, `sqlite:${join(dir, 'bench.db')}`);
  try {
    console.log(`bench/sdk on ${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, Node ${process.version}`);
    if (PARTS.has('startup')) {
      const figures: StartupFigures[] = [];
      for (const prompts of SIZES) {
        figures.push(
          await startupBench(prompts, {
            key: KEY,
            dir,
            starts: STARTS,
            fleet: { processes: 10, clientsPerProcess: 10 },
          }),
        );
      }
      printStartup(figures);
    }
    if (!PARTS.has('resolution') && !PARTS.has('propagation')) return;
    await seed(server.url);
    console.log(
      `\nserver: its own process, SQLite; snapshot of ${OTHER_PROMPTS + 1} prompts; ${Buffer.byteLength(JSON.stringify(v17.content))} B chat prompt\n`,
    );

    if (PARTS.has('resolution')) await resolution(server.url);
    if (PARTS.has('propagation')) await propagations(server.url);
  } finally {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
};

const resolution = async (url: string): Promise<void> => {
  const client = createClient({ url, apiKey: KEY });
  await client.ready();
  const arms = new Set(UNITS.map((unitKey) => client.get(ROLLOUT_NAME, { unitKey }).variant));
  if (!arms.has('baseline') || !arms.has('candidate')) {
    throw new Error(`${ROLLOUT_NAME}: the client sees no running split rollout (arms: ${[...arms].join(', ')})`);
  }
  let before: PromptopsClient | undefined;
  if (BEFORE !== undefined) {
    const sdk = (await import(BEFORE)) as { createClient: typeof createClient };
    before = sdk.createClient({ url, apiKey: KEY });
    await before.ready();
  }
  const results = resolutionBench(client, before);
  await client.close();
  await before?.close();
  const floor = results.get('Map.get (floor)')!.p50;
  const growthbook = results.get('GrowthBook getFeatureValue (50/50 on id)')!.p50;
  console.log(
    `${'resolution'.padEnd(42)} ${'calls'.padStart(9)} ${'p50 ns'.padStart(8)} ${'p99 ns'.padStart(8)} ${'x floor'.padStart(8)} ${'GrowthBook / it'.padStart(16)}`,
  );
  for (const [name, r] of results) {
    console.log(
      `${name.padEnd(44)} ${r.calls.toLocaleString('en-US').padStart(9)} ${fmtNs(r.p50).padStart(8)} ${fmtNs(r.p99).padStart(8)} ${(r.p50 / floor).toFixed(1).padStart(8)} ${(growthbook / r.p50).toFixed(2).padStart(16)}`,
    );
  }
  const get = results.get('client.get (label resolution)')!;
  console.log(
    `\ntargets: client.get p50 ${fmtNs(get.p50)} ns (< 200 ns: ${get.p50 < 200 ? 'met' : 'MISSED'}); ` +
      `${(growthbook / get.p50).toFixed(1)}x faster than GrowthBook (> 10x: ${growthbook / get.p50 > 10 ? 'met' : 'MISSED'})`,
  );
  const unit = results.get('client.get with a unit key (running rollout)')!;
  console.log(
    `         client.get with a unit key in a running rollout p50 ${fmtNs(unit.p50)} ns (<= 300 ns: ${unit.p50 <= 300 ? 'met' : 'MISSED'}); ` +
      `${(growthbook / unit.p50).toFixed(1)}x faster than GrowthBook's local evaluation\n`,
  );
};

const propagations = async (url: string): Promise<void> => {
  for (const [transport, moves] of [
    ['sse', MOVES],
    ['poll', Math.min(MOVES, 20)],
  ] as const) {
    const latencies = await propagation(url, transport, moves);
    const p50 = quantile(latencies, 0.5);
    const p99 = quantile(latencies, 0.99);
    console.log(
      `propagation (${transport.padEnd(4)}): ${moves} moves x ${CLIENTS} clients, API call returned -> last client serving the new sha: ` +
        `p50 ${p50.toFixed(1)} ms, p99 ${p99.toFixed(1)} ms, max ${latencies.at(-1)!.toFixed(1)} ms` +
        (transport === 'sse' ? ` (p99 < 250 ms: ${p99 < 250 ? 'met' : 'MISSED'})` : ' (baseline)'),
    );
  }
};

await main();
