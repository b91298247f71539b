import { previousSha } from '@promptops/core/rollback';
import type { DeploymentRecord, LabelRecord } from '../../api/types';
import { Link } from '../../app/router';
import { LabelChip, Sha, When } from '../../components/badges';
import type { RollbackTarget } from '../../components/rollback-dialog';
import { labelOrder } from './labels';

/** What each label serves now: version, short sha, when and by whom, and a rollback for deployers. */
export const LabelCards = ({
  name,
  labels,
  deployments,
  canDeploy,
  onRollback,
  historyHref,
}: {
  name: string;
  labels: readonly LabelRecord[];
  deployments: readonly DeploymentRecord[] | undefined;
  canDeploy: boolean;
  onRollback: (target: RollbackTarget) => void;
  historyHref: (label: string) => string;
}) => (
  <ul className="label-cards" aria-label="Labels">
    {[...labels].sort(labelOrder).map((label) => {
      const target = canDeploy && label.label !== 'latest' ? rollbackTargetOf(name, label, deployments) : undefined;
      return (
        <li key={label.label} className="label-card" data-testid={`label-${label.label}`}>
          <div className="label-card-head">
            <LabelChip label={label.label} />
            <span className="label-card-version" data-testid={`label-${label.label}-version`}>
              v{label.version}
            </span>
            <Sha sha={label.sha} />
          </div>
          <div className="label-card-actions">
            <span className="muted small">
              <When at={label.updatedAt} /> by {label.updatedBy} ·{' '}
              <Link to={historyHref(label.label)} aria-label={`${label.label} history`}>
                history
              </Link>
            </span>
            {target !== undefined && (
              <button
                type="button"
                className="button button-small button-danger-outline"
                onClick={() => onRollback(target)}
                aria-label={`Roll back ${label.label} to v${target.to.version}`}
              >
                Roll back to v{target.to.version}
              </button>
            )}
          </div>
        </li>
      );
    })}
  </ul>
);

/** The server's default rollback target (core's `previousSha` over the label's moves, oldest first). */
const rollbackTargetOf = (
  name: string,
  label: LabelRecord,
  deployments: readonly DeploymentRecord[] | undefined,
): RollbackTarget | undefined => {
  if (deployments === undefined) return undefined;
  const moves = deployments.filter((move) => move.label === label.label).reverse();
  const sha = previousSha(moves);
  if (sha === undefined) return undefined;
  const version = versionOf(sha, moves);
  return version === undefined
    ? undefined
    : { name, label: label.label, current: { version: label.version, sha: label.sha }, to: { version, sha } };
};

export const versionOf = (sha: string, moves: readonly DeploymentRecord[]): number | undefined => {
  for (const move of moves) {
    if (move.toSha === sha) return move.toVersion;
    if (move.fromSha === sha && move.fromVersion !== null) return move.fromVersion;
  }
  return undefined;
};
