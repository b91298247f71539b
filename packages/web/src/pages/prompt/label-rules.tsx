import { useState } from 'react';
import { promptPath } from '../../api/client';
import type { LabelRecord } from '../../api/types';
import { useSession } from '../../app/session';
import { useNotify } from '../../app/toasts';
import { useApiGet } from '../../app/use-api';
import { RulesEditor } from '../../components/rules-editor';
import { ErrorNote } from '../../components/states';
import { parseLabelRulesText, ruleSummary, type LabelRuleView } from '../rollout/targeting-rules';

/** `GET /api/v1/prompts/:name/labels/:label/rules`. */
interface LabelRules {
  readonly rules: readonly LabelRuleView[];
}

/**
 * A label's own targeting rules (tried in order before what the label serves): shown to everyone, set and
 * cleared by deployers. A protected label refuses a rule serving a version that did not reach it through
 * review; the server's reason and fix show here.
 */
export const LabelRulesPanel = ({
  name,
  label,
  canDeploy,
  revision,
}: {
  name: string;
  label: LabelRecord;
  canDeploy: boolean;
  /** Changes when the feed says this prompt's rules moved. */
  revision: number;
}) => {
  const { api } = useSession();
  const notify = useNotify();
  const path = promptPath(name, `/labels/${encodeURIComponent(label.label)}/rules`);
  const current = useApiGet<LabelRules>(path, undefined, revision);
  const [editing, setEditing] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<Error | undefined>(undefined);
  const rules = current.data?.rules ?? [];
  // Stored rules carry the served version's sha; the API takes { version } alone.
  const editable = rules.map(({ serve, ...rule }) => ({
    ...rule,
    serve: 'version' in serve ? { version: serve.version } : serve,
  }));

  const send = async (request: () => Promise<unknown>, done: string) => {
    setBusy(true);
    setError(undefined);
    try {
      await request();
      notify(done, 'success');
      setEditing(false);
      current.reload();
    } catch (caught) {
      setError(caught instanceof Error ? caught : new Error(String(caught)));
    } finally {
      setBusy(false);
    }
  };
  const clear = () => send(() => api.delete(path), `Rules of ${label.label} cleared`);

  if (current.error !== undefined) return <ErrorNote error={current.error} retry={current.reload} />;
  if (current.data === undefined) return null;
  return (
    <div className="label-rules" data-testid={`label-${label.label}-rules`}>
      {rules.length === 0 ? (
        <p className="muted small">No targeting rules: v{label.version} serves everyone.</p>
      ) : (
        <ol className="small">
          {rules.map((rule, index) => (
            <li key={index}>{ruleSummary(rule)}</li>
          ))}
          <li className="muted">anyone else: v{label.version}</li>
        </ol>
      )}
      {canDeploy && !editing && (
        <div className="label-card-actions">
          <button
            type="button"
            className="button button-small"
            aria-label={`Edit rules of ${label.label}`}
            onClick={() => {
              setError(undefined);
              setEditing(true);
            }}
          >
            {rules.length === 0 ? 'Add rules…' : 'Edit rules…'}
          </button>
          {rules.length > 0 && (
            <button
              type="button"
              className="button button-small button-danger-outline"
              aria-label={`Clear rules of ${label.label}`}
              disabled={busy}
              onClick={() => void clear()}
            >
              Clear rules
            </button>
          )}
        </div>
      )}
      {editing && (
        <RulesEditor
          rules={editable}
          example='[{ "when": [{ "attribute": "tenant", "op": "in", "values": ["acme"] }], "serve": { "version": 17 } }] (or "serve": { "label": "beta" })'
          parse={parseLabelRulesText}
          busy={busy}
          onSave={(parsed) =>
            void send(
              () => (parsed === null ? api.delete(path) : api.put(path, { rules: parsed })),
              parsed === null ? `Rules of ${label.label} cleared` : `Rules of ${label.label} saved`,
            )
          }
          onCancel={() => {
            setError(undefined);
            setEditing(false);
          }}
        />
      )}
      {error !== undefined && <ErrorNote error={error} />}
    </div>
  );
};
