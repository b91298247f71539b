import { useId } from 'react';
import type { DeploymentRecord, LabelRecord, RollbackOptions } from '../../api/types';
import { useSearchParam } from '../../app/router';
import { KindBadge, LabelChip, Sha, When } from '../../components/badges';
import type { RollbackTarget } from '../../components/rollback-dialog';
import { Empty, ErrorNote, Loading } from '../../components/states';
import type { Resource } from '../../app/use-api';
import { rollbackOffers, servingNow } from './deployment-moves';
import { sortLabelNames } from './labels';

/**
 * Every label move, newest first, with its kind (promote, rollback, push, break glass, …), who and why.
 * A deployer can roll a label back from the move that put a version there, to any version the server
 * accepts: one it served before, and on a protected label only one that came through review.
 */
export const DeploymentsTab = ({
  name,
  label,
  labels,
  deployments,
  canDeploy,
  onRollback,
}: {
  name: string;
  label: string;
  labels: readonly LabelRecord[];
  deployments: Resource<{ deployments: readonly DeploymentRecord[]; rollback: readonly RollbackOptions[] }>;
  canDeploy: boolean;
  onRollback: (target: RollbackTarget) => void;
}) => {
  const setParams = useSearchParam();
  const selectId = useId();
  if (deployments.error !== undefined) return <ErrorNote error={deployments.error} retry={deployments.reload} />;
  if (deployments.data === undefined) return <Loading what="deployments" />;
  const all = deployments.data.deployments;
  const shown = all.filter((move) => (label === 'all' ? move.label !== 'latest' : move.label === label));
  const current = new Map(labels.map((record) => [record.label, record]));
  const offered = rollbackOffers(shown, deployments.data.rollback);
  const serving = servingNow(all, labels);
  return (
    <section aria-labelledby="deployments-title">
      <div className="section-head">
        <h2 id="deployments-title" className="section-title">
          Deployment history
        </h2>
        <div className="field field-inline">
          <label htmlFor={selectId} className="field-label">
            Label
          </label>
          <select
            id={selectId}
            className="input"
            value={label}
            onChange={(event) => setParams({ label: event.target.value })}
          >
            <option value="all">all but latest</option>
            {sortLabelNames(labels.map((record) => record.label)).map((name) => (
              <option key={name} value={name}>
                {name}
                {name === 'latest' ? ' (pushes)' : ''}
              </option>
            ))}
          </select>
        </div>
      </div>
      {shown.length === 0 ? (
        <Empty>No moves of this label yet.</Empty>
      ) : (
        <ol className="moves">
          {shown.map((move) => {
            const holder = current.get(move.label);
            const canRollBack = canDeploy && holder !== undefined && offered.has(move.id);
            return (
              <li key={move.id} className="move" data-testid={`move-${move.id}`}>
                <div className="move-head">
                  <LabelChip label={move.label} />
                  <KindBadge kind={move.kind} />
                  <span className="move-versions">
                    {move.fromVersion === null ? 'new' : `v${move.fromVersion}`} → <strong>v{move.toVersion}</strong>{' '}
                    <Sha sha={move.toSha} />
                  </span>
                  {serving.has(move.id) && <span className="chip chip-now">serving now</span>}
                </div>
                <p className="move-reason">
                  {move.reason === '' ? <em className="muted">no reason given</em> : move.reason}
                </p>
                <p className="muted small">
                  {move.actor} · <When at={move.createdAt} />
                </p>
                {canRollBack && (
                  <button
                    type="button"
                    className="button button-small button-danger-outline"
                    aria-label={`Roll back ${move.label} to v${move.toVersion}`}
                    onClick={() =>
                      onRollback({
                        name,
                        label: move.label,
                        current: { version: holder.version, sha: holder.sha },
                        to: { version: move.toVersion, sha: move.toSha },
                      })
                    }
                  >
                    Roll back {move.label} to v{move.toVersion}
                  </button>
                )}
              </li>
            );
          })}
        </ol>
      )}
    </section>
  );
};
