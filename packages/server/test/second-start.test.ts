import { spawnSync } from 'node:child_process';
import { mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startServer } from '../src/app/start-server.js';

/** A second `npm start` must not touch the running demo's data. */

const quiet = { log: false as const, print: () => undefined, webRoot: false as const };

const promptCount = async (url: string, key: string): Promise<number> => {
  const response = await fetch(`${url}/api/v1/prompts`, { headers: { authorization: `Bearer ${key}` } });
  return ((await response.json()) as { prompts: unknown[] }).prompts.length;
};

describe('a second demo start', () => {
  it('on the same port is refused before the running demo database is touched, naming --port', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'promptops-second-'));
    const first = await startServer({ ...quiet, port: 0, dataDir, demo: true });
    try {
      const port = Number(new URL(first.url).port);
      const database = join(dataDir, 'demo.db');
      const before = statSync(database);
      const prompts = await promptCount(first.url, first.adminKey!);

      await expect(startServer({ ...quiet, port, dataDir, demo: true })).rejects.toMatchObject({
        code: 'port_in_use',
        message: expect.stringContaining(String(port)),
        fix: expect.stringContaining('--port'),
      });
      // Same file (not deleted and recreated), and the first server still answers from it.
      expect(statSync(database).ino).toBe(before.ino);
      expect(statSync(database).birthtimeMs).toBe(before.birthtimeMs);
      expect(await promptCount(first.url, first.adminKey!)).toBe(prompts);
    } finally {
      await first.close();
    }
  });

  it('on another port is refused while the data directory is in use, naming --data-dir', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'promptops-second-'));
    const first = await startServer({ ...quiet, port: 0, dataDir, demo: true });
    const database = join(dataDir, 'demo.db');
    const before = statSync(database);
    try {
      await expect(startServer({ ...quiet, port: 0, dataDir, demo: true })).rejects.toMatchObject({
        code: 'data_dir_in_use',
        message: expect.stringContaining(first.url),
        fix: expect.stringMatching(/--data-dir.*--port/),
      });
      expect(statSync(database).ino).toBe(before.ino);
      expect(await promptCount(first.url, first.adminKey!)).toBeGreaterThan(0);
    } finally {
      await first.close();
    }
    // Closing releases the directory: the demo starts again there.
    const again = await startServer({ ...quiet, port: 0, dataDir, demo: true });
    expect(await promptCount(again.url, again.adminKey!)).toBeGreaterThan(0);
    await again.close();
  });

  it('takes over the lock of a server that died without closing', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'promptops-second-'));
    // A process that has exited: its pid is free.
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], {
      encoding: 'utf8',
    });
    writeFileSync(join(dataDir, 'serve.lock'), JSON.stringify({ pid: Number(dead.stdout), url: 'http://x' }));
    const server = await startServer({ ...quiet, port: 0, dataDir, demo: true });
    expect(await promptCount(server.url, server.adminKey!)).toBeGreaterThan(0);
    await server.close();
  });
});
