import type { LabelRecord, RollbackOptions } from '../../api/types';
import { Link } from '../../app/router';
import { LabelChip, Sha, When } from '../../components/badges';
import type { RollbackTarget } from '../../components/rollback-dialog';
import { LabelRulesPanel } from './label-rules';
import { labelOrder } from './labels';

/**
 * What each label serves now: version, short sha, when and by whom, its targeting rules, and a rollback
 * for deployers.
 */
export const LabelCards = ({
  name,
  labels,
  rollback,
  canDeploy,
  onRollback,
  historyHref,
  rulesRevision,
}: {
  name: string;
  labels: readonly LabelRecord[];
  /** Where each label may be rolled back to, as the deployment history says (undefined while loading). */
  rollback: readonly RollbackOptions[] | undefined;
  canDeploy: boolean;
  onRollback: (target: RollbackTarget) => void;
  historyHref: (label: string) => string;
  /** Changes when the labels' rules moved elsewhere (the change feed). */
  rulesRevision: number;
}) => (
  <ul className="label-cards" aria-label="Labels">
    {[...labels].sort(labelOrder).map((label) => {
      const target = canDeploy && label.label !== 'latest' ? rollbackTargetOf(name, label, rollback) : undefined;
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
          <LabelRulesPanel name={name} label={label} canDeploy={canDeploy} revision={rulesRevision} />
        </li>
      );
    })}
  </ul>
);

/**
 * The server's default rollback target for the label (on a protected label, never a version that got
 * there only by break glass), or none while the history loads or when there is nowhere to go.
 */
const rollbackTargetOf = (
  name: string,
  label: LabelRecord,
  rollback: readonly RollbackOptions[] | undefined,
): RollbackTarget | undefined => {
  const previous = rollback?.find((options) => options.label === label.label)?.previous ?? null;
  return previous === null
    ? undefined
    : { name, label: label.label, current: { version: label.version, sha: label.sha }, to: previous };
};
