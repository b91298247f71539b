import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { fakeFetch, run, tempDir, writeAt } from './helpers.js';

/** `promptops init` keeps `.promptops/` (eval cache, credentials) out of git. */

const offline = fakeFetch(500, { error: { code: 'internal', message: 'init must not call the server' } });

describe('promptops init and .gitignore', () => {
  let dir: string;
  const cli = (argv: string[]) => run(argv, { cwd: dir, env: {}, fetch: offline });
  const gitignore = () => readFile(join(dir, '.gitignore'), 'utf8');
  beforeEach(async () => {
    dir = await tempDir('promptops-init-ignore-');
  });

  it('creates .gitignore with .promptops/ when there is none', async () => {
    const result = await cli(['init']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain('created .gitignore\n');
    expect((await gitignore()).split('\n')).toContain('.promptops/');
  });

  it('appends .promptops/ to an existing .gitignore, keeping what it had', async () => {
    await writeAt(dir, '.gitignore', 'node_modules/\ndist');
    const result = await cli(['init', '--json']);
    expect(result.json<{ files: unknown[] }>().files).toContainEqual({ file: '.gitignore', status: 'updated' });
    const text = await gitignore();
    expect(text.startsWith('node_modules/\ndist\n')).toBe(true);
    expect(text.split('\n')).toContain('.promptops/');
  });

  it('leaves a .gitignore that already ignores .promptops alone', async () => {
    for (const line of ['.promptops', '/.promptops/', '.promptops/']) {
      await writeAt(dir, '.gitignore', `node_modules/\n${line}\n`);
      const result = await cli(['init', '--force', '--json']);
      expect(result.json<{ files: unknown[] }>().files).toContainEqual({ file: '.gitignore', status: 'unchanged' });
      expect(await gitignore()).toBe(`node_modules/\n${line}\n`);
    }
  });
});
