import { describe, expect, it } from 'vitest';
import { demoServer, run } from './helpers.js';

/** `promptops metrics` reads cleanly: short sha column, no `v-`, `1 call`. */

describe('promptops metrics output (demo data)', () => {
  const demo = demoServer('metrics-polish');
  const cli = (argv: string[]) => run(argv, { env: demo.env });

  it('keeps the sha column as wide as a version and short sha, and names a label that had no version', async () => {
    const result = await cli(['metrics', 'customer_support_greeter', '--by', 'sha', '--since', '30d']);
    expect(result.code, result.stderr).toBe(0);
    const header = result.stdout.split('\n')[1]!;
    // "v17 6504af8" is 11 characters: the column is that wide plus the two-space gap, not a marker's width.
    expect(header).toMatch(/^bucket\s+sha {10}count\s/);
    const marker = result.stdout.split('\n').find((line) => line.includes('>> staging:'));
    expect(marker).toMatch(/>> staging: \(none\) -> v17 \(promote by \w+\)$/);
    expect(result.stdout).not.toContain('v-');
  });

  it('says "1 call", not "1 calls"', async () => {
    const response = await fetch(`${demo.env['PROMPTOPS_URL']}/api/v1/ingest`, {
      method: 'POST',
      headers: { authorization: `Bearer ${demo.env['PROMPTOPS_API_KEY']}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        events: [{ id: 'one-call', startedAt: Date.now() - 60_000, prompt: { name: 'summarize_ticket', version: 3 } }],
      }),
    });
    expect(response.status).toBe(200);
    const result = await cli(['metrics', 'summarize_ticket', '--by', 'label', '--since', '1h']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/\(none\): 1 call, errors/);
    // Not "1 calls" (the demo's busier labels print e.g. "121 calls", which is right).
    expect(result.stdout).not.toMatch(/(^|[^0-9])1 calls/);
  });
});
