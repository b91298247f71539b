import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { StoredDriftReport } from '@promptops/core';
import { describe, expect, it } from 'vitest';
import { DEMO_DRIFT_SUITE_FILE } from '../../server/src/demo/drift.js';
import { demoServer, run, tempDir } from './helpers.js';

/**
 * `promptops drift` against the demo: v18 stopped naming the customer (exit 1, the verdict first), a
 * version compared with itself has not drifted (exit 0), a missing run is run here from the local suite
 * file and recorded, and usage mistakes exit 2.
 */

const GREETER = 'customer_support_greeter';

describe('promptops drift (demo data)', () => {
  const demo = demoServer('drift');
  const cli = (argv: string[], cwd?: string) => run(['drift', ...argv], { env: demo.env, ...(cwd ? { cwd } : {}) });

  it('prints the verdict first and the table, and exits 1 when B drifted', async () => {
    const result = await cli([GREETER, 'v17', 'v18', '--suite', 'greeter-customers']);
    expect(result.code, result.stderr).toBe(1);
    const lines = result.stdout.split('\n');
    expect(lines[0]).toMatch(
      /^v18 drifted: outputs mention the user's name 0 % vs 100 % of the time \(20 paired cases, p < 0\.001\)/,
    );
    expect(result.stdout).toMatch(/^descriptor\s+v17\s+v18\s+difference \[CI\]/m);
    expect(result.stdout).toMatch(/^mentions\.user_name\s+100 %\s+0 %/m);
    expect(result.stdout).toContain('Pairs that differ most:');
    expect(result.stdout).toMatch(/stored as drift report #\d+/);

    const json = await cli([GREETER, 'v17', 'v18', '--suite', 'greeter-customers', '--json']);
    expect(json.code).toBe(1);
    const stored = json.json<StoredDriftReport>();
    expect(stored).toMatchObject({ prompt: GREETER, drifted: true, source: 'offline', a: { version: 17 } });
    expect(stored.report.format).toBe('promptops.drift/1');
  });

  it('exits 0 when nothing drifted', async () => {
    const result = await cli([GREETER, 'v17', 'v17', '--suite', 'greeter-customers']);
    expect(result.code, result.stdout + result.stderr).toBe(0);
    expect(result.stdout.split('\n')[0]).toMatch(/^v17 did not drift/);
  });

  it('runs a missing suite run from the local suite file, records it, then compares', async () => {
    const refused = await cli([GREETER, 'v16', 'v17', '--suite', 'greeter-customers', '--no-run']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('no recorded run on v16');
    expect(refused.stderr).toContain(`promptops drift ${GREETER} v16 v17 --suite greeter-customers`);

    const dir = await tempDir();
    await mkdir(join(dir, 'evals'));
    await writeFile(join(dir, 'evals', 'greeter-customers.eval.yaml'), DEMO_DRIFT_SUITE_FILE);
    const result = await cli([GREETER, 'v16', 'v17', '--suite', 'greeter-customers', '--json'], dir);
    expect(result.stderr).toContain('running greeter-customers on customer_support_greeter v16');
    expect([0, 1]).toContain(result.code);
    expect(result.json<StoredDriftReport>()).toMatchObject({ a: { version: 16 }, b: { version: 17 } });
    const runs = await run(['runs', 'list', '--json', '--prompt', GREETER], { env: demo.env });
    expect(runs.stdout).toContain('"version": 16');
  });

  it('reports a shadow rollout’s pairs with --rollout, the versions taken from the rollout', async () => {
    const result = await cli([GREETER, '--rollout', 'ro_shadowgreetr']);
    expect(result.code, result.stderr).toBe(1);
    expect(result.stdout.split('\n')[0]).toMatch(
      /^v18 drifted: .*mention the user's name 0 % vs 100 % of the time \(\d+ paired cases/,
    );
    const json = await cli([GREETER, 'v17', 'v18', '--rollout', 'ro_shadowgreetr', '--json']);
    expect(json.code).toBe(1);
    expect(json.json<StoredDriftReport>()).toMatchObject({
      source: 'shadow',
      a: { version: 17 },
      b: { version: 18 },
      report: { paired: true, source: 'shadow' },
    });
  });

  it('exits 2 on usage mistakes', async () => {
    expect((await cli([GREETER, 'v17', 'v18'])).code).toBe(2);
    expect((await cli([GREETER, 'v17', 'v18', '--suite', 's', '--window', '24h'])).code).toBe(2);
    expect((await cli([GREETER, '--suite', 's'])).code).toBe(2);
    expect((await cli([GREETER, 'v17', 'v18', '--suite', 's', '--rollout', 'ro_x'])).code).toBe(2);
    const window = await cli([GREETER, 'v17', 'v18', '--window', 'soon']);
    expect(window.code).toBe(2);
    expect(window.stderr).toContain('not a duration');
    const help = await run(['drift', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Exit codes: 0 no drift, 1 drift found');
  });
});
