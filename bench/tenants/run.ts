/**
 * bench/tenants: what tenant overrides cost where they are read.
 *
 * 1. SDK resolution, side by side in this process: `client.get(name)` (the baseline) and
 *    `client.get(name, { tenant })` over 1,000 tenants with an override each (round robin, so every call
 *    names another tenant than the one before), plus a `Map.get` floor. The server runs in its own process
 *    (SQLite, from the build); the overrides are set through the API. ns/op median and p99 over batches of
 *    1,000 calls, in interleaved rounds so machine noise hits all alike. Also each tenant's first resolve
 *    after the snapshot loaded (the override applied and its sha computed), once per tenant.
 * 2. The server's snapshot with 10,000 overrides (1,000 tenants x 10 prompts, following production), built
 *    in this process from the server's sources on SQLite: build time and memory (heap retained with the
 *    entry held, peak RSS growth during the build, body bytes), against the same snapshot built without
 *    overrides (the same database, a snapshot cache that is not given the overrides).
 *
 *   npm run bench:tenants      (BENCH_ROUNDS=5, BENCH_TENANTS=1000, BENCH_OVERRIDES=10000,
 *                               BENCH_BUILDS=7, BENCH_PARTS=sdk,snapshot)
 * Prints figures and ratios against the baselines and targets; asserts nothing.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { overrideSha, type PromptContent, type PromptOverride } from '../../packages/core/src/index.js';
import { createClient } from '../../packages/sdk/src/index.js';
import { greeter } from '../../packages/sdk/test/support/fixtures.js';
import { buildApp } from '../../packages/server/src/app/app.js';
import { createStorage } from '../../packages/server/src/app/stores.js';
import { bootstrap } from '../../packages/server/src/auth/bootstrap.js';
import { SnapshotCache } from '../../packages/server/src/changes/snapshot-cache.js';
import type { Actor } from '../../packages/server/src/context.js';
import { systemClock } from '../../packages/server/src/context.js';
import { startPromptops, type ChildServer } from '../registry/servers.js';

const KEY = 'po_bench_tenants_admin_key_0123456789ab';
const NAME = 'customer_support_greeter';
const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 5);
const TENANTS = Number(process.env['BENCH_TENANTS'] ?? 1000);
const OVERRIDES = Number(process.env['BENCH_OVERRIDES'] ?? 10_000);
const BUILDS = Number(process.env['BENCH_BUILDS'] ?? 7);
const PARTS = new Set((process.env['BENCH_PARTS'] ?? 'sdk,snapshot').split(','));
const SAMPLES_PER_ROUND = 200; // x 1,000 calls x 5 rounds = 1M calls per subject
const BATCH = 1000;
const SNAPSHOT_PROMPTS = 10;

/** The greeter with a `greeting` slot at the top of its system message: what tenants override. */
const withSlot = (name: string): PromptContent => {
  const base = greeter(17, name);
  if (base.type !== 'chat') throw new Error('the greeter fixture is a chat prompt');
  const [system, ...rest] = base.messages;
  return {
    ...base,
    slots: { greeting: 'Hello!' },
    messages: [{ ...system!, content: `{{> greeting}}\n${system!.content}` }, ...rest],
  };
};

const tenantOverride = (i: number): PromptOverride => ({
  slots: { greeting: `Welcome to the support desk of customer ${i}.` },
  ...(i % 2 === 0 ? { params: { temperature: 0.1 } } : {}),
});
const tenantId = (i: number): string => `tenant-${String(i).padStart(5, '0')}`;

const quantile = (sorted: readonly number[], q: number): number =>
  sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] ?? NaN;
const median = (values: readonly number[]): number =>
  quantile(
    [...values].sort((a, b) => a - b),
    0.5,
  );
const fmtNs = (n: number): string => (n < 10 ? n.toFixed(1) : n.toFixed(0));
const mb = (bytes: number): string => (bytes / 1024 / 1024).toFixed(1);

/** A full collection before each memory reading (V8's gc, exposed without a command-line flag). */
const gc = (): (() => void) => {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
};

// ---- part 1: the SDK --------------------------------------------------------------------------

const call = async (url: string, method: string, path: string, body?: unknown): Promise<unknown> => {
  const response = await fetch(`${url}${path}`, {
    method,
    headers: { authorization: `Bearer ${KEY}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${text}`);
  return JSON.parse(text) as unknown;
};

const seedSdk = async (url: string): Promise<void> => {
  await call(url, 'POST', `/api/v1/prompts/${NAME}/versions`, { content: withSlot(NAME), parent: null });
  await call(url, 'PUT', `/api/v1/prompts/${NAME}/labels/production`, { ref: 'v1' });
  let next = 0;
  const worker = async (): Promise<void> => {
    for (let i = next++; i < TENANTS; i = next++) {
      await call(url, 'PUT', `/api/v1/prompts/${NAME}/tenants/${tenantId(i)}/override`, {
        override: tenantOverride(i),
        message: 'bench',
      });
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
};

interface Subject {
  readonly name: string;
  readonly run: (n: number) => number;
}

const sdkBench = async (url: string): Promise<void> => {
  const client = createClient({ url, apiKey: KEY });
  await client.ready();
  const tenants = Array.from({ length: TENANTS }, (_, i) => tenantId(i));
  // Correctness first: every tenant gets its own override, and the plain get gets none.
  const plain = client.get(NAME);
  if (plain.overrideSha !== null) throw new Error('a plain get carries an override');
  const firstStart = process.hrtime.bigint();
  const shas = new Set(tenants.map((tenant) => client.get(NAME, { tenant }).sha));
  const firstNs = Number(process.hrtime.bigint() - firstStart) / TENANTS;
  if (shas.size !== TENANTS || shas.has(plain.sha)) {
    throw new Error(`expected ${TENANTS} distinct effective shas, none the base's; got ${shas.size}`);
  }
  for (const [i, tenant] of tenants.entries()) {
    const resolved = client.get(NAME, { tenant });
    if (resolved.tenant !== tenant || resolved.overrideSha !== overrideSha(tenantOverride(i))) {
      throw new Error(`${tenant} resolved ${resolved.tenant}'s override ${resolved.overrideSha}`);
    }
  }

  const map = new Map<string, unknown>([[NAME, plain]]);
  const tenantMap = new Map<string, unknown>(tenants.map((tenant) => [tenant, plain]));
  const ONE = tenants[0]!;
  let sink = 0; // consumed below so no call can be optimized away
  let next = 0;
  const subjects: Subject[] = [
    {
      name: 'Map.get (floor)',
      run: (n) => {
        for (let i = 0; i < n; i += 1) sink += map.get(NAME) === undefined ? 1 : 0;
        return sink;
      },
    },
    {
      name: 'client.get(name) (baseline)',
      run: (n) => {
        for (let i = 0; i < n; i += 1) sink += client.get(NAME).version;
        return sink;
      },
    },
    {
      // The same rotation over the tenants with one Map.get each: what picking another tenant per call costs.
      name: `Map.get(tenant) (${TENANTS.toLocaleString('en-US')} tenants, floor)`,
      run: (n) => {
        for (let i = 0; i < n; i += 1) {
          sink += tenantMap.get(tenants[next]!) === undefined ? 1 : 0;
          next = next + 1 === TENANTS ? 0 : next + 1;
        }
        return sink;
      },
    },
    {
      name: 'client.get(name, { tenant }) (one tenant)',
      run: (n) => {
        for (let i = 0; i < n; i += 1) sink += client.get(NAME, { tenant: ONE }).version;
        return sink;
      },
    },
    {
      name: `client.get(name, { tenant }) (${TENANTS.toLocaleString('en-US')} tenants)`,
      run: (n) => {
        for (let i = 0; i < n; i += 1) {
          sink += client.get(NAME, { tenant: tenants[next]! }).version;
          next = next + 1 === TENANTS ? 0 : next + 1;
        }
        return sink;
      },
    },
  ];
  for (const subject of subjects) for (let i = 0; i < 20; i += 1) subject.run(BATCH); // JIT warm-up
  const samples = new Map(subjects.map((subject) => [subject.name, [] as number[]]));
  for (let round = 0; round < ROUNDS; round += 1) {
    for (const subject of subjects) {
      const values = samples.get(subject.name)!;
      for (let s = 0; s < SAMPLES_PER_ROUND; s += 1) {
        const start = process.hrtime.bigint();
        subject.run(BATCH);
        values.push(Number(process.hrtime.bigint() - start) / BATCH);
      }
    }
  }
  if (sink === 42) console.log('');
  await client.close();

  const results = [...samples].map(([name, values]) => {
    const sorted = values.sort((a, b) => a - b);
    return { name, p50: quantile(sorted, 0.5), p99: quantile(sorted, 0.99), calls: values.length * BATCH };
  });
  const baseline = results[1]!.p50;
  console.log(
    `${'resolution'.padEnd(46)} ${'calls'.padStart(9)} ${'p50 ns'.padStart(8)} ${'p99 ns'.padStart(8)} ${'x get'.padStart(7)}`,
  );
  for (const r of results) {
    console.log(
      `${r.name.padEnd(46)} ${r.calls.toLocaleString('en-US').padStart(9)} ${fmtNs(r.p50).padStart(8)} ${fmtNs(r.p99).padStart(8)} ${(r.p50 / baseline).toFixed(2).padStart(7)}`,
    );
  }
  const tenant = results[results.length - 1]!;
  const one = results[3]!;
  const rotationFloor = results[2]!.p50;
  console.log(
    `first resolve of each tenant after the snapshot loaded: ${fmtNs(firstNs)} ns per tenant (mean of ${TENANTS.toLocaleString('en-US')})`,
  );
  console.log(
    `targets: tenant get p50 ${fmtNs(tenant.p50)} ns (<= 300 ns: ${tenant.p50 <= 300 ? 'met' : 'MISSED'}); ` +
      `x${(tenant.p50 / baseline).toFixed(2)} the plain get (within 2x: ${tenant.p50 <= 2 * baseline ? 'met' : 'MISSED'})`,
  );
  // Rotating over 1,000 tenants costs the caller a Map.get's cache misses whatever the SDK does: the fair
  // baselines are one tenant (same loop as the plain get) and the rotation's own one-lookup floor.
  console.log(
    `  one tenant: x${(one.p50 / baseline).toFixed(2)} the plain get (within 2x: ${one.p50 <= 2 * baseline ? 'met' : 'MISSED'}); ` +
      `1,000 tenants: x${(tenant.p50 / rotationFloor).toFixed(2)} the same rotation with one Map.get ` +
      `(within 2x: ${tenant.p50 <= 2 * rotationFloor ? 'met' : 'MISSED'})\n`,
  );
};

// ---- part 2: the server's snapshot ------------------------------------------------------------

const snapshotBench = async (dir: string): Promise<void> => {
  const collect = gc();
  const storage = await createStorage(`sqlite:${join(dir, 'snapshot.db')}`);
  try {
    const { project } = await bootstrap(storage, systemClock, { initAdminKey: KEY, dataDir: dir, url: 'http://bench' });
    const app = await buildApp({ storage, clock: systemClock });
    await app.ready();
    const names = Array.from({ length: SNAPSHOT_PROMPTS }, (_, i) => `tenant_prompt_${i}`);
    for (const name of names) {
      for (const [method, url, payload] of [
        ['POST', `/api/v1/prompts/${name}/versions`, { content: withSlot(name), parent: null }],
        ['PUT', `/api/v1/prompts/${name}/labels/production`, { ref: 'v1' }],
      ] as const) {
        const response = await app.inject({ method, url, payload, headers: { authorization: `Bearer ${KEY}` } });
        if (response.statusCode >= 300) throw new Error(`${method} ${url}: ${response.body}`);
      }
    }
    await app.close();
    // The overrides go straight to the store (the API's checks are measured by the tests, not here).
    const at = new Date().toISOString();
    const perPrompt = Math.ceil(OVERRIDES / SNAPSHOT_PROMPTS);
    for (const name of names) {
      const prompt = (await storage.registry.getPrompt(project.id, name))!;
      for (let start = 0; start < perPrompt; start += 500) {
        await storage.transaction(async (tx) => {
          for (let i = start; i < Math.min(perPrompt, start + 500); i += 1) {
            const override = tenantOverride(i);
            await tx.tenants.insertOverride({
              projectId: project.id,
              promptId: prompt.id,
              tenant: tenantId(i),
              version: 1,
              sha: overrideSha(override),
              content: JSON.stringify(override),
              label: 'production',
              baseSha: null,
              author: 'bench',
              message: 'bench',
              createdAt: at,
            });
          }
        });
      }
    }
    const total = (await storage.tenants.projectOverrides(project.id)).length;
    const actor: Actor = {
      projectId: project.id,
      projectName: project.name,
      role: 'admin',
      keyId: 'bench',
      stamp: 0,
      name: 'bench',
      user: null,
    };
    const held: unknown[] = [];
    const build = async (withOverrides: boolean) => {
      held.length = 0;
      const cache = new SnapshotCache(
        storage.registry,
        {},
        storage.rollouts,
        withOverrides ? storage.tenants : undefined,
      );
      collect();
      // The body is a Buffer, outside the JS heap: heap and external memory together.
      const used = (): number => process.memoryUsage().heapUsed + process.memoryUsage().external;
      const heapBefore = used();
      const rssBefore = process.memoryUsage().rss;
      let rssPeak = rssBefore;
      const sampler = setInterval(() => (rssPeak = Math.max(rssPeak, process.memoryUsage().rss)), 2);
      const start = process.hrtime.bigint();
      const entry = await cache.entry(actor, {});
      const ms = Number(process.hrtime.bigint() - start) / 1e6;
      clearInterval(sampler);
      rssPeak = Math.max(rssPeak, process.memoryUsage().rss);
      collect();
      const retained = used() - heapBefore;
      held.push(cache, entry); // kept until measured, as the server keeps them
      return { ms, retained, rssGrowth: rssPeak - rssBefore, bytes: entry.body.length };
    };
    await build(true); // warm-up: the database's pages and the JIT
    await build(false);
    const runs = {
      with: [] as Awaited<ReturnType<typeof build>>[],
      without: [] as Awaited<ReturnType<typeof build>>[],
    };
    for (let i = 0; i < BUILDS; i += 1) {
      // Alternating which goes first, so a noisy moment hits both.
      for (const withOverrides of i % 2 === 0 ? [true, false] : [false, true]) {
        (withOverrides ? runs.with : runs.without).push(await build(withOverrides));
      }
    }
    // The database read alone, to tell it from the serialization.
    const reads: number[] = [];
    for (let i = 0; i < BUILDS; i += 1) {
      const start = process.hrtime.bigint();
      await storage.tenants.projectOverrides(project.id);
      reads.push(Number(process.hrtime.bigint() - start) / 1e6);
    }
    const summary = (list: Awaited<ReturnType<typeof build>>[]) => ({
      ms: median(list.map((r) => r.ms)),
      maxMs: Math.max(...list.map((r) => r.ms)),
      retained: median(list.map((r) => r.retained)),
      rssGrowth: Math.max(...list.map((r) => r.rssGrowth)),
      bytes: list[0]!.bytes,
    });
    const withO = summary(runs.with);
    const without = summary(runs.without);
    console.log(
      `server snapshot, SQLite, ${SNAPSHOT_PROMPTS} prompts (${Buffer.byteLength(JSON.stringify(withSlot(NAME)))} B chat each), ` +
        `${total.toLocaleString('en-US')} overrides, ${BUILDS} builds each, in this process:`,
    );
    console.log(
      `${'snapshot'.padEnd(28)} ${'build ms p50'.padStart(12)} ${'max'.padStart(8)} ${'kept MB'.padStart(13)} ${'peak RSS +MB'.padStart(13)} ${'body MB'.padStart(8)}`,
    );
    for (const [name, r] of [
      ['without overrides (baseline)', without],
      [`with ${total.toLocaleString('en-US')} overrides`, withO],
    ] as const) {
      console.log(
        `${name.padEnd(28)} ${r.ms.toFixed(1).padStart(12)} ${r.maxMs.toFixed(1).padStart(8)} ${mb(r.retained).padStart(13)} ${mb(r.rssGrowth).padStart(13)} ${mb(r.bytes).padStart(8)}`,
      );
    }
    const memory = Math.max(withO.retained, withO.rssGrowth);
    console.log(
      `targets: build ${withO.ms.toFixed(0)} ms (< 200 ms: ${withO.ms < 200 ? 'met' : 'MISSED'}; x${(withO.ms / without.ms).toFixed(1)} the baseline, ` +
        `+${(((withO.ms - without.ms) / total) * 1000).toFixed(1)} µs per override, of which reading the overrides ${median(reads).toFixed(0)} ms); ` +
        `memory ${mb(memory)} MB ` +
        `(the larger of what the entry keeps, heap and external, and peak RSS growth; < 50 MB: ${memory < 50 * 1024 * 1024 ? 'met' : 'MISSED'})\n`,
    );
  } finally {
    await storage.close();
  }
};

// ---- main -------------------------------------------------------------------------------------

const main = async (): Promise<void> => {
  const dir = mkdtempSync(join(tmpdir(), 'promptops-bench-tenants-'));
  console.log(
    `bench/tenants on ${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, Node ${process.version}, ` +
      `load average ${loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')}\n`,
  );
  try {
    if (PARTS.has('sdk')) {
      const server: ChildServer = await startPromptops(dir, KEY, `sqlite:${join(dir, 'sdk.db')}`);
      try {
        const seeded = Date.now();
        await seedSdk(server.url);
        console.log(
          `SDK: server in its own process (SQLite), ${TENANTS.toLocaleString('en-US')} overrides set through the API in ${((Date.now() - seeded) / 1000).toFixed(1)} s`,
        );
        await sdkBench(server.url);
      } finally {
        await server.stop();
      }
    }
    if (PARTS.has('snapshot')) await snapshotBench(dir);
    console.log(
      `load average at the end ${loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')}`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
};

await main();
