// Prompt resolution load, run in its own process (like driver.mjs) so the orchestrator's own work and
// garbage collection never land in the measured latencies: CONNECTIONS keep-alive connections, each
// sending one GET every CONNECTIONS/RATE seconds (or right after the previous answer, when that was
// slower) for SECONDS. Prints one JSON line: { requests, errors, p50, p99, latencies } in ms.
//
// The client is a measuring instrument sharing the server's two cores, so it is kept light: each
// connection writes one pre-built request and reads the answer's status line and Content-Length off the
// socket. node:http's client cost about twice the CPU (~0.3 ms a request, 12-18 % of a core at 400
// req/s), taken from the server it measures and spent inside the measured interval.
import { connect } from 'node:net';

const { URL_FULL, KEY, RATE, CONNECTIONS, SECONDS } = process.env;
const connections = Number(CONNECTIONS);
const interval = (1000 * connections) / Number(RATE);
const deadline = performance.now() + Number(SECONDS) * 1000;
const target = new URL(URL_FULL);
const requestBytes = Buffer.from(
  `GET ${target.pathname}${target.search} HTTP/1.1\r\nHost: ${target.host}\r\nAuthorization: Bearer ${KEY}\r\n\r\n`,
);
const HEADER_END = Buffer.from('\r\n\r\n');
const CONTENT_LENGTH = /\r\ncontent-length: *(\d+)/i;
const latencies = [];
let errors = 0;

/**
 * One keep-alive connection: `get()` writes the request and resolves when the whole answer is in, with
 * whether the connection is still open.
 */
const open = () =>
  new Promise((opened, failed) => {
    const socket = connect(Number(target.port), target.hostname, () => opened({ get, close: () => socket.destroy() }));
    socket.setNoDelay(true);
    let answered; // the pending get's resolve
    let started = 0;
    let chunks = [];
    let size = 0;
    /** `open`: the connection is still usable. */
    const settle = (ok, open = true) => {
      if (answered === undefined) return;
      if (ok) latencies.push(performance.now() - started);
      else errors += 1;
      chunks = [];
      size = 0;
      const done = answered;
      answered = undefined;
      done(open);
    };
    socket.on('data', (chunk) => {
      chunks.push(chunk);
      size += chunk.length;
      const data = chunks.length === 1 ? chunk : Buffer.concat(chunks, size);
      const headerEnd = data.indexOf(HEADER_END);
      if (headerEnd < 0) return;
      const head = data.toString('latin1', 0, headerEnd);
      const length = CONTENT_LENGTH.exec(head)?.[1];
      if (length === undefined) throw new Error(`an answer without Content-Length: ${head}`);
      if (size < headerEnd + HEADER_END.length + Number(length)) return;
      settle(head.startsWith('HTTP/1.1 200 '));
    });
    socket.on('error', (error) => (answered === undefined ? failed(error) : settle(false, false)));
    socket.on('close', () => settle(false, false));
    const get = () =>
      new Promise((resolve) => {
        if (socket.destroyed) {
          errors += 1;
          resolve(false);
          return;
        }
        answered = resolve;
        started = performance.now();
        socket.write(requestBytes);
      });
  });

const connection = async (offset) => {
  const { get, close } = await open();
  await new Promise((r) => setTimeout(r, offset));
  while (performance.now() < deadline) {
    const started = performance.now();
    if (!(await get())) break; // the connection is gone (counted as an error)
    const wait = started + interval - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  }
  close();
};
await Promise.all(Array.from({ length: connections }, (_, i) => connection((i * interval) / connections)));
latencies.sort((a, b) => a - b);
const at = (q) => latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * q))] ?? 0;
// Every latency too (µs precision), so that a caller can pool several windows.
const all = latencies.map((ms) => Math.round(ms * 1000) / 1000);
process.stdout.write(
  `${JSON.stringify({ requests: latencies.length, errors, p50: at(0.5), p99: at(0.99), latencies: all })}\n`,
);
