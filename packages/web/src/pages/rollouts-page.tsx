import type { RolloutView } from '../api/types';
import { useLocation, useSearchParam } from '../app/router';
import { useApiGet } from '../app/use-api';
import { Empty, ErrorNote, Loading } from '../components/states';
import { useLabelEvents } from '../live/live-feed';
import { RolloutsTable } from './rollout/rollouts-table';

const STATES = ['running', 'paused', 'completed', 'aborted', 'all'] as const;

/** Every rollout of the project, newest first, filtered by state. */
export const RolloutsPage = () => {
  const { search } = useLocation();
  const setParams = useSearchParam();
  const state = search.get('state') ?? 'all';
  const list = useApiGet<{ rollouts: RolloutView[] }>(
    '/rollouts',
    state === 'all' ? { limit: 200 } : { state, limit: 200 },
  );
  useLabelEvents(() => list.reload());
  const rollouts = list.data?.rollouts ?? [];
  return (
    <section aria-labelledby="rollouts-title">
      <div className="page-head page-head-row">
        <h1 id="rollouts-title" className="page-title" tabIndex={-1}>
          Rollouts
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
        A candidate tried on a label&apos;s traffic: in shadow (copies, never answering) or split by a ramp of units.
        Start one with <code>promptops rollout start NAME REF --label production --mode shadow</code>.
      </p>
      {list.error !== undefined && <ErrorNote error={list.error} retry={list.reload} />}
      {list.loading && <Loading what="rollouts" />}
      {list.data !== undefined && rollouts.length === 0 && (
        <Empty>No {state === 'all' ? '' : `${state} `}rollouts.</Empty>
      )}
      {rollouts.length > 0 && <RolloutsTable rollouts={rollouts} />}
    </section>
  );
};
