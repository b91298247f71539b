import { describe, expect, it } from 'vitest';
import type { DeploymentRecord, MetricsPoint, MetricsResult, MetricsSeries } from '../src/api/types';
import { chartMarkers, columnsFor, markerColor, METRICS, orderedSeries, seriesName } from '../src/charts/metrics-data';

/** From the API's per-sha buckets to the charts' columns: one x axis, a null where a sha served nothing. */

const point = (start: string, overrides: Partial<MetricsPoint> = {}): MetricsPoint => ({
  start,
  count: 10,
  errors: 1,
  errorRate: 0.1,
  latencyMs: { p50: 200, p95: 900, p99: 1500 },
  tokens: { input: 100, output: 20 },
  cost: 0.01,
  score: { mean: 0.75, count: 4 },
  thumbs: { up: 3, down: 1 },
  ...overrides,
});

const series = (key: string | null, version: number | null, points: MetricsPoint[]): MetricsSeries => {
  const { start: _start, ...totals } = point('2026-03-10T00:00:00Z');
  return { key, version, totals, points };
};

const metric = (id: string) => METRICS.find((one) => one.id === id)!;

const T0 = '2026-03-10T10:00:00.000Z';
const T1 = '2026-03-10T11:00:00.000Z';
const T2 = '2026-03-10T12:00:00.000Z';
const seconds = (iso: string): number => Date.parse(iso) / 1000;

const move = (id: number, label: string, toVersion: number): DeploymentRecord => ({
  id,
  name: 'greeter',
  label,
  fromSha: null,
  fromVersion: null,
  toSha: String(toVersion).repeat(64).slice(0, 64),
  toVersion,
  kind: 'promote',
  actor: 'alice',
  reason: '',
  createdAt: T1,
});

const result = (all: MetricsSeries[], markers: DeploymentRecord[] = []): MetricsResult => ({
  name: 'greeter',
  by: 'sha',
  since: T0,
  until: T2,
  bucketMs: 3_600_000,
  series: all,
  markers,
});

describe('columnsFor', () => {
  it('shares one sorted x axis in seconds and puts null where a sha served nothing', () => {
    const v17 = series('a'.repeat(64), 17, [point(T1, { count: 4 }), point(T0, { count: 7 })]);
    const v18 = series('b'.repeat(64), 18, [point(T2, { count: 9 }), point(T1, { count: 2 })]);
    expect(columnsFor([v17, v18], metric('volume'))).toEqual([
      [seconds(T0), seconds(T1), seconds(T2)],
      [7, 4, null],
      [null, 2, 9],
    ]);
  });

  it('has only the x axis for no series', () => {
    expect(columnsFor([], metric('volume'))).toEqual([[]]);
  });
});

describe('METRICS', () => {
  it('reads each value from a point, with null where there is nothing to average', () => {
    const busy = point(T0, { count: 8, errorRate: 0.25, score: { mean: 0.5, count: 2 } });
    const idle = point(T0, { count: 0, errorRate: 0, score: { mean: null, count: 0 } });
    expect(metric('volume').value(busy)).toBe(8);
    expect(metric('error-rate').value(busy)).toBe(25);
    expect(metric('error-rate').value(idle)).toBeNull();
    expect(metric('latency-p95').value(busy)).toBe(900);
    expect(metric('latency-p95').value(point(T0, { latencyMs: { p50: null, p95: null, p99: null } }))).toBeNull();
    expect(metric('mean-score').value(busy)).toBe(0.5);
    expect(metric('mean-score').value(idle)).toBeNull();
  });

  it('formats values for the axes and tooltips', () => {
    expect(metric('volume').format(12.4)).toBe('12');
    expect(metric('error-rate').format(2.5)).toBe('2.5 %');
    expect(metric('error-rate').format(25)).toBe('25 %');
    expect(metric('latency-p95').format(950)).toBe('950 ms');
    expect(metric('latency-p95').format(1250)).toBe('1.3 s');
    expect(metric('mean-score').format(0.756)).toBe('0.76');
  });

  it('has distinct ids', () => {
    expect(new Set(METRICS.map((one) => one.id)).size).toBe(METRICS.length);
  });
});

describe('series and markers', () => {
  it('orders series oldest version first, an unknown version first of all', () => {
    const v18 = series('b'.repeat(64), 18, []);
    const v17 = series('a'.repeat(64), 17, []);
    const unknown = series('c'.repeat(64), null, []);
    expect(orderedSeries(result([v18, v17, unknown]))).toEqual([unknown, v17, v18]);
  });

  it('names a series by version and short sha', () => {
    expect(seriesName(series('6f1e2d3c'.repeat(8), 17, []))).toBe('v17 · 6f1e2d3');
    expect(seriesName(series('6f1e2d3c'.repeat(8), null, []))).toBe('? · 6f1e2d3');
    expect(seriesName(series(null, null, []))).toBe('no sha');
  });

  it('draws every label move but latest', () => {
    const moves = [move(1, 'latest', 18), move(2, 'staging', 18), move(3, 'production', 18)];
    expect(chartMarkers(result([], moves)).map((one) => one.id)).toEqual([2, 3]);
  });

  it('colors production and staging markers apart from the rest', () => {
    expect(markerColor('production')).not.toBe(markerColor('staging'));
    expect(markerColor('canary')).toBe(markerColor('beta'));
    expect(markerColor('canary')).not.toBe(markerColor('production'));
  });
});
