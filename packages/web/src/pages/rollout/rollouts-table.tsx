import type { RolloutView } from '../../api/types';
import { Link } from '../../app/router';
import { LabelChip, Sha, When } from '../../components/badges';

const active = (rollout: RolloutView): boolean => rollout.state === 'running' || rollout.state === 'paused';

export const RolloutState = ({ state }: { state: RolloutView['state'] }) => (
  <span className={`chip chip-rollout-${state}`} data-testid="rollout-state">
    {state}
  </span>
);

/** Rollouts, newest first: which candidate is tried on which label, how far it has ramped. */
export const RolloutsTable = ({
  rollouts,
  showPrompt = true,
}: {
  rollouts: readonly RolloutView[];
  showPrompt?: boolean;
}) => (
  <div className="table-scroll">
    <table className="table table-stack" data-testid="rollouts">
      <thead>
        <tr>
          <th scope="col">rollout</th>
          {showPrompt && <th scope="col">prompt</th>}
          <th scope="col">label</th>
          <th scope="col">mode</th>
          <th scope="col">state</th>
          <th scope="col">ramp</th>
          <th scope="col">baseline → candidate</th>
          <th scope="col">started</th>
        </tr>
      </thead>
      <tbody>
        {rollouts.map((rollout) => (
          <tr key={rollout.id} data-testid={`rollout-${rollout.id}`}>
            <td>
              <Link to={`/rollouts/${rollout.id}`}>
                <code>{rollout.id}</code>
              </Link>
            </td>
            {showPrompt && (
              <td>
                <Link to={`/prompts/${encodeURIComponent(rollout.name)}`}>{rollout.name}</Link>
              </td>
            )}
            <td>
              <LabelChip label={rollout.label} />
            </td>
            <td>{rollout.mode}</td>
            <td>
              <RolloutState state={rollout.state} />
            </td>
            <td>{active(rollout) ? `${rollout.ramp} %` : '–'}</td>
            <td>
              <Sha sha={rollout.baselineSha} /> → v{rollout.candidate.version} <Sha sha={rollout.candidate.sha} />
            </td>
            <td>
              <When at={rollout.createdAt} /> by {rollout.createdBy}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  </div>
);
