import { useEffect, useId, useRef, useState, type FormEvent } from 'react';
import { promptPath } from '../api/client';
import type { DiffResult, RollbackResult } from '../api/types';
import { shortSha } from '../app/format';
import { useSession } from '../app/session';
import { useApiGet } from '../app/use-api';
import { DiffView } from './diff-view';
import { ErrorNote, Loading } from './states';

export interface RollbackTarget {
  readonly name: string;
  readonly label: string;
  /** What the label serves now. */
  readonly current: { readonly version: number; readonly sha: string };
  /** A version the label served before. */
  readonly to: { readonly version: number; readonly sha: string };
}

/**
 * The confirmation before a rollback: what changes (the diff from what the label serves now to the target),
 * a required reason (it goes into the deployment record and the audit log), then one click. A native
 * modal <dialog> keeps focus inside and closes on Escape.
 */
export const RollbackDialog = ({
  target,
  onClose,
  onDone,
}: {
  target: RollbackTarget;
  onClose: () => void;
  onDone: (result: RollbackResult) => void;
}) => {
  const { api } = useSession();
  const dialog = useRef<HTMLDialogElement>(null);
  const reasonId = useId();
  const [reason, setReason] = useState('');
  const [submitting, setSubmitting] = useState(false);
  const [error, setError] = useState<Error | undefined>(undefined);
  const diff = useApiGet<DiffResult>(promptPath(target.name, '/diff'), { from: target.current.sha, to: target.to.sha });

  useEffect(() => {
    const element = dialog.current;
    if (element !== null && !element.open) element.showModal();
  }, []);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setSubmitting(true);
    setError(undefined);
    try {
      const result = await api.post<RollbackResult>(
        promptPath(target.name, `/labels/${encodeURIComponent(target.label)}/rollback`),
        { to: target.to.sha, reason: reason.trim() },
      );
      onDone(result);
    } catch (caught) {
      setError(caught instanceof Error ? caught : new Error(String(caught)));
      setSubmitting(false);
    }
  };

  const from = `v${target.current.version} (${shortSha(target.current.sha)})`;
  const to = `v${target.to.version} (${shortSha(target.to.sha)})`;
  return (
    <dialog ref={dialog} className="dialog" aria-labelledby={`${reasonId}-title`} onClose={onClose}>
      <form onSubmit={(event) => void submit(event)}>
        <h2 id={`${reasonId}-title`}>
          Roll back {target.label} to v{target.to.version}?
        </h2>
        <p>
          <strong>{target.label}</strong> of <strong>{target.name}</strong> serves {from} now. After the rollback it
          serves {to}; applications following the label pick it up at once.
        </p>
        <h3 className="dialog-subtitle">What changes</h3>
        <div className="dialog-diff">
          {diff.error !== undefined ? (
            <ErrorNote error={diff.error} />
          ) : diff.data === undefined ? (
            <Loading what="the diff" />
          ) : (
            <DiffView diff={diff.data.diff} fromLabel={`now: ${from}`} toLabel={`after: ${to}`} />
          )}
        </div>
        <label htmlFor={reasonId} className="field-label">
          Reason (recorded in the deployment history and the audit log)
        </label>
        <textarea
          id={reasonId}
          className="input"
          rows={2}
          required
          maxLength={500}
          value={reason}
          onChange={(event) => setReason(event.target.value)}
          placeholder="e.g. customers are not greeted by name"
        />
        {error !== undefined && <ErrorNote error={error} />}
        <div className="dialog-actions">
          <button type="button" className="button" onClick={() => dialog.current?.close()}>
            Cancel
          </button>
          <button type="submit" className="button button-danger" disabled={submitting || reason.trim() === ''}>
            {submitting ? 'Rolling back…' : `Roll back to v${target.to.version}`}
          </button>
        </div>
      </form>
    </dialog>
  );
};
