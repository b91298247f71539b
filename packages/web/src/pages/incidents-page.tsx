import { Link, useLocation, useSearchParam } from '../app/router';
import { useApiGet } from '../app/use-api';
import { LabelChip, Sha, When } from '../components/badges';
import { Empty, ErrorNote, Loading } from '../components/states';
import { useLabelEvents } from '../live/live-feed';
import { recoveryText, type IncidentDetail, type IncidentListItem } from './incident/incident-view';

const STATES = ['open', 'acknowledged', 'resolved', 'all'] as const;

export const IncidentState = ({ state }: { state: IncidentListItem['state'] }) => (
  <span className={`chip chip-incident-${state}`} data-testid="incident-state">
    {state}
  </span>
);

/** Time to recover comes with each incident's figures: one small read per row, the list stays one query. */
const RecoveryCell = ({ incident }: { incident: IncidentListItem }) => {
  const detail = useApiGet<IncidentDetail>(`/incidents/${incident.id}`, undefined, incident.updatedAt);
  if (detail.data === undefined) return <span className="muted">…</span>;
  return <>{recoveryText(detail.data.figures, incident.state)}</>;
};

/** Every incident of the project, newest first, filtered by state. */
export const IncidentsPage = () => {
  const { search } = useLocation();
  const setParams = useSearchParam();
  const state = search.get('state') ?? 'all';
  const list = useApiGet<{ incidents: IncidentListItem[] }>('/incidents', state === 'all' ? {} : { state });
  useLabelEvents(() => list.reload());
  const incidents = list.data?.incidents ?? [];
  return (
    <section aria-labelledby="incidents-title">
      <div className="page-head page-head-row">
        <h1 id="incidents-title" className="page-title" tabIndex={-1}>
          Incidents
        </h1>
        <div role="group" aria-label="State" className="segmented">
          {STATES.map((value) => (
            <button
              key={value}
              type="button"
              className="button button-small"
              aria-pressed={state === value}
              onClick={() => setParams({ state: value === 'all' ? undefined : value })}
            >
              {value}
            </button>
          ))}
        </div>
      </div>
      <p className="muted">
        Opened by a monitor that saw a label&apos;s version do worse than the one before it, or by hand with{' '}
        <code>promptops incident open NAME --label production -m &quot;…&quot;</code>.
      </p>
      {list.error !== undefined && <ErrorNote error={list.error} retry={list.reload} />}
      {list.loading && <Loading what="incidents" />}
      {list.data !== undefined && incidents.length === 0 && (
        <Empty>No {state === 'all' ? '' : `${state} `}incidents.</Empty>
      )}
      {incidents.length > 0 && (
        <div className="table-scroll">
          <table className="table table-stack" data-testid="incidents">
            <thead>
              <tr>
                <th scope="col">incident</th>
                <th scope="col">state</th>
                <th scope="col">prompt</th>
                <th scope="col">label</th>
                <th scope="col">version</th>
                <th scope="col">opened</th>
                <th scope="col">time to recover</th>
              </tr>
            </thead>
            <tbody>
              {incidents.map((incident) => (
                <tr key={incident.id} data-testid={`incident-${incident.id}`}>
                  <th scope="row">
                    <Link to={`/incidents/${incident.id}`}>
                      #{incident.id} {incident.title}
                    </Link>
                  </th>
                  <td>
                    <IncidentState state={incident.state} />
                  </td>
                  <td>
                    <Link to={`/prompts/${encodeURIComponent(incident.promptName)}`}>{incident.promptName}</Link>
                  </td>
                  <td>
                    <LabelChip label={incident.label} />
                  </td>
                  <td>
                    <Sha sha={incident.badSha} />
                  </td>
                  <td>
                    <When at={incident.openedAt} /> by {incident.openedBy}
                  </td>
                  <td>
                    <RecoveryCell incident={incident} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
};
