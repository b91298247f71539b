/**
 * How a metrics window [since, until) is read from rollups kept at several grains (e.g. hours and
 * minutes): the largest grain for the whole buckets inside the window, the next one for what is left at
 * each edge, and the raw rows only for the partial buckets of the finest grain (less than one of them at
 * each edge). Every millisecond of the window is in exactly one part.
 */

export interface WindowPart {
  /** The rollup grain the part is read from, or null: read from the raw rows. */
  readonly grainMs: number | null;
  /** Inclusive. */
  readonly fromMs: number;
  /** Exclusive. */
  readonly toMs: number;
}

/** `grains`: largest first, each a multiple of the next. */
export const planRollupWindow = (sinceMs: number, untilMs: number, grains: readonly number[]): WindowPart[] => {
  if (untilMs <= sinceMs) return [];
  const [grain, ...finer] = grains;
  if (grain === undefined) return [{ grainMs: null, fromMs: sinceMs, toMs: untilMs }];
  const from = Math.ceil(sinceMs / grain) * grain;
  const to = Math.floor(untilMs / grain) * grain;
  if (from >= to) return planRollupWindow(sinceMs, untilMs, finer);
  return [
    { grainMs: grain, fromMs: from, toMs: to },
    ...planRollupWindow(sinceMs, from, finer),
    ...planRollupWindow(to, untilMs, finer),
  ];
};
