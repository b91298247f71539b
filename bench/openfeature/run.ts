/**
 * bench/openfeature: what evaluating a prompt through OpenFeature costs over the SDK's own `get`.
 *
 * Same process, same run, interleaved rounds, batches of 1,000 calls (ns per call, p50 and p99 of the
 * batches): GrowthBook's `getFeatureValue` (a 50/50 experiment on the user id: a flag SDK's local
 * evaluation), `client.get(name, { unitKey })` on a label under a running 50 % split rollout, the
 * provider's own evaluation (`provider.evaluatePrompt`, synchronous), OpenFeature's InMemoryProvider (its
 * floor: the SDK's promise, hooks and context merging with a static flag), and
 * `await ofClient.getObjectValue('prompt:NAME', {}, { targetingKey })` through the OpenFeature SDK with
 * the promptops hook registered (OpenFeature's hooks, context merging and promise included). A real
 * server (in this process, SQLite) serves the snapshot; 1,024 distinct users.
 *
 *   npm run bench:openfeature        (BENCH_ROUNDS=5)
 * Prints figures and the provider's overhead against the target (≤ 1 µs p50 over get); asserts nothing.
 */
import { mkdtempSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { GrowthBook } from '@growthbook/growthbook';
import { InMemoryProvider, OpenFeature } from '@openfeature/server-sdk';
import { PromptopsProvider, promptopsOpenFeatureHook } from '../../packages/openfeature/src/index.js';
import { createClient } from '../../packages/sdk/src/index.js';
import { greeter, versionOf } from '../../packages/sdk/test/support/fixtures.js';
import { startServer } from '../../packages/server/src/index.js';

const KEY = 'po_bench_openfeature_admin_key_0123456789';
const NAME = 'customer_support_greeter';
const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 5);
const SAMPLES_PER_ROUND = 100;
const BATCH = 1000;
const UNITS = Array.from({ length: 1024 }, (_, i) => `user-${i * 7919}`);
const CONTEXTS = UNITS.map((targetingKey) => ({ targetingKey }));

const call = async (url: string, method: string, path: string, body?: unknown): Promise<void> => {
  const response = await fetch(`${url}${path}`, {
    method,
    headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${await response.text()}`);
};

const quantile = (sorted: readonly number[], q: number): number =>
  sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] ?? NaN;

interface Subject {
  readonly name: string;
  readonly run: (n: number) => number | Promise<number>;
}

const main = async (): Promise<void> => {
  const dir = mkdtempSync(join(tmpdir(), 'promptops-bench-openfeature-'));
  const server = await startServer({
    port: 0,
    db: `sqlite://${join(dir, 'db.sqlite')}`,
    dataDir: dir,
    initAdminKey: KEY,
    print: () => undefined,
  });
  const v17 = versionOf(greeter(17), 1);
  const v18 = versionOf(greeter(18), 2);
  await call(server.url, 'POST', `/api/v1/prompts/${NAME}/versions`, { content: v17.content, parent: null });
  await call(server.url, 'POST', `/api/v1/prompts/${NAME}/versions`, { content: v18.content, parent: v17.sha });
  await call(server.url, 'PUT', `/api/v1/prompts/${NAME}/labels/production`, { ref: 'v1' });
  await call(server.url, 'POST', `/api/v1/prompts/${NAME}/rollouts`, {
    label: 'production',
    candidate: 'v2',
    mode: 'split',
    steps: [50, 100],
  });

  const client = createClient({ url: server.url, apiKey: KEY, traces: false, snapshotCheckIntervalMs: 0 });
  await client.ready();
  const provider = new PromptopsProvider({ client });
  await OpenFeature.setProviderAndWait(provider);
  OpenFeature.addHooks(promptopsOpenFeatureHook);
  const of = OpenFeature.getClient();
  // The floor: OpenFeature's own InMemoryProvider (a static object flag) under the same global hook, so
  // what the SDK's promise, hooks and context merging cost is measured apart from what promptops adds.
  await OpenFeature.setProviderAndWait(
    'memory',
    new InMemoryProvider({
      [`prompt:${NAME}`]: { variants: { v1: { version: 1 } }, defaultVariant: 'v1', disabled: false },
    }),
  );
  const memory = OpenFeature.getClient('memory');
  const gb = new GrowthBook({
    attributes: { id: 'user-1234' },
    features: {
      [NAME]: {
        defaultValue: v17.sha,
        rules: [{ key: 'greeter-wording', variations: [v17.sha, v18.sha], weights: [0.5, 0.5], hashAttribute: 'id' }],
      },
    },
  });

  let sink = 0;
  const subjects: Subject[] = [
    {
      name: 'GrowthBook getFeatureValue (50/50 on id)',
      run: (n) => {
        for (let i = 0; i < n; i += 1) sink += gb.getFeatureValue(NAME, '').length;
        return sink;
      },
    },
    {
      name: 'client.get(name, { unitKey }) (split rollout)',
      run: (n) => {
        for (let i = 0; i < n; i += 1) sink += client.get(NAME, { unitKey: UNITS[i & 1023]! }).version;
        return sink;
      },
    },
    {
      name: 'provider.evaluatePrompt (sync, no OpenFeature)',
      run: (n) => {
        for (let i = 0; i < n; i += 1)
          sink += provider.evaluatePrompt(`prompt:${NAME}`, CONTEXTS[i & 1023]!).value.version;
        return sink;
      },
    },
    {
      name: 'await getObjectValue, OpenFeature InMemoryProvider',
      run: async (n) => {
        for (let i = 0; i < n; i += 1) {
          const value = (await memory.getObjectValue(`prompt:${NAME}`, {}, CONTEXTS[i & 1023]!)) as {
            version?: number;
          };
          sink += value.version ?? 0;
        }
        return sink;
      },
    },
    {
      name: 'await getObjectValue through OpenFeature + hook',
      run: async (n) => {
        for (let i = 0; i < n; i += 1) {
          const value = (await of.getObjectValue(`prompt:${NAME}`, {}, CONTEXTS[i & 1023]!)) as { version?: number };
          sink += value.version ?? 0;
        }
        return sink;
      },
    },
  ];
  for (const subject of subjects) for (let i = 0; i < 20; i += 1) await subject.run(BATCH);

  const samples = new Map(subjects.map((s) => [s.name, [] as number[]]));
  for (let round = 0; round < ROUNDS; round += 1) {
    for (const subject of subjects) {
      const into = samples.get(subject.name)!;
      for (let s = 0; s < SAMPLES_PER_ROUND; s += 1) {
        const start = process.hrtime.bigint();
        await subject.run(BATCH);
        into.push(Number(process.hrtime.bigint() - start) / BATCH);
      }
    }
  }

  console.log(`bench/openfeature: ${cpus().length} cpus, load ${loadavg()[0]!.toFixed(2)}, ${ROUNDS} rounds`);
  const figures = new Map<string, { p50: number; p99: number }>();
  for (const [name, values] of samples) {
    const sorted = [...values].sort((a, b) => a - b);
    const figure = { p50: quantile(sorted, 0.5), p99: quantile(sorted, 0.99) };
    figures.set(name, figure);
    console.log(
      `  ${name.padEnd(50)} p50 ${figure.p50.toFixed(0).padStart(6)} ns   p99 ${figure.p99.toFixed(0).padStart(6)} ns`,
    );
  }
  const get = figures.get(subjects[1]!.name)!.p50;
  const direct = figures.get(subjects[2]!.name)!.p50 - get;
  const floor = figures.get(subjects[3]!.name)!.p50;
  const promptops = figures.get(subjects[4]!.name)!.p50;
  console.log(`  provider's own evaluation over get: ${direct.toFixed(0)} ns p50 (target ≤ 1000 ns)`);
  console.log(
    `  through the OpenFeature SDK over get: ${(promptops - get).toFixed(0)} ns p50 (target ≤ 1000 ns), of which ` +
      `OpenFeature's own floor (InMemoryProvider, same hook) ${floor.toFixed(0)} ns; promptops over that floor ` +
      `${(promptops - floor).toFixed(0)} ns`,
  );
  console.log(`  (sink ${sink % 10})`);

  await OpenFeature.close();
  await client.close();
  const closing = server.close();
  server.app.server.closeAllConnections();
  await closing;
};

await main();
