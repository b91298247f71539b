import { describe, expect, it } from 'vitest';
import type { RampSpan } from '@promptops/core';
import { rampGeometry } from '../src/pages/rollout/ramp-chart';

const span = (minute: number, ramp: number, state: RampSpan['state'] = 'running'): RampSpan => ({
  at: new Date(Date.UTC(2025, 0, 1, 0, minute)).toISOString(),
  ramp,
  state,
  stepIndex: 0,
  action: 'advance',
  actor: 'system:rollouts',
});

const size = { width: 120, height: 120, pad: 10 };

describe('rampGeometry: the ramp as a step line', () => {
  it('steps up at each change and runs flat to the end; 0 % at the bottom, 100 % at the top', () => {
    const end = Date.UTC(2025, 0, 1, 0, 100);
    const chart = rampGeometry([span(0, 1), span(50, 50), span(75, 100, 'completed')], end, size);
    expect(chart.path).toBe('M10,109 H60 V60 H85 V10 H110');
    expect(chart.points.map((p) => [p.x, p.y])).toEqual([
      [10, 109],
      [60, 60],
      [85, 10],
    ]);
  });

  it('an abort drops to 0; no spans, no path; one span at the end time still draws', () => {
    const end = Date.UTC(2025, 0, 1, 0, 10);
    expect(rampGeometry([span(0, 25), span(10, 0, 'aborted')], end, size).path).toBe('M10,85 H110 V110 H110');
    expect(rampGeometry([], end, size)).toEqual({ path: '', points: [] });
    expect(rampGeometry([span(10, 5)], end, size).path).toBe('M10,105 H110');
  });
});
