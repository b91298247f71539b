import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { planRollupWindow } from '../src/index.js';

const MINUTE = 60_000;
const HOUR = 3_600_000;

describe('planRollupWindow', () => {
  it('covers the window exactly once, with aligned whole buckets and raw pieces shorter than a minute', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 10 * 86_400_000 }),
        fc.integer({ min: 1, max: 3 * 86_400_000 }),
        fc.constantFrom([HOUR, MINUTE], [MINUTE], [] as number[]),
        (since, length, grains) => {
          const until = since + length;
          const parts = planRollupWindow(since, until, grains);
          const sorted = [...parts].sort((a, b) => a.fromMs - b.fromMs);
          expect(sorted[0]?.fromMs).toBe(since);
          expect(sorted.at(-1)?.toMs).toBe(until);
          sorted.forEach((part, i) => {
            expect(part.toMs).toBeGreaterThan(part.fromMs);
            if (i > 0) expect(part.fromMs).toBe(sorted[i - 1]!.toMs);
            if (part.grainMs === null) {
              if (grains.length > 0) expect(part.toMs - part.fromMs).toBeLessThan(MINUTE);
            } else {
              expect(part.fromMs % part.grainMs).toBe(0);
              expect(part.toMs % part.grainMs).toBe(0);
            }
          });
          // At most two pieces per finer level: the edges.
          expect(parts.filter((p) => p.grainMs === null).length).toBeLessThanOrEqual(2);
          expect(parts.filter((p) => p.grainMs === MINUTE).length).toBeLessThanOrEqual(2);
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('reads a 7-day window as hours, minutes at the edges, raw at the partial minutes', () => {
    const since = Date.UTC(2025, 0, 1, 10, 30, 15);
    const until = since + 7 * 86_400_000;
    expect(planRollupWindow(since, until, [HOUR, MINUTE])).toEqual([
      { grainMs: HOUR, fromMs: Date.UTC(2025, 0, 1, 11), toMs: Date.UTC(2025, 0, 8, 10) },
      { grainMs: MINUTE, fromMs: Date.UTC(2025, 0, 1, 10, 31), toMs: Date.UTC(2025, 0, 1, 11) },
      { grainMs: null, fromMs: since, toMs: Date.UTC(2025, 0, 1, 10, 31) },
      { grainMs: MINUTE, fromMs: Date.UTC(2025, 0, 8, 10), toMs: Date.UTC(2025, 0, 8, 10, 30) },
      { grainMs: null, fromMs: Date.UTC(2025, 0, 8, 10, 30), toMs: until },
    ]);
  });
});
