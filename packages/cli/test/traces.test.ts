import { describe, expect, it } from 'vitest';
import { demoServer, run } from './helpers.js';

/** `promptops trace`, `traces` and `metrics` against a real server holding the demo's week of traces. */

describe('promptops trace / traces / metrics (demo data)', () => {
  const demo = demoServer('traces');
  const cli = (argv: string[]) => run(argv, { env: demo.env });

  it('trace 4481: the complaint names v18, its sha and label, shows the removed line and the rollback command', async () => {
    const human = await cli(['trace', '4481']);
    expect(human.code, human.stderr).toBe(0);
    expect(human.stdout).toContain('customer_support_greeter@v18');
    expect(human.stdout).toMatch(/label\s+production/);
    expect(human.stdout).toContain('what changed from v17 to v18:');
    expect(human.stdout).toContain('-Always greet the user by name.');
    expect(human.stdout).toContain('promptops rollback customer_support_greeter --label production --to v17');
    expect(human.stdout).toContain('did not greet me by name');

    const json = await cli(['trace', '4481', '--json']);
    const body = json.json<{
      trace: { prompt: { version: number; sha: string }; tenant: string };
      rollbackCommand: string;
      parent: { version: number };
    }>();
    expect(body.trace.prompt).toMatchObject({ version: 18, sha: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect(body.parent.version).toBe(17);
    expect(body.rollbackCommand).toBe('promptops rollback customer_support_greeter --label production --to v17');

    const missing = await cli(['trace', 'no-such-trace']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain("no trace with id 'no-such-trace'");
  });

  it('traces: filters and follows the cursor past one page', async () => {
    const json = await cli([
      'traces',
      '--prompt',
      'customer_support_greeter',
      '--since',
      '7d',
      '--limit',
      '700',
      '--json',
    ]);
    expect(json.code, json.stderr).toBe(0);
    const { traces } = json.json<{ traces: { id: string; startedAt: string; prompt: { sha: string } }[] }>();
    expect(traces).toHaveLength(700);
    expect(new Set(traces.map((t) => t.id)).size).toBe(700);
    const sha = traces[0]!.prompt.sha;
    const errors = await cli(['traces', '--sha', sha.slice(0, 8), '--status', 'error', '--since', '7d', '--json']);
    const failed = errors.json<{ traces: { status: string; prompt: { sha: string } }[] }>().traces;
    expect(failed.length).toBeGreaterThan(0);
    expect(failed.every((t) => t.status === 'error' && t.prompt.sha === sha)).toBe(true);
    const table = await cli(['traces', '--tenant', 'acme', '--limit', '5']);
    expect(table.stdout.split('\n')[0]).toMatch(/when\s+id\s+prompt\s+sha\s+label\s+tenant/);
    expect(table.stdout.trim().split('\n')).toHaveLength(6);
    expect((await cli(['traces', '--sha', 'xyz'])).code).toBe(2);
    expect((await cli(['traces', '--status', 'maybe'])).code).toBe(2);
  });

  it('metrics: complaints began when production moved to v18', async () => {
    const json = await cli(['metrics', 'customer_support_greeter', '--since', '7d', '--json']);
    expect(json.code, json.stderr).toBe(0);
    const metrics = json.json<{
      series: {
        version: number;
        totals: { count: number; thumbs: { up: number; down: number }; latencyMs: { p50: number } };
      }[];
      markers: { label: string; fromVersion: number; toVersion: number }[];
    }>();
    const byVersion = new Map(metrics.series.map((s) => [s.version, s.totals]));
    const v17 = byVersion.get(17)!;
    const v18 = byVersion.get(18)!;
    const downRate = (t: { thumbs: { up: number; down: number } }) => t.thumbs.down / (t.thumbs.up + t.thumbs.down);
    expect(downRate(v18)).toBeGreaterThan(3 * downRate(v17));
    expect(v17.latencyMs.p50).toBeGreaterThan(0);
    expect(metrics.markers).toContainEqual(
      expect.objectContaining({ label: 'production', fromVersion: 17, toVersion: 18 }),
    );

    const human = await cli(['metrics', 'customer_support_greeter', '--since', '7d']);
    expect(human.stdout).toContain('>> production: v17 -> v18');
    expect(human.stdout).toMatch(/v18 [0-9a-f]{7}: \d+ calls/);
  });
});
