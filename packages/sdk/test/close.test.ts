import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { greeter, versionOf } from './support/fixtures.js';
import { ADMIN_KEY, api, freePort, startTestServer, type TestServer } from './support/server.js';

/**
 * close() leaves nothing running: a child process creates a client, uses it, closes it, and must then
 * exit on its own. The child uses the build (`npx tsc -b packages/sdk`; `npm test` builds first).
 */

const SDK_DIST = fileURLToPath(new URL('../dist/index.js', import.meta.url));
const EXIT_WITHIN_MS = 5000;

const runChild = (body: string): Promise<{ code: number | null; ms: number; output: string }> => {
  if (!existsSync(SDK_DIST)) throw new Error(`${SDK_DIST} is missing: build first (npx tsc -b packages/sdk)`);
  const code = `const { createClient } = await import(${JSON.stringify(SDK_DIST)});\n${body}`;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', code], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    let doneAt = 0;
    const started = performance.now();
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('closed') && doneAt === 0) doneAt = performance.now();
    });
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const killer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the child did not exit within ${EXIT_WITHIN_MS} ms of closing the client:\n${output}`));
    }, 20_000);
    child.once('exit', (exitCode) => {
      clearTimeout(killer);
      resolve({ code: exitCode, ms: performance.now() - (doneAt || started), output });
    });
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
    `);
    expect(result.output).toContain('serving 1');
    expect(result.output).toContain('closed closed');
    expect(result.code).toBe(0);
    expect(result.ms).toBeLessThan(EXIT_WITHIN_MS);
  });

  it('lets the process exit while reconnecting to a server that is down', async () => {
    const down = `http://127.0.0.1:${await freePort()}`;
    const result = await runChild(`
      const errors = [];
      const client = createClient({ url: ${JSON.stringify(down)}, apiKey: 'k', transport: 'poll', onError: (e) => errors.push(e.code),
        fallback: { prompts: { hello: { name: 'hello', type: 'text', template: 'Hi', config: { params: {} }, variables: {}, slots: {} } } } });
      await client.ready();
      await new Promise((r) => setTimeout(r, 300)); // a few reconnect attempts with backoff timers pending
      console.log('serving', client.get('hello').source, errors[0]);
      await client.close();
      console.log('closed');
    `);
    expect(result.output).toContain('serving fallback server_unreachable');
    expect(result.code).toBe(0);
    expect(result.ms).toBeLessThan(EXIT_WITHIN_MS);
  });

  it('never holds a process by its timers alone, even without close()', async () => {
    const down = `http://127.0.0.1:${await freePort()}`;
    const result = await runChild(`
      const client = createClient({ url: ${JSON.stringify(down)}, apiKey: 'k', snapshotCheckIntervalMs: 100,
        fallback: { prompts: { hello: { name: 'hello', type: 'text', template: 'Hi', config: { params: {} }, variables: {}, slots: {} } } } });
      await client.ready();
      console.log('closed (not really: timers only)');
    `);
    expect(result.code).toBe(0);
    expect(result.ms).toBeLessThan(EXIT_WITHIN_MS);
  });
});
