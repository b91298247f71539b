// Prompt resolution load, run in its own process (like driver.mjs) so the orchestrator's own work and
// garbage collection never land in the measured latencies: CONNECTIONS keep-alive connections, each
// sending one GET every CONNECTIONS/RATE seconds (or right after the previous answer, when that was
// slower) for SECONDS. Prints one JSON line: { requests, errors, p50, p99 } with latencies in ms.
import { Agent, request } from 'node:http';

const { URL_FULL, KEY, RATE, CONNECTIONS, SECONDS } = process.env;
const connections = Number(CONNECTIONS);
const interval = (1000 * connections) / Number(RATE);
const deadline = performance.now() + Number(SECONDS) * 1000;
const agent = new Agent({ keepAlive: true, maxSockets: connections });
const target = new URL(URL_FULL);
const latencies = [];
let errors = 0;

const get = () =>
  new Promise((resolve) => {
    const started = performance.now();
    const req = request(target, { agent, headers: { authorization: `Bearer ${KEY}` } }, (res) => {
      res.resume();
      res.on('end', () => {
        if (res.statusCode === 200) latencies.push(performance.now() - started);
        else errors += 1;
        resolve(started);
      });
    });
    req.on('error', () => {
      errors += 1;
      resolve(started);
    });
    req.end();
  });

const connection = async (offset) => {
  await new Promise((r) => setTimeout(r, offset));
  while (performance.now() < deadline) {
    const started = await get();
    const wait = started + interval - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  }
};
await Promise.all(Array.from({ length: connections }, (_, i) => connection((i * interval) / connections)));
agent.destroy();
latencies.sort((a, b) => a - b);
const at = (q) => latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * q))] ?? 0;
process.stdout.write(`${JSON.stringify({ requests: latencies.length, errors, p50: at(0.5), p99: at(0.99) })}\n`);
