import { describe, expect, it } from 'vitest';
import { decide, newRollout, rolloutConfig, srmCounts, transitionRollout } from '../src/index.js';

/** What the SRM check counts: distinct units once traces carry them, else calls; and the reason says which. */

const T0 = new Date('2025-01-01T00:00:00.000Z');
const running = transitionRollout(
  newRollout('ro_srm', rolloutConfig({ mode: 'split', steps: [50, 100], minSamples: 10_000 })),
  'start',
  T0,
);
const at = new Date(T0.getTime() + 60_000);
const none = { count: 0, events: 0 };
const metrics = { error_rate: { baseline: none, candidate: none } };

describe('srmCounts', () => {
  it('counts units when any trace carries one, leaving calls without one out and counted', () => {
    expect(
      srmCounts({
        requests: { baseline: 70, candidate: 40 },
        units: { baseline: 40, candidate: 10 },
        unitless: { baseline: 30, candidate: 0 },
      }),
    ).toEqual({ stepUnits: { baseline: 40, candidate: 10 }, unitsCounted: 'units', callsWithoutUnit: 30 });
  });

  it('falls back to calls when no trace carries a unit', () => {
    const requests = { baseline: 40, candidate: 10 };
    expect(srmCounts({ requests, units: { baseline: 0, candidate: 0 } })).toEqual({
      stepUnits: requests,
      unitsCounted: 'calls',
      callsWithoutUnit: 0,
    });
    expect(srmCounts({ requests }).unitsCounted).toBe('calls');
  });
});

describe('decide on units', () => {
  it('one unit with many calls is no mismatch', () => {
    const decision = decide(
      running,
      {
        stepSamples: { baseline: 20, candidate: 219 },
        ...srmCounts({ requests: { baseline: 20, candidate: 219 }, units: { baseline: 20, candidate: 20 } }),
        metrics,
      },
      at,
    );
    expect(decision).toMatchObject({ action: 'hold', srm: { mismatch: false, counted: 'units' } });
  });

  it('names what it counted in the reason', () => {
    const byUnits = decide(
      running,
      {
        stepSamples: { baseline: 70, candidate: 40 },
        ...srmCounts({
          requests: { baseline: 70, candidate: 40 },
          units: { baseline: 40, candidate: 10 },
          unitless: { baseline: 30, candidate: 0 },
        }),
        metrics,
      },
      at,
    );
    expect(byUnits).toMatchObject({ action: 'pause', cause: 'sample_ratio_mismatch' });
    expect(byUnits.reason).toContain('40 baseline and 10 candidate units (30 calls without a unit left out)');
    const byCalls = decide(
      running,
      {
        stepSamples: { baseline: 40, candidate: 10 },
        ...srmCounts({ requests: { baseline: 40, candidate: 10 } }),
        metrics,
      },
      at,
    );
    expect(byCalls.reason).toContain('40 baseline and 10 candidate calls (no trace carries a unit)');
    expect(byCalls.srm).toMatchObject({ counted: 'calls' });
  });
});
