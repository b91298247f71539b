import type { DeploymentRecord, MetricsPoint, MetricsResult, MetricsSeries } from '../api/types';
import { shortSha } from '../app/format';

/**
 * Turns the API's per-sha buckets into uPlot's column data: one shared x axis (bucket starts, in seconds)
 * and one column per sha with null where that sha served nothing, so each version's line starts and
 * stops where it was live and lines up with the deployment markers.
 */

export interface MetricDefinition {
  readonly id: string;
  readonly title: string;
  readonly value: (point: MetricsPoint) => number | null;
  readonly format: (value: number) => string;
}

export const METRICS: readonly MetricDefinition[] = [
  {
    id: 'volume',
    title: 'Volume (calls per bucket)',
    value: (point) => point.count,
    format: (value) => String(Math.round(value)),
  },
  {
    id: 'error-rate',
    title: 'Error rate',
    value: (point) => (point.count === 0 ? null : point.errorRate * 100),
    format: (value) => `${value.toFixed(value < 10 ? 1 : 0)} %`,
  },
  {
    id: 'latency-p95',
    title: 'Latency p95',
    value: (point) => point.latencyMs.p95,
    format: (value) => (value >= 1000 ? `${(value / 1000).toFixed(1)} s` : `${Math.round(value)} ms`),
  },
  {
    id: 'mean-score',
    title: 'Mean score (thumbs up = 1)',
    value: (point) => (point.score.count === 0 ? null : point.score.mean),
    format: (value) => value.toFixed(2),
  },
];

export const SERIES_COLORS = ['#1d4ed8', '#b45309', '#047857', '#7c3aed', '#be123c', '#0e7490', '#4d7c0f', '#a21caf'];

export const LABEL_COLORS: Record<string, string> = { production: '#b91c1c', staging: '#a16207' };
export const markerColor = (label: string): string => LABEL_COLORS[label] ?? '#475569';

export const seriesName = (series: MetricsSeries): string =>
  series.key === null ? 'no sha' : `${series.version === null ? '?' : `v${series.version}`} · ${shortSha(series.key)}`;

/** Oldest version first, so colors follow the order versions shipped in. */
export const orderedSeries = (result: MetricsResult): MetricsSeries[] =>
  [...result.series].sort((a, b) => (a.version ?? 0) - (b.version ?? 0));

export type ChartColumns = [number[], ...(number | null)[][]];

export const columnsFor = (series: readonly MetricsSeries[], metric: MetricDefinition): ChartColumns => {
  const starts = [...new Set(series.flatMap((one) => one.points.map((point) => Date.parse(point.start))))].sort(
    (a, b) => a - b,
  );
  const columns = series.map((one) => {
    const byStart = new Map(one.points.map((point) => [Date.parse(point.start), point]));
    return starts.map((start) => {
      const point = byStart.get(start);
      return point === undefined ? null : metric.value(point);
    });
  });
  return [starts.map((ms) => ms / 1000), ...columns];
};

/** Label moves worth drawing: not `latest`, which moves on every push. */
export const chartMarkers = (result: MetricsResult): DeploymentRecord[] =>
  result.markers.filter((marker) => marker.label !== 'latest');
