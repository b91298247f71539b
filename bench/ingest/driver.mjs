// Ingest load driver, run in its own process so its CPU does not share an event loop with the
// latency measurements. Sends pre-built batches (only the ids change) with N concurrent senders for a
// fixed time (SECONDS), or for WARM_UP + COUNT requests with latencies of the last COUNT only (the accept
// path), and prints one JSON line: { events, requests, rejected429, errors, seconds, latencies: [p50, p99] }.
// A body is a copy of one encoded template with the request number written over fixed-width slots: the
// driver shares the server's two cores, so building a 733 KB body must cost it next to nothing.
import { request } from 'node:http';

const { URL_BASE, KEY, BATCH, CONCURRENCY, SECONDS, RUN, WARM_UP, COUNT } = process.env;
const batch = Number(BATCH);
const deadline = Date.now() + Number(SECONDS ?? Infinity) * 1000;
const warmUp = Number(WARM_UP ?? 0);
const total = COUNT === undefined ? Infinity : warmUp + Number(COUNT);
const agent = new (await import('node:http')).Agent({ keepAlive: true, maxSockets: Number(CONCURRENCY) });
const target = new URL('/api/v1/ingest', URL_BASE);

const SLOT = '@'.repeat(10); // the request number, zero-padded
const event = (i) => ({
  id: `${RUN}-${SLOT}-${i}`,
  traceId: '0af7651916cd43dd8448eb211c80319c',
  spanId: 'b7ad6b7169203331',
  prompt: { name: 'bench', version: 1, sha: 'c'.repeat(64) },
  label: 'production',
  tenant: `tenant-${i % 7}`,
  rollout: { id: 'r1', arm: i % 2 ? 'control' : 'candidate' },
  variables: { user_name: 'Ada', question: 'Where is my order? It was due yesterday.' },
  output:
    'Hi Ada! Your order left our warehouse yesterday and should arrive within two days. Is there anything else I can help with?',
  model: 'gpt-4o-mini',
  provider: 'openai',
  latencyMs: 700 + (i % 300),
  usage: { inputTokens: 120, outputTokens: 48 },
  cost: 0.000047,
  attributes: { 'service.name': 'bench', 'gen_ai.response.model': 'gpt-4o-mini-2024-07-18' },
  startedAt: Date.now() - 1000,
});
const template = Buffer.from(JSON.stringify({ events: Array.from({ length: batch }, (_, i) => event(i)) }));
const slots = [];
for (let at = template.indexOf(SLOT); at !== -1; at = template.indexOf(SLOT, at + SLOT.length)) slots.push(at);
if (slots.length !== batch) throw new Error(`expected ${batch} id slots in the template, found ${slots.length}`);
const bodyFor = (n) => {
  const body = Buffer.from(template);
  const number = String(n).padStart(SLOT.length, '0');
  for (const at of slots) body.write(number, at, 'latin1');
  return body;
};

const post = (body) =>
  new Promise((resolve) => {
    const started = performance.now();
    const req = request(
      target,
      {
        method: 'POST',
        agent,
        headers: {
          authorization: `Bearer ${KEY}`,
          'content-type': 'application/json',
          'content-length': body.length,
        },
      },
      (res) => {
        let text = '';
        res.on('data', (c) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode, text, ms: performance.now() - started }));
      },
    );
    req.on('error', () => resolve({ status: 0, text: '', ms: 0 }));
    req.end(body);
  });

let seq = 0;
const result = { events: 0, requests: 0, rejected429: 0, errors: 0, seconds: 0, latencies: [] };
const started = performance.now();
const sender = async () => {
  while (Date.now() < deadline && seq < total) {
    const n = seq++;
    const body = bodyFor(n);
    const { status, text, ms } = await post(body);
    if (status === 200) {
      result.events += JSON.parse(text).accepted.length;
      result.requests += 1;
      if (n >= warmUp) result.latencies.push(ms);
    } else if (status === 429) {
      result.rejected429 += 1;
      await new Promise((r) => setTimeout(r, 20));
    } else result.errors += 1;
  }
};
await Promise.all(Array.from({ length: Number(CONCURRENCY) }, sender));
result.seconds = (performance.now() - started) / 1000;
result.latencies.sort((a, b) => a - b);
result.latencies = [
  result.latencies[Math.floor(result.latencies.length * 0.5)],
  result.latencies[Math.floor(result.latencies.length * 0.99)],
];
process.stdout.write(`${JSON.stringify(result)}\n`);
agent.destroy();
