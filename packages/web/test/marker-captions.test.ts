import { describe, expect, it } from 'vitest';
import { placeCaptions, type CaptionLayout } from '../src/charts/marker-captions';

/** 6 px a character, like an 11 px sans-serif roughly. */
const measure = (text: string): number => text.length * 6;
const layout: CaptionLayout = { rows: 2, gap: 3, spacing: 6, minX: 0, maxX: 500 };
const texts = (label: string, version: number) => [`${label} → v${version}`, `v${version}`];

describe('placeCaptions', () => {
  it('puts a caption just right of its line', () => {
    expect(placeCaptions([{ x: 100, texts: texts('production', 17) }], measure, layout)).toEqual([
      { index: 0, text: 'production → v17', row: 0, left: 103, width: 96 },
    ]);
  });

  it('ends a caption at its own line where the right edge is near, never past the canvas', () => {
    // The demo after a rollback: the rollback's line is at the right edge, the break glass 100 px before it.
    const placed = placeCaptions(
      [
        { x: 380, texts: texts('production', 18) },
        { x: 490, texts: texts('production', 17) },
      ],
      measure,
      layout,
    );
    const rollback = placed.find((caption) => caption.index === 1)!;
    expect(rollback.left + rollback.width).toBe(490 - 3);
    expect(rollback.left + rollback.width).toBeLessThanOrEqual(layout.maxX);
    // It overlaps the break glass's caption in row 0, so it takes row 1 rather than sit beside the wrong line.
    expect(rollback.row).toBe(1);
    for (const caption of placed) {
      expect(caption.left).toBeGreaterThanOrEqual(layout.minX);
      expect(caption.left + caption.width).toBeLessThanOrEqual(layout.maxX);
    }
  });

  it('keeps captions of a row apart, falls back to the version, then to none', () => {
    const placed = placeCaptions(
      [10, 20, 30, 40].map((x, i) => ({ x, texts: texts('staging', i + 1) })),
      measure,
      layout,
    );
    expect(placed.map(({ index, text, row }) => [index, text, row])).toEqual([
      [0, 'staging → v1', 0],
      [1, 'staging → v2', 1],
    ]);
    const roomy = placeCaptions(
      [10, 20, 200].map((x, i) => ({ x, texts: texts('staging', i + 1) })),
      measure,
      { ...layout, rows: 3 },
    );
    expect(roomy.map(({ text, row }) => [text, row])).toEqual([
      ['staging → v1', 0],
      ['staging → v2', 1],
      ['staging → v3', 0],
    ]);
    const rows = new Map<number, [number, number][]>();
    for (const caption of [...placed, ...roomy]) {
      expect(caption.left).toBeGreaterThanOrEqual(0);
    }
    for (const caption of roomy)
      rows.set(caption.row, [...(rows.get(caption.row) ?? []), [caption.left, caption.left + caption.width]]);
    for (const spans of rows.values()) {
      spans.sort((a, b) => a[0] - b[0]);
      for (let i = 1; i < spans.length; i += 1) expect(spans[i]![0]).toBeGreaterThanOrEqual(spans[i - 1]![1] + 6);
    }
  });

  it('uses the short text where only it fits, and drops a caption that fits nowhere', () => {
    const narrow = { ...layout, maxX: 60 };
    expect(placeCaptions([{ x: 50, texts: texts('production', 17) }], measure, narrow)).toEqual([
      { index: 0, text: 'v17', row: 0, left: 50 - 3 - 18, width: 18 },
    ]);
    expect(placeCaptions([{ x: 5, texts: ['a very long caption'] }], measure, { ...layout, maxX: 40 })).toEqual([]);
  });

  it('reports captions by input index, whatever the input order', () => {
    const placed = placeCaptions(
      [
        { x: 300, texts: ['b'] },
        { x: 100, texts: ['a'] },
      ],
      measure,
      layout,
    );
    expect(placed.map(({ index, text }) => [index, text])).toEqual([
      [1, 'a'],
      [0, 'b'],
    ]);
  });
});
