import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { greeter, versionOf } from './support/fixtures.js';
import { ADMIN_KEY, api, freePort, startTestServer, type TestServer } from './support/server.js';

/**
 * close() leaves nothing running: a child process creates a client, uses it, closes it, and must then
 * exit on its own, with no ref'd timer left (`timers []`, from Node's list of what keeps a process
 * alive). The test's timeout is the only time bound. The child uses the build
 * (`npx tsc -b packages/sdk`; `npm test` builds first).
 */

const SDK_DIST = fileURLToPath(new URL('../dist/index.js', import.meta.url));
/** Printed by the child: its ref'd timers (sockets being closed may linger a moment; timers may not). */
const PRINT_TIMERS = `console.log('timers', JSON.stringify(process.getActiveResourcesInfo().filter((r) => r === 'Timeout')));`;

const runChild = (body: string): Promise<{ code: number | null; output: string }> => {
  if (!existsSync(SDK_DIST)) throw new Error(`${SDK_DIST} is missing: build first (npx tsc -b packages/sdk)`);
  const code = `const { createClient } = await import(${JSON.stringify(SDK_DIST)});\n${body}`;
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', code], { stdio: ['ignore', 'pipe', 'pipe'] });
    // A child that does not exit fails the test by its timeout; it is then killed, not left behind.
    onTestFinished(() => void child.kill('SIGKILL'));
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('exit', (exitCode) => resolve({ code: exitCode, output }));
  });
};

describe('close()', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer('sqlite');
    const v17 = versionOf(greeter(17), 1);
    await api(server.url).push(v17.content, null);
    await api(server.url).promote('customer_support_greeter', 'production', 'v1');
  });
  afterAll(async () => server?.close());

  it('lets the process exit: stream, snapshot check timer and requests all stopped', async () => {
    const result = await runChild(`
      const client = createClient({ url: ${JSON.stringify(server.url)}, apiKey: ${JSON.stringify(ADMIN_KEY)}, snapshotCheckIntervalMs: 200 });
      await client.ready();
      while (!client.status().connected) await new Promise((r) => setTimeout(r, 10));
      console.log('serving', client.get('customer_support_greeter').version);
      await client.close();
      console.log('closed', client.status().state);
      ${PRINT_TIMERS}
    `);
    expect(result.output).toContain('serving 1');
    expect(result.output).toContain('closed closed');
    expect(result.output).toContain('timers []');
    expect(result.code).toBe(0);
  });

  it('lets the process exit while reconnecting to a server that is down', async () => {
    const down = `http://127.0.0.1:${await freePort()}`;
    const result = await runChild(`
      const errors = [];
      let attempts = 0;
      const fetch = (...args) => ((attempts += 1), globalThis.fetch(...args));
      const client = createClient({ url: ${JSON.stringify(down)}, apiKey: 'k', transport: 'poll', fetch, onError: (e) => errors.push(e.code),
        fallback: { prompts: { hello: { name: 'hello', type: 'text', template: 'Hi', config: { params: {} }, variables: {}, slots: {} } } } });
      await client.ready();
      // A few reconnect attempts, so backoff timers are pending when close() runs.
      while (attempts < 4) await new Promise((r) => setTimeout(r, 5));
      console.log('serving', client.get('hello').source, errors[0]);
      await client.close();
      console.log('closed');
      ${PRINT_TIMERS}
    `);
    expect(result.output).toContain('serving fallback server_unreachable');
    expect(result.output).toContain('timers []');
    expect(result.code).toBe(0);
  });

  it('never holds a process by its timers alone, even without close()', async () => {
    // Retries every 100 ms and reconnection delays of up to 10 minutes: a ref'd timer would keep the
    // child alive past the test's timeout.
    const down = `http://127.0.0.1:${await freePort()}`;
    const result = await runChild(`
      const client = createClient({ url: ${JSON.stringify(down)}, apiKey: 'k', snapshotCheckIntervalMs: 100,
        reconnect: { initialDelayMs: 600000, maxDelayMs: 600000, probeIntervalMs: 0 },
        fallback: { prompts: { hello: { name: 'hello', type: 'text', template: 'Hi', config: { params: {} }, variables: {}, slots: {} } } } });
      await client.ready();
      console.log('closed (not really: timers only)');
    `);
    expect(result.output).toContain('closed (not really');
    expect(result.code).toBe(0);
  });
});
