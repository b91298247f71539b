import type { RolloutView } from '../../api/types';
import { useApiGet } from '../../app/use-api';
import { Empty, ErrorNote, Loading } from '../../components/states';
import { RolloutsTable } from '../rollout/rollouts-table';

/** One prompt's rollouts, newest first. */
export const RolloutsTab = ({ name, revision }: { name: string; revision: number }) => {
  const list = useApiGet<{ rollouts: RolloutView[] }>('/rollouts', { prompt: name, limit: 100 }, revision);
  if (list.error !== undefined) return <ErrorNote error={list.error} retry={list.reload} />;
  if (list.data === undefined) return <Loading what="rollouts" />;
  if (list.data.rollouts.length === 0) {
    return (
      <Empty>
        No rollouts of {name} yet: <code>promptops rollout start {name} REF --label production --mode shadow</code>
      </Empty>
    );
  }
  return <RolloutsTable rollouts={list.data.rollouts} showPrompt={false} />;
};
