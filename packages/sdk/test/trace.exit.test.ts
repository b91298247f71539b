import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { greeter, versionOf } from './support/fixtures.js';
import { ADMIN_KEY, api, startTestServer, type TestServer } from './support/server.js';
import { listTraces } from './support/traces.js';

/**
 * Flush on exit: a child process traces and simply ends (no flush, no close) and its events are stored,
 * sent from `beforeExit`; with close(), everything is flushed and the process exits on its own. The
 * test's timeout is the only time bound. The child uses the build (`npx tsc -b packages/sdk`).
 */

const SDK_DIST = fileURLToPath(new URL('../dist/index.js', import.meta.url));
const NAME = 'customer_support_greeter';

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

describe('flush on exit', () => {
  let server: TestServer;
  let sha: string;
  beforeAll(async () => {
    server = await startTestServer('sqlite');
    const v17 = versionOf(greeter(17), 1);
    sha = v17.sha;
    await api(server.url).push(v17.content, null);
    await api(server.url).promote(NAME, 'production', 'v1');
  });
  afterAll(async () => server?.close());

  it('a process that traces and ends on its own has its events stored', async () => {
    const result = await runChild(`
      const client = createClient({ url: ${JSON.stringify(server.url)}, apiKey: ${JSON.stringify(ADMIN_KEY)}, traces: { flushIntervalMs: 60000 } });
      for (let i = 0; i < 250; i += 1) {
        client.trace({ prompt: { name: ${JSON.stringify(NAME)}, sha: ${JSON.stringify(sha)}, version: 1 }, variables: { user_name: 'exit', question: String(i) }, output: 'ok', latencyMs: 5, tenant: 'on-exit' });
      }
      console.log('traced', client.traceStats().queued);
    `);
    expect(result.code, result.output).toBe(0);
    expect(result.output).toContain('traced 250');
    const stored = await listTraces(server.url, { tenant: 'on-exit' });
    expect(stored).toHaveLength(250);
    expect(stored[0]).toMatchObject({ prompt: { name: NAME, sha, version: 1 } });
  });

  it('close() after ready() flushes and lets the process exit', async () => {
    const result = await runChild(`
      const client = createClient({ url: ${JSON.stringify(server.url)}, apiKey: ${JSON.stringify(ADMIN_KEY)} });
      await client.ready();
      const prompt = client.get(${JSON.stringify(NAME)});
      const id = client.trace({ prompt, variables: { user_name: 'Ada', question: 'q' }, output: 'Hi Ada', latencyMs: 5, tenant: 'on-close' });
      client.score(id, { kind: 'thumbs', value: 'up' });
      await client.close();
      console.log('closed', JSON.stringify(client.traceStats()));
    `);
    expect(result.code, result.output).toBe(0);
    expect(result.output).toContain('closed {"queued":0,"sent":2,"dropped":0,"rejected":0,"retries":0}');
    const [trace] = await listTraces(server.url, { tenant: 'on-close' });
    expect(trace).toMatchObject({ prompt: { sha, version: 1 }, label: 'production', variables: { user_name: 'Ada' } });
  });

  it('an unreachable server does not keep the process alive', async () => {
    // Retry delays of 10 minutes: while exiting, the exporter must retry at once and give up, never
    // wait them out (which would outlast the test's timeout).
    const result = await runChild(`
      const client = createClient({ url: 'http://127.0.0.1:9', apiKey: 'k',
        traces: { retry: { maxAttempts: 3, initialDelayMs: 600000, maxDelayMs: 600000 } } });
      client.trace({ prompt: { name: 'x' }, output: 'lost', latencyMs: 1 });
      process.on('exit', () => console.log('exit', JSON.stringify(client.traceStats())));
      console.log('done');
    `);
    expect(result.code, result.output).toBe(0);
    expect(result.output).toContain('exit {"queued":0,"sent":0,"dropped":1,"rejected":0,"retries":2}');
  });
});
