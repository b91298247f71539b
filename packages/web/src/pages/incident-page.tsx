import { useEffect, useMemo, useState } from 'react';
import { API_BASE, promptPath } from '../api/client';
import type { MetricsResult } from '../api/types';
import { dateTime, decimal, integer, percent } from '../app/format';
import { Link } from '../app/router';
import { useSession } from '../app/session';
import { useNotify } from '../app/toasts';
import { useApiGet } from '../app/use-api';
import { MetricChart } from '../charts/metric-chart';
import { chartMarkers, columnsFor, METRICS, orderedSeries, SERIES_COLORS, seriesName } from '../charts/metrics-data';
import { LabelChip, Sha, When } from '../components/badges';
import { Empty, ErrorNote, Loading } from '../components/states';
import { useLabelEvents } from '../live/live-feed';
import {
  canActOnIncidents,
  chartWindow,
  duration,
  KIND_TEXT,
  timelineMarkers,
  type IncidentDetail,
  type IncidentListItem,
} from './incident/incident-view';
import { IncidentState } from './incidents-page';

/** The charts worth reading during an incident: how much, how wrong, how good. */
const INCIDENT_METRICS = METRICS.filter((metric) => ['volume', 'error-rate', 'mean-score'].includes(metric.id));

/** Acknowledge and resolve: editors and up (whoever is on call); the server checks `incidents:write`. */
const Actions = ({ incident, onDone }: { incident: IncidentListItem; onDone: () => void }) => {
  const { api, me } = useSession();
  const notify = useNotify();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<Error | undefined>(undefined);
  if (!canActOnIncidents(me.role) || incident.state === 'resolved') return null;
  const act = async (action: 'ack' | 'resolve') => {
    setBusy(true);
    setError(undefined);
    try {
      await api.post(`/incidents/${incident.id}/${action}`, {});
      notify(action === 'ack' ? 'Incident acknowledged' : 'Incident resolved', 'success');
      onDone();
    } catch (caught) {
      setError(caught instanceof Error ? caught : new Error(String(caught)));
    } finally {
      setBusy(false);
    }
  };
  return (
    <div className="rollout-actions" data-testid="incident-actions">
      {incident.state === 'open' && (
        <button type="button" className="button" disabled={busy} onClick={() => void act('ack')}>
          Acknowledge
        </button>
      )}
      <button type="button" className="button button-primary" disabled={busy} onClick={() => void act('resolve')}>
        Resolve
      </button>
      {error !== undefined && <ErrorNote error={error} />}
    </div>
  );
};

/** The postmortem draft is Markdown behind the key: fetched on demand, shown, and offered as a file. */
const Postmortem = ({ id, revision }: { id: number; revision: string }) => {
  const { api } = useSession();
  const [text, setText] = useState<string | undefined>(undefined);
  const [error, setError] = useState<Error | undefined>(undefined);
  const url = useMemo(
    () => (text === undefined ? undefined : URL.createObjectURL(new Blob([text], { type: 'text/markdown' }))),
    [text],
  );
  useEffect(() => () => (url === undefined ? undefined : URL.revokeObjectURL(url)), [url]);
  useEffect(() => setText(undefined), [revision]);
  const load = async () => {
    setError(undefined);
    try {
      const response = await fetch(`${API_BASE}/incidents/${id}/postmortem`, {
        headers: { authorization: `Bearer ${api.key}` },
      });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      setText(await response.text());
    } catch (caught) {
      setError(caught instanceof Error ? caught : new Error(String(caught)));
    }
  };
  return (
    <section aria-labelledby="postmortem-title">
      <h2 id="postmortem-title">Postmortem</h2>
      {text === undefined ? (
        <button type="button" className="button" onClick={() => void load()} data-testid="postmortem-load">
          Draft the postmortem (Markdown)
        </button>
      ) : (
        <>
          <p>
            <a href={url} download={`incident-${id}-postmortem.md`} data-testid="postmortem-link">
              incident-{id}-postmortem.md
            </a>{' '}
            <span className="muted">(also: promptops incident postmortem {id})</span>
          </p>
          <pre className="postmortem" data-testid="postmortem">
            {text}
          </pre>
        </>
      )}
      {error !== undefined && <ErrorNote error={error} retry={() => void load()} />}
    </section>
  );
};

const Figures = ({ detail }: { detail: IncidentDetail }) => {
  const { figures } = detail;
  return (
    <dl className="facts" data-testid="incident-figures">
      <dt>Time to detect</dt>
      <dd>{duration(figures.timeToDetectMs)}</dd>
      <dt>Time to mitigate</dt>
      <dd>{duration(figures.timeToMitigateMs)}</dd>
      <dt>Time to recover</dt>
      <dd data-testid="time-to-recover">{duration(figures.timeToRecoverMs)}</dd>
      <dt>Traces affected</dt>
      <dd>
        {integer(figures.tracesAffected)} ({percent(figures.shareAffected)} of the label&apos;s)
      </dd>
      <dt>Mean score before / during / after</dt>
      <dd>
        {decimal(figures.scores.before)} / {decimal(figures.scores.during)} / {decimal(figures.scores.after)}
      </dd>
      {detail.conditions.length > 0 && (
        <>
          <dt>Monitor conditions</dt>
          <dd>{detail.conditions.join(', ')}</dd>
        </>
      )}
    </dl>
  );
};

const Timeline = ({ detail }: { detail: IncidentDetail }) => (
  <ol className="incident-timeline" data-testid="incident-timeline">
    {detail.timeline.map((entry, index) => (
      <li key={index} data-kind={entry.kind}>
        <strong>{KIND_TEXT[entry.kind]}</strong>{' '}
        <time dateTime={entry.at} title={entry.at}>
          {dateTime(entry.at)}
        </time>
        {entry.actor !== null && <> · {entry.actor}</>}: {entry.text}
      </li>
    ))}
  </ol>
);

/** The prompt's per-sha charts around the story, the timeline drawn over them as markers. */
const TimelineCharts = ({ detail }: { detail: IncidentDetail }) => {
  const { incident, timeline } = detail;
  const window = useMemo(() => chartWindow(timeline, incident.openedAt, Date.now()), [timeline, incident.openedAt]);
  const metrics = useApiGet<MetricsResult>(promptPath(incident.promptName, '/metrics'), { by: 'sha', ...window });
  const events = useMemo(() => timelineMarkers(timeline), [timeline]);
  const result = metrics.data;
  const series = useMemo(() => (result === undefined ? [] : orderedSeries(result)), [result]);
  const markers = useMemo(
    () => (result === undefined ? [] : chartMarkers(result).filter((marker) => marker.label === incident.label)),
    [result, incident.label],
  );
  const range = useMemo(
    () =>
      result === undefined
        ? ([0, 0] as const)
        : ([Date.parse(result.since) / 1000, Date.parse(result.until) / 1000] as const),
    [result],
  );
  const styled = useMemo(
    () => series.map((one, index) => ({ name: seriesName(one), color: SERIES_COLORS[index % SERIES_COLORS.length]! })),
    [series],
  );
  const columns = useMemo(() => INCIDENT_METRICS.map((metric) => columnsFor(series, metric)), [series]);
  if (metrics.error !== undefined) return <ErrorNote error={metrics.error} retry={metrics.reload} />;
  if (result === undefined) return <Loading what="metrics" />;
  if (series.length === 0) return <Empty>No traces of {incident.promptName} around this incident.</Empty>;
  return (
    <div className="charts" data-testid="incident-charts">
      {INCIDENT_METRICS.map((metric, index) => (
        <MetricChart
          key={metric.id}
          testId={`incident-chart-${metric.id}`}
          title={metric.title}
          columns={columns[index]!}
          series={styled}
          markers={markers}
          events={events}
          range={range}
          format={metric.format}
        />
      ))}
    </div>
  );
};

export const IncidentPage = ({ id }: { id: string }) => {
  const [revision, setRevision] = useState(0);
  const resource = useApiGet<IncidentDetail>(`/incidents/${encodeURIComponent(id)}`, undefined, revision);
  useLabelEvents(() => setRevision((value) => value + 1));
  const detail = resource.data;
  const incident = detail?.incident;
  return (
    <section aria-labelledby="incident-title" className="incident-page">
      <div className="page-head">
        <p className="breadcrumb small">
          <Link to="/incidents">Incidents</Link> /
        </p>
        <h1 id="incident-title" className="page-title" tabIndex={-1}>
          Incident #{id}
          {incident !== undefined && <>: {incident.title}</>}
        </h1>
        {incident !== undefined && (
          <>
            <p>
              <Link to={`/prompts/${encodeURIComponent(incident.promptName)}?tab=metrics`}>{incident.promptName}</Link>{' '}
              <LabelChip label={incident.label} /> <Sha sha={incident.badSha} />{' '}
              <IncidentState state={incident.state} />
            </p>
            <p className="muted">
              Opened by {incident.monitorId === null ? incident.openedBy : `monitor ${incident.monitorId}`}{' '}
              <When at={incident.openedAt} />.
            </p>
            <Actions incident={incident} onDone={() => setRevision((value) => value + 1)} />
          </>
        )}
      </div>
      {resource.error !== undefined && <ErrorNote error={resource.error} retry={resource.reload} />}
      {resource.loading && <Loading what="the incident" />}
      {detail !== undefined && (
        <>
          <h2>Figures</h2>
          <Figures detail={detail} />
          <h2>Timeline</h2>
          <TimelineCharts detail={detail} />
          <Timeline detail={detail} />
          <Postmortem id={detail.incident.id} revision={detail.incident.updatedAt} />
        </>
      )}
    </section>
  );
};
