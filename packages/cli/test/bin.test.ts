import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';

/** The built binary and its bundle (`npm test` builds first; locally: `npm run build`). */
const DIST = fileURLToPath(new URL('../dist/', import.meta.url));
const BIN = join(DIST, 'bin.js');
const BUNDLE = join(DIST, 'promptops.cjs');
const CACHE = join(DIST, 'promptops.cjs.cache');
const VERSION = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string })
  .version;
const exec = promisify(execFile);

const digestOf = (file: string): Buffer => createHash('sha256').update(readFileSync(file, 'utf8')).digest();

/** A copy of the launcher and the bundle in a fresh folder, to play with their cache and timestamps. */
const copyOfDist = (): string => {
  const root = mkdtempSync(join(tmpdir(), 'promptops-bin-'));
  const dist = join(root, 'dist');
  mkdirSync(dist);
  writeFileSync(join(root, 'package.json'), JSON.stringify({ type: 'module', version: VERSION }));
  copyFileSync(BIN, join(dist, 'bin.js'));
  writeFileSync(join(dist, '.tsbuildinfo'), '{}');
  utimesSync(join(dist, '.tsbuildinfo'), new Date(2000, 0, 1), new Date(2000, 0, 1));
  copyFileSync(BUNDLE, join(dist, 'promptops.cjs'));
  return dist;
};

describe('dist/bin.js', () => {
  beforeAll(() => {
    if (!existsSync(BIN) || !existsSync(BUNDLE))
      throw new Error(`${BIN} or ${BUNDLE} is missing: build first (npm test builds; or npm run build)`);
  });

  it('runs --help with exit 0', async () => {
    const { stdout } = await exec(process.execPath, [BIN, '--help'], { env: { ...process.env, NO_COLOR: '1' } });
    expect(stdout).toContain('Usage: promptops');
    for (const command of ['serve', 'push', 'log', 'show', 'diff', 'labels', 'promote', 'rollback', 'verify']) {
      expect(stdout).toContain(command);
    }
  });

  it('exits 2 on an unknown command', async () => {
    const failure = await exec(process.execPath, [BIN, 'nope']).catch(
      (error: { code: number; stderr: string }) => error,
    );
    expect(failure).toMatchObject({ code: 2, stderr: expect.stringContaining("unknown command 'nope'") });
  });

  it('ships a code cache made from this bundle', () => {
    expect(readFileSync(CACHE).subarray(0, 32).equals(digestOf(BUNDLE))).toBe(true);
  });

  it('imports the server from the bundle for serve, and reports its errors as its own', async () => {
    const failure = await exec(process.execPath, [BIN, 'serve', '--db', 'bogus://x', '--port', '0', '--json']).catch(
      (error: { code: number; stdout: string; stderr: string }) => error,
    );
    expect(failure).toMatchObject({ code: 1 });
    const body = JSON.parse((failure as { stdout: string }).stdout) as { error: { code: string; fix: string } };
    expect(body.error.code).toBe('invalid_db_url');
    expect(body.error.fix).toContain('sqlite:PATH');
    expect((failure as { stderr: string }).stderr).not.toContain('Warning');
  });

  it('writes the cache when it is missing, and replaces one made from another bundle or refused by V8', async () => {
    const dist = copyOfDist();
    const bin = join(dist, 'bin.js');
    const cache = join(dist, 'promptops.cjs.cache');
    const digest = digestOf(join(dist, 'promptops.cjs'));

    expect((await exec(process.execPath, [bin, '--help'])).stdout).toContain('Usage: promptops');
    const made = readFileSync(cache);
    expect(made.subarray(0, 32).equals(digest)).toBe(true);
    expect(made.length).toBeGreaterThan(10_000);

    // Same length as a real cache, another bundle's digest: never handed to V8, rewritten at exit.
    writeFileSync(cache, Buffer.concat([Buffer.alloc(32, 7), made.subarray(32)]));
    expect((await exec(process.execPath, [bin, '--help'])).stdout).toContain('Usage: promptops');
    expect(readFileSync(cache).subarray(0, 32).equals(digest)).toBe(true);

    // The right digest over bytes V8 cannot use: refused by V8, the command still runs, the cache is rewritten.
    writeFileSync(cache, Buffer.concat([digest, Buffer.alloc(5000, 1)]));
    expect((await exec(process.execPath, [bin, '--help'])).stdout).toContain('Usage: promptops');
    expect(readFileSync(cache).length).toBeGreaterThan(10_000);
  });

  it('runs main.js instead of a bundle older than the last compile', async () => {
    const dist = copyOfDist();
    writeFileSync(join(dist, 'main.js'), "console.log('from main.js');\n");
    utimesSync(join(dist, '.tsbuildinfo'), new Date(), new Date(Date.now() + 60_000));
    const { stdout } = await exec(process.execPath, [join(dist, 'bin.js'), '--help']);
    expect(stdout.trim()).toBe('from main.js');
  });
});
