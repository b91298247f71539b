import { useState } from 'react';
import { withQuery } from '../../api/client';
import type { RolloutView, StoredDriftReport } from '../../api/types';
import { navigate } from '../../app/router';
import { roleAtLeast, useSession } from '../../app/session';
import { ErrorNote } from '../../components/states';

/**
 * A shadow rollout's pairs as a drift report (POST /api/v1/drift, source shadow): editors build and store
 * it, then read it on the prompt's drift tab.
 */
export const ShadowDriftButton = ({ rollout }: { rollout: RolloutView }) => {
  const { api, me } = useSession();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<Error | undefined>(undefined);
  if (!roleAtLeast(me.role, 'editor')) return null;
  const build = async () => {
    setBusy(true);
    setError(undefined);
    try {
      const stored = await api.post<StoredDriftReport>('/drift', {
        prompt: rollout.name,
        source: 'shadow',
        rollout: rollout.id,
      });
      navigate(withQuery(`/prompts/${encodeURIComponent(rollout.name)}`, { tab: 'drift', report: stored.id }));
    } catch (caught) {
      setError(caught instanceof Error ? caught : new Error(String(caught)));
      setBusy(false);
    }
  };
  return (
    <div className="rollout-actions">
      <button type="button" className="button" disabled={busy} onClick={() => void build()}>
        Drift report from these pairs
      </button>
      {error !== undefined && <ErrorNote error={error} />}
    </div>
  );
};
