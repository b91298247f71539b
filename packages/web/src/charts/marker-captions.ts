/**
 * Where each deployment marker's caption goes, above the plot: just right of its line, or, where that would
 * leave the canvas, just left of it (ending at the line, so it still reads as that marker's); in the first
 * row where it overlaps no caption; the full text where it fits, else the shorter one, else none (the list
 * under the charts names every move). Pure: canvas pixels in, boxes out; the chart draws them left-aligned.
 */

export interface CaptionMarker {
  /** The marker's line, in canvas pixels. */
  readonly x: number;
  /** Longest first: e.g. `production → v17`, then `v17`. */
  readonly texts: readonly string[];
}

export interface CaptionLayout {
  /** Caption rows above the plot. */
  readonly rows: number;
  /** From a line to its caption. */
  readonly gap: number;
  /** Least room between two captions of a row. */
  readonly spacing: number;
  /** The canvas's drawable span. */
  readonly minX: number;
  readonly maxX: number;
}

export interface PlacedCaption {
  /** Index of the marker in the input. */
  readonly index: number;
  readonly text: string;
  readonly row: number;
  readonly left: number;
  readonly width: number;
}

export const placeCaptions = (
  markers: readonly CaptionMarker[],
  measure: (text: string) => number,
  layout: CaptionLayout,
): PlacedCaption[] => {
  const rowEnds: number[] = Array.from({ length: layout.rows }, () => -Infinity);
  const placed: PlacedCaption[] = [];
  const order = markers.map((marker, index) => ({ marker, index })).sort((a, b) => a.marker.x - b.marker.x);
  for (const { marker, index } of order) {
    for (const text of marker.texts) {
      const width = measure(text);
      const right = marker.x + layout.gap;
      const left = right + width <= layout.maxX ? right : marker.x - layout.gap - width;
      if (left < layout.minX) continue;
      const row = rowEnds.findIndex((end) => left >= end + layout.spacing);
      if (row < 0) continue;
      rowEnds[row] = left + width;
      placed.push({ index, text, row, left, width });
      break;
    }
  }
  return placed;
};
