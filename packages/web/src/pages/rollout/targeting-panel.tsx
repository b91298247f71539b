import { useState } from 'react';
import type { RolloutView } from '../../api/types';
import { useSession } from '../../app/session';
import { useNotify } from '../../app/toasts';
import { RulesEditor } from '../../components/rules-editor';
import { ErrorNote } from '../../components/states';
import { parseRulesText, ruleSummary } from './targeting-rules';

/**
 * A rollout's targeting rules (tried in order before the ramp) and its kill switch: shown to everyone,
 * edited and flipped by deployers (the server enforces it). The editor checks the JSON with core's rules
 * before sending it, so every bad field is named here.
 */
export const TargetingPanel = ({ rollout, onDone }: { rollout: RolloutView; onDone: () => void }) => {
  const { api, canDeploy } = useSession();
  const notify = useNotify();
  const [editing, setEditing] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<Error | undefined>(undefined);
  const rules = rollout.rules ?? [];
  const live = rollout.state === 'running' || rollout.state === 'paused';
  const editable = live || rollout.state === 'draft';

  const send = async (path: string, method: 'put' | 'post', body: unknown, done: string) => {
    setBusy(true);
    setError(undefined);
    try {
      await (method === 'put' ? api.put(path, body) : api.post(path, body));
      notify(done, 'success');
      setEditing(false);
      onDone();
    } catch (caught) {
      setError(caught instanceof Error ? caught : new Error(String(caught)));
    } finally {
      setBusy(false);
    }
  };

  return (
    <div className="targeting" data-testid="rollout-targeting">
      {rollout.killed === true && (
        <p className="error-note" data-testid="rollout-killed">
          <strong>Killed:</strong> everyone is served the baseline; resume to serve the arms again.
        </p>
      )}
      {rules.length === 0 ? (
        <p className="muted">No targeting rules: the ramp decides for everyone.</p>
      ) : (
        <ol data-testid="rollout-rules">
          {rules.map((rule, index) => (
            <li key={index}>{ruleSummary(rule)}</li>
          ))}
          <li className="muted">anyone else: the ramp</li>
        </ol>
      )}
      {canDeploy && editable && !editing && (
        <div className="rollout-actions">
          <button type="button" className="button" onClick={() => setEditing(true)}>
            Edit rules…
          </button>
          {live && rollout.killed !== true && (
            <button
              type="button"
              className="button button-danger"
              disabled={busy}
              onClick={() =>
                void send(`/rollouts/${encodeURIComponent(rollout.id)}/kill`, 'post', {}, 'Rollout killed')
              }
            >
              Kill switch
            </button>
          )}
        </div>
      )}
      {editing && (
        <RulesEditor
          rules={rules}
          example='[{ "when": [{ "attribute": "tenant", "op": "in", "values": ["acme"] }], "serve": { "arm": "candidate" } }]'
          parse={parseRulesText}
          busy={busy}
          onSave={(parsed) =>
            void send(`/rollouts/${encodeURIComponent(rollout.id)}/rules`, 'put', { rules: parsed }, 'Rules saved')
          }
          onCancel={() => setEditing(false)}
        />
      )}
      {error !== undefined && <ErrorNote error={error} />}
    </div>
  );
};
