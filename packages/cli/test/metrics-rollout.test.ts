import { describe, expect, it } from 'vitest';
import { demoServer, run } from './helpers.js';

/** `promptops metrics NAME --by arm --rollout ID`: one series per arm of that rollout, no other traffic. */

describe('promptops metrics --by arm --rollout', () => {
  const demo = demoServer('metrics-rollout');
  const cli = (argv: string[]) => run(argv, { env: demo.env });

  it('charts the arms of one rollout only', async () => {
    const event = (id: string, rollout: string, arm: string, status = 'ok') => ({
      id,
      startedAt: Date.now() - 60_000,
      prompt: { name: 'summarize_ticket', version: 3 },
      rollout: { id: rollout, arm },
      status,
    });
    const response = await fetch(`${demo.env['PROMPTOPS_URL']}/api/v1/ingest`, {
      method: 'POST',
      headers: { authorization: `Bearer ${demo.env['PROMPTOPS_API_KEY']}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        events: [
          event('arm-b1', 'ro_clitestaaaaa', 'baseline'),
          event('arm-b2', 'ro_clitestaaaaa', 'baseline'),
          event('arm-c1', 'ro_clitestaaaaa', 'candidate', 'error'),
          event('arm-x1', 'ro_clitestbbbbb', 'candidate'),
        ],
      }),
    });
    expect(response.status).toBe(200);
    const result = await cli([
      'metrics',
      'summarize_ticket',
      '--by',
      'arm',
      '--rollout',
      'ro_clitestaaaaa',
      '--since',
      '1h',
      '--json',
    ]);
    expect(result.code, result.stderr).toBe(0);
    const metrics = JSON.parse(result.stdout) as { by: string; series: { key: string; totals: { count: number } }[] };
    expect(metrics.by).toBe('arm');
    expect(Object.fromEntries(metrics.series.map((s) => [s.key, s.totals.count]))).toEqual({
      baseline: 2,
      candidate: 1,
    });
  });
});
