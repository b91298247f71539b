import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';

/** The built binary (`npm test` builds first; locally: `npx tsc -b packages/cli`). */
const BIN = fileURLToPath(new URL('../dist/bin.js', import.meta.url));
const exec = promisify(execFile);

describe('dist/bin.js', () => {
  beforeAll(() => {
    if (!existsSync(BIN))
      throw new Error(`${BIN} is missing: build first (npm test builds; or npx tsc -b packages/cli)`);
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
});
