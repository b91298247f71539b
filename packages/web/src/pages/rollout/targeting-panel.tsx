import { useId, useState, type FormEvent } from 'react';
import type { RolloutView } from '../../api/types';
import { useSession } from '../../app/session';
import { useNotify } from '../../app/toasts';
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
  const editorId = useId();
  const [editing, setEditing] = useState(false);
  const [text, setText] = useState('');
  const [problems, setProblems] = useState<readonly string[]>([]);
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
  const save = (event: FormEvent) => {
    event.preventDefault();
    const parsed = parseRulesText(text);
    if (!parsed.ok) {
      setProblems(parsed.problems);
      return;
    }
    setProblems([]);
    void send(`/rollouts/${encodeURIComponent(rollout.id)}/rules`, 'put', { rules: parsed.rules }, 'Rules saved');
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
          <button
            type="button"
            className="button"
            onClick={() => {
              setText(rules.length === 0 ? '' : JSON.stringify(rules, null, 2));
              setEditing(true);
            }}
          >
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
        <form onSubmit={save}>
          <label htmlFor={editorId} className="field-label">
            Rules as JSON (empty clears them), e.g. [{'{'} "when": [{'{'} "attribute": "tenant", "op": "in", "values":
            ["acme"] {'}'}], "serve": {'{'} "arm": "candidate" {'}'} {'}'}]
          </label>
          <textarea
            id={editorId}
            className="input"
            rows={10}
            value={text}
            onChange={(event) => setText(event.target.value)}
          />
          {problems.length > 0 && (
            <ul className="error-note" role="alert">
              {problems.map((problem) => (
                <li key={problem}>{problem}</li>
              ))}
            </ul>
          )}
          <button type="submit" className="button" disabled={busy}>
            Save rules
          </button>
          <button type="button" className="button" onClick={() => setEditing(false)}>
            Cancel
          </button>
        </form>
      )}
      {error !== undefined && <ErrorNote error={error} />}
    </div>
  );
};
