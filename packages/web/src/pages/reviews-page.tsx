import type { ChangeRequestSummary } from '../api/types';
import { Link, useLocation, useSearchParam } from '../app/router';
import { useApiGet } from '../app/use-api';
import { LabelChip, When } from '../components/badges';
import { Empty, ErrorNote, Loading } from '../components/states';
import { useLabelEvents } from '../live/live-feed';

const STATUSES = ['open', 'merged', 'closed', 'all'] as const;

/** Change requests, newest first: who proposes moving which label to which version. Read-only. */
export const ReviewsPage = () => {
  const { search } = useLocation();
  const setParams = useSearchParam();
  const status = search.get('status') ?? 'open';
  const list = useApiGet<{ changeRequests: ChangeRequestSummary[] }>(
    '/reviews',
    status === 'all' ? { limit: 200 } : { status, limit: 200 },
  );
  useLabelEvents(() => list.reload());
  const requests = list.data?.changeRequests ?? [];
  return (
    <section aria-labelledby="reviews-title">
      <div className="page-head page-head-row">
        <h1 id="reviews-title" className="page-title" tabIndex={-1}>
          Reviews
        </h1>
        <div role="group" aria-label="Status" className="segmented">
          {STATUSES.map((value) => (
            <button
              key={value}
              type="button"
              className="button button-small"
              aria-pressed={status === value}
              onClick={() => setParams({ status: value === 'open' ? undefined : value })}
            >
              {value}
            </button>
          ))}
        </div>
      </div>
      <p className="muted">Protected labels move only through approved change requests: `promptops review request`.</p>
      {list.error !== undefined && <ErrorNote error={list.error} retry={list.reload} />}
      {list.loading && <Loading what="change requests" />}
      {list.data !== undefined && requests.length === 0 && (
        <Empty>No {status === 'all' ? '' : `${status} `}change requests.</Empty>
      )}
      {requests.length > 0 && (
        <div className="table-scroll">
          <table className="table table-stack" data-testid="reviews">
            <thead>
              <tr>
                <th scope="col">#</th>
                <th scope="col">prompt</th>
                <th scope="col">label</th>
                <th scope="col">change</th>
                <th scope="col">status</th>
                <th scope="col">author</th>
                <th scope="col">opened</th>
                <th scope="col">why</th>
              </tr>
            </thead>
            <tbody>
              {requests.map((cr) => (
                <tr key={cr.id} data-testid={`review-${cr.id}`}>
                  <td>
                    <Link to={`/reviews/${cr.id}`}>#{cr.id}</Link>
                  </td>
                  <td>{cr.name}</td>
                  <td>
                    <LabelChip label={cr.label} />
                  </td>
                  <td>
                    {cr.baseVersion === null ? '(none)' : `v${cr.baseVersion}`} → v{cr.version}
                  </td>
                  <td>
                    <span className={`chip chip-status-${cr.status}`}>{cr.status}</span>
                  </td>
                  <td>{cr.author}</td>
                  <td>
                    <When at={cr.createdAt} />
                  </td>
                  <td>{cr.message.split('\n')[0]}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
};
