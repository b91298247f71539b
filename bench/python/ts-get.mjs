// The TypeScript SDK's side of bench/python: `client.get(name)` and a Map.get behind a function call,
// timed exactly as run.py times Python (batches of 1,000 calls, interleaved rounds), against the same
// server. Usage: node ts-get.mjs <sdk dist index.js> <url> <api key> <name> <rounds> <batches per round>
const [sdk, url, apiKey, name, rounds, batches] = process.argv.slice(2);
const { createClient } = await import(sdk);
const client = createClient({ url, apiKey, traces: false, snapshotCheckIntervalMs: 0 });
await client.ready();
const table = new Map([[name, client.get(name)]]);
const lookup = (key) => table.get(key);
const BATCH = 1000;
const subjects = {
  'Map.get in a function (floor)': () => {
    let sink = 0;
    const start = process.hrtime.bigint();
    for (let i = 0; i < BATCH; i += 1) sink += lookup(name) === undefined ? 1 : 0;
    return [Number(process.hrtime.bigint() - start) / BATCH, sink];
  },
  'client.get(name)': () => {
    let sink = 0;
    const start = process.hrtime.bigint();
    for (let i = 0; i < BATCH; i += 1) sink += client.get(name).version;
    return [Number(process.hrtime.bigint() - start) / BATCH, sink];
  },
};
const samples = Object.fromEntries(Object.keys(subjects).map((key) => [key, []]));
for (const run of Object.values(subjects)) for (let i = 0; i < 200; i += 1) run(); // warm up the JIT
for (let round = 0; round < Number(rounds); round += 1) {
  for (const [key, run] of Object.entries(subjects)) {
    for (let i = 0; i < Number(batches); i += 1) samples[key].push(run()[0]);
  }
}
const quantile = (sorted, q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
const out = {};
for (const [key, values] of Object.entries(samples)) {
  const sorted = values.sort((a, b) => a - b);
  out[key] = { p50: quantile(sorted, 0.5), p99: quantile(sorted, 0.99), calls: values.length * BATCH };
}
await client.close();
console.log(JSON.stringify({ node: process.version, results: out }));
