import { useId, useMemo } from 'react';
import { promptPath, withQuery } from '../../api/client';
import type { MetricsResult, MetricsSeries } from '../../api/types';
import { decimal, integer, millis, percent, shortDateTime } from '../../app/format';
import { Link, useSearchParam } from '../../app/router';
import { useApiGet } from '../../app/use-api';
import { KindBadge, LabelChip, Sha } from '../../components/badges';
import { Empty, ErrorNote, Loading } from '../../components/states';
import { MetricChart } from '../../charts/metric-chart';
import { chartMarkers, columnsFor, METRICS, orderedSeries, SERIES_COLORS, seriesName } from '../../charts/metrics-data';

/** Time windows and the bucket width that gives each about 24–30 points. */
const WINDOWS = {
  '24h': { since: '24h', bucket: '1h', text: 'last 24 hours' },
  '7d': { since: '7d', bucket: '6h', text: 'last 7 days' },
  '30d': { since: '30d', bucket: '1d', text: 'last 30 days' },
} as const;
type WindowKey = keyof typeof WINDOWS;
const isWindow = (value: string): value is WindowKey => value in WINDOWS;

/** Per-sha volume, error rate, latency p95 and mean score over time, with the label moves as markers. */
export const MetricsTab = ({
  name,
  window: requested,
  revision,
}: {
  name: string;
  window: string;
  revision: number;
}) => {
  const setParams = useSearchParam();
  const selectId = useId();
  const key: WindowKey = isWindow(requested) ? requested : '7d';
  const { since, bucket } = WINDOWS[key];
  const metrics = useApiGet<MetricsResult>(promptPath(name, '/metrics'), { by: 'sha', since, bucket }, revision);

  return (
    <section aria-labelledby="metrics-title">
      <div className="section-head">
        <h2 id="metrics-title" className="section-title">
          Per-version metrics
        </h2>
        <div className="field field-inline">
          <label htmlFor={selectId} className="field-label">
            Window
          </label>
          <select
            id={selectId}
            className="input"
            value={key}
            onChange={(event) => setParams({ window: event.target.value })}
          >
            {Object.entries(WINDOWS).map(([value, window]) => (
              <option key={value} value={value}>
                {window.text}
              </option>
            ))}
          </select>
        </div>
      </div>
      {metrics.error !== undefined && <ErrorNote error={metrics.error} retry={metrics.reload} />}
      {metrics.loading && <Loading what="metrics" />}
      {metrics.data !== undefined && <MetricsBody name={name} result={metrics.data} />}
    </section>
  );
};

const MetricsBody = ({ name, result }: { name: string; result: MetricsResult }) => {
  const series = useMemo(() => orderedSeries(result), [result]);
  const markers = useMemo(() => chartMarkers(result), [result]);
  const range = useMemo(() => [Date.parse(result.since) / 1000, Date.parse(result.until) / 1000] as const, [result]);
  const styled = useMemo(
    () => series.map((one, index) => ({ name: seriesName(one), color: SERIES_COLORS[index % SERIES_COLORS.length]! })),
    [series],
  );
  const columns = useMemo(() => METRICS.map((metric) => columnsFor(series, metric)), [series]);
  if (series.length === 0) return <Empty>No traces of {name} in this window.</Empty>;
  return (
    <>
      <SeriesTable name={name} series={series} colors={styled.map((one) => one.color)} />
      <div className="charts" data-testid="metrics-charts">
        {METRICS.map((metric, index) => (
          <MetricChart
            key={metric.id}
            testId={`chart-${metric.id}`}
            title={metric.title}
            columns={columns[index]!}
            series={styled}
            markers={markers}
            range={range}
            format={metric.format}
          />
        ))}
      </div>
      <MarkerList markers={markers} />
    </>
  );
};

const SeriesTable = ({
  name,
  series,
  colors,
}: {
  name: string;
  series: readonly MetricsSeries[];
  colors: readonly string[];
}) => (
  <div className="table-scroll">
    <table className="table">
      <caption className="visually-hidden">Totals per version in the window</caption>
      <thead>
        <tr>
          <th scope="col">version</th>
          <th scope="col" className="num">
            calls
          </th>
          <th scope="col" className="num">
            error rate
          </th>
          <th scope="col" className="num">
            p95
          </th>
          <th scope="col" className="num">
            mean score
          </th>
          <th scope="col" className="num">
            thumbs up / down
          </th>
        </tr>
      </thead>
      <tbody>
        {series.map((one, index) => (
          <tr key={one.key ?? 'none'}>
            <th scope="row">
              <span className="swatch" style={{ background: colors[index] }} aria-hidden="true" />
              {one.key === null ? (
                seriesName(one)
              ) : (
                <Link to={withQuery('/traces', { prompt: name, sha: one.key })}>
                  v{one.version} <Sha sha={one.key} />
                </Link>
              )}
            </th>
            <td className="num">{integer(one.totals.count)}</td>
            <td className="num">{percent(one.totals.errorRate)}</td>
            <td className="num">{millis(one.totals.latencyMs.p95)}</td>
            <td className="num">{decimal(one.totals.score.mean)}</td>
            <td className="num">
              {one.totals.thumbs.up} / {one.totals.thumbs.down}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  </div>
);

const MarkerList = ({ markers }: { markers: ReturnType<typeof chartMarkers> }) =>
  markers.length === 0 ? null : (
    <div className="marker-list">
      <h3 className="section-subtitle">Deployments in this window</h3>
      <ul>
        {markers.map((marker) => (
          <li key={marker.id} data-testid="chart-marker">
            <LabelChip label={marker.label} /> <KindBadge kind={marker.kind} />{' '}
            {marker.fromVersion === null ? 'new' : `v${marker.fromVersion}`} → v{marker.toVersion} · {marker.actor} ·{' '}
            {shortDateTime(marker.createdAt)}
          </li>
        ))}
      </ul>
    </div>
  );
