import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { ApiClient } from '../src/api-client.js';
import { nodeFetch } from '../src/http-transport.js';
import { demoServer } from './helpers.js';

/**
 * What made short commands slow. `--version` evaluated the whole CLI, and every
 * command against the server loaded undici (Node's fetch) for its first request. Times are measured by
 * `npm run bench:cli`; these tests pin the causes, not the speed.
 */

const DIST = fileURLToPath(new URL('../dist/', import.meta.url));
const BIN = join(DIST, 'bin.js');
const VERSION = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string })
  .version;
const exec = promisify(execFile);

describe('CLI start-up', () => {
  const demo = demoServer('startup');

  it('answers --version without evaluating the bundled CLI', async () => {
    const root = mkdtempSync(join(tmpdir(), 'promptops-version-'));
    const dist = join(root, 'dist');
    mkdirSync(dist);
    writeFileSync(join(root, 'package.json'), JSON.stringify({ type: 'module', version: VERSION }));
    copyFileSync(BIN, join(dist, 'bin.js'));
    writeFileSync(join(dist, '.tsbuildinfo'), '{}');
    // A current bundle that fails when run: --version must not need it.
    writeFileSync(join(dist, 'promptops.cjs'), 'throw new Error("the bundle was evaluated");');
    for (const flag of ['--version', '-V']) {
      const { stdout } = await exec(process.execPath, [join(dist, 'bin.js'), flag]);
      expect(stdout).toBe(`${VERSION}\n`);
    }
    // Anything else still runs the bundle.
    const other = await exec(process.execPath, [join(dist, 'bin.js'), 'log', 'x']).catch(
      (error: { stderr: string }) => error,
    );
    expect((other as { stderr: string }).stderr).toContain('the bundle was evaluated');
  });

  it('talks to the server without Node’s global fetch', async () => {
    const preload = join(mkdtempSync(join(tmpdir(), 'promptops-nofetch-')), 'no-fetch.cjs');
    writeFileSync(
      preload,
      `for (const name of ['fetch', 'Response', 'Headers', 'Request']) {
         Object.defineProperty(globalThis, name, { configurable: true, get() { throw new Error('global ' + name + ' used'); } });
       }`,
    );
    const { stdout } = await exec(process.execPath, ['--require', preload, BIN, 'prompts', '--json'], {
      env: { ...process.env, ...demo.env },
    });
    expect((JSON.parse(stdout) as { prompts: unknown[] }).prompts.length).toBeGreaterThan(0);
  });

  it('reports an unreachable server and a timeout as fetch did', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const down = new ApiClient({ url: `http://127.0.0.1:${port}`, apiKey: 'k' });
    await expect(down.me()).rejects.toMatchObject({
      code: 'server_unreachable',
      message: expect.stringContaining('ECONNREFUSED'),
    });

    const silent = createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`;
      const slow = new ApiClient({ url, apiKey: 'k', timeoutMs: 200 });
      await expect(slow.me()).rejects.toMatchObject({
        code: 'server_unreachable',
        message: expect.stringContaining('no answer within 200 ms'),
      });
    } finally {
      silent.close();
    }
  });

  it('sends bodies and reads answers of any status', async () => {
    const answer = await nodeFetch(`${demo.env['PROMPTOPS_URL']}/api/v1/prompts/x/versions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${demo.env['PROMPTOPS_API_KEY']}`, 'content-type': 'application/json' },
      body: JSON.stringify({ content: {}, parent: null }),
    });
    expect(answer.ok).toBe(false);
    expect(answer.status).toBe(400);
    expect(JSON.parse(await answer.text())).toMatchObject({ error: { code: expect.any(String) } });
  });
});
