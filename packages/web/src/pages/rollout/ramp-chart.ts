import type { RampSpan } from '@promptops/core';

/**
 * The ramp over time as a step line (no chart library: a few spans): x is time from the start to `endMs`
 * (the rollout's end, or now), y the share in % (0 at the bottom). Each span is a flat segment; a change
 * of ramp is a vertical jump at its time.
 */

export interface RampGeometry {
  /** An SVG path: M, then H/V moves. Empty with no spans. */
  readonly path: string;
  /** Where each span starts, for markers and their titles. */
  readonly points: readonly { readonly x: number; readonly y: number; readonly span: RampSpan }[];
}

export const rampGeometry = (
  spans: readonly RampSpan[],
  endMs: number,
  size: { readonly width: number; readonly height: number; readonly pad: number },
): RampGeometry => {
  if (spans.length === 0) return { path: '', points: [] };
  const startMs = Date.parse(spans[0]!.at);
  const lastMs = Math.max(endMs, Date.parse(spans.at(-1)!.at), startMs + 1);
  const { width, height, pad } = size;
  const x = (ms: number): number => pad + ((ms - startMs) / (lastMs - startMs)) * (width - 2 * pad);
  const y = (ramp: number): number => height - pad - (Math.min(100, Math.max(0, ramp)) / 100) * (height - 2 * pad);
  const round = (value: number): number => Math.round(value * 10) / 10;
  const points = spans.map((span) => ({ x: round(x(Date.parse(span.at))), y: round(y(span.ramp)), span }));
  let path = `M${points[0]!.x},${points[0]!.y}`;
  for (const point of points.slice(1)) path += ` H${point.x} V${point.y}`;
  path += ` H${round(x(lastMs))}`;
  return { path, points };
};
