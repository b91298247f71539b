import { useEffect, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import type { DeploymentRecord } from '../api/types';
import type { ChartColumns } from './metrics-data';
import { placeCaptions } from './marker-captions';
import { markerColor } from './metrics-data';

/**
 * One time-series chart (uPlot: canvas, ~50 kB, fast with thousands of points) with the label's deployments
 * drawn as dashed vertical markers, so a regression lines up with the move that caused it.
 */

const HEIGHT = 220;

interface ChartSeries {
  readonly name: string;
  readonly color: string;
}

/** Room above the plot for the marker captions: two rows, so neighbouring moves do not overprint. */
const CAPTION_ROWS = 2;
const CAPTION_ROW_PX = 15;
const CAPTION_FONT_PX = 11;

/** A marker of any kind: a label move, or an incident's timeline entry. */
export interface ChartEvent {
  readonly id: number | string;
  readonly at: string;
  readonly color: string;
  /** Longest first; the caption placer takes the first that fits. */
  readonly texts: readonly string[];
}

const deploymentEvent = (marker: DeploymentRecord): ChartEvent => ({
  id: marker.id,
  at: marker.createdAt,
  color: markerColor(marker.label),
  texts: [`${marker.label} → v${marker.toVersion}`, `v${marker.toVersion}`],
});

const drawMarkers = (plot: uPlot, markers: readonly ChartEvent[]): void => {
  const { ctx, bbox } = plot;
  const ratio = devicePixelRatio;
  const [min, max] = [plot.scales['x']?.min ?? 0, plot.scales['x']?.max ?? 0];
  ctx.save();
  ctx.font = `${CAPTION_FONT_PX * ratio}px system-ui, sans-serif`;
  // uPlot leaves the alignment of its last axis label (right or center) on the context.
  ctx.textAlign = 'left';
  ctx.textBaseline = 'top';
  const inWindow = markers
    .map((marker) => ({ marker, at: Date.parse(marker.at) / 1000 }))
    .filter(({ at }) => at >= min && at <= max)
    .map(({ marker, at }) => ({ marker, x: Math.round(plot.valToPos(at, 'x', true)) }));
  for (const { marker, x } of inWindow) {
    ctx.strokeStyle = marker.color;
    ctx.lineWidth = 1.5 * ratio;
    ctx.setLineDash([5 * ratio, 4 * ratio]);
    ctx.beginPath();
    ctx.moveTo(x, bbox.top - 2 * ratio);
    ctx.lineTo(x, bbox.top + bbox.height);
    ctx.stroke();
  }
  const captions = placeCaptions(
    inWindow.map(({ marker, x }) => ({ x, texts: marker.texts })),
    (text) => ctx.measureText(text).width,
    { rows: CAPTION_ROWS, gap: 3 * ratio, spacing: 6 * ratio, minX: 0, maxX: ctx.canvas.width - ratio },
  ).map((caption) => {
    const { marker, x } = inWindow[caption.index]!;
    const color = marker.color;
    const top = bbox.top - (CAPTION_ROWS - caption.row) * CAPTION_ROW_PX * ratio;
    ctx.fillStyle = color;
    ctx.fillText(caption.text, caption.left, top);
    const { text, left, width } = caption;
    return { id: marker.id, text, x, left, top, width, height: CAPTION_FONT_PX * ratio, color };
  });
  ctx.restore();
  plot.root.dataset['markers'] = String(inWindow.length);
  // Where each caption went, in canvas pixels (the end-to-end tests check them against the canvas).
  plot.root.dataset['captions'] = JSON.stringify(captions);
};

export const MetricChart = ({
  title,
  columns,
  series,
  markers,
  events,
  range,
  format,
  testId,
}: {
  title: string;
  columns: ChartColumns;
  series: readonly ChartSeries[];
  markers: readonly DeploymentRecord[];
  /** Drawn like the markers, after them (an incident's timeline). */
  events?: readonly ChartEvent[];
  range: readonly [number, number];
  format: (value: number) => string;
  testId: string;
}) => {
  const container = useRef<HTMLDivElement>(null);

  useEffect(() => {
    const element = container.current;
    if (element === null) return;
    const options: uPlot.Options = {
      width: Math.max(element.clientWidth, 200),
      height: HEIGHT,
      padding: [CAPTION_ROWS * CAPTION_ROW_PX + 4, 24, 0, 0],
      scales: { x: { time: true, range: () => [range[0], range[1]] } },
      series: [
        { label: 'time' },
        ...series.map((one) => ({
          label: one.name,
          stroke: one.color,
          width: 2,
          spanGaps: false,
          points: { size: 5, fill: one.color },
          value: (_plot: uPlot, value: number | null) => (value === null ? '–' : format(value)),
        })),
      ],
      axes: [
        { stroke: '#475569', grid: { stroke: '#e2e8f0' }, ticks: { stroke: '#cbd5e1' } },
        {
          stroke: '#475569',
          size: 60,
          grid: { stroke: '#e2e8f0' },
          ticks: { stroke: '#cbd5e1' },
          values: (_plot, ticks) => ticks.map(format),
        },
      ],
      legend: { show: true, live: true },
      cursor: { drag: { x: false, y: false } },
      hooks: { draw: [(plot) => drawMarkers(plot, [...markers.map(deploymentEvent), ...(events ?? [])])] },
    };
    const plot = new uPlot(options, columns as uPlot.AlignedData, element);
    // Follow the container's width: laptop and phone layouts both fill the column.
    const resize = new ResizeObserver(() =>
      plot.setSize({ width: Math.max(element.clientWidth, 200), height: HEIGHT }),
    );
    resize.observe(element);
    return () => {
      resize.disconnect();
      plot.destroy();
    };
  }, [columns, series, markers, events, range, format]);

  return (
    <figure className="chart" data-testid={testId}>
      <figcaption className="chart-title">{title}</figcaption>
      <div ref={container} className="chart-canvas" role="img" aria-label={`${title} per version over time`} />
    </figure>
  );
};
