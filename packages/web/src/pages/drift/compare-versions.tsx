import { useId, useState, type FormEvent } from 'react';
import type { EvalSuiteVersion, StoredDriftReport } from '../../api/types';
import { roleAtLeast, useSession } from '../../app/session';
import { useApiGet } from '../../app/use-api';
import { ErrorNote } from '../../components/states';
import { driftRequestBody, type DriftForm } from './drift-request';

/**
 * "Compare versions": builds and stores a drift report of two versions (POST /api/v1/drift), offline on a
 * suite's recorded runs or live on each version's traces. Shown to editors and up; the server enforces.
 */
export const CompareVersions = ({
  prompt,
  a,
  b,
  suite = '',
  onCreated,
}: {
  prompt: string;
  a: string;
  b: string;
  suite?: string;
  onCreated: (report: StoredDriftReport) => void;
}) => {
  const { me } = useSession();
  const [open, setOpen] = useState(false);
  if (!roleAtLeast(me.role, 'editor')) return null;
  if (!open) {
    return (
      <p>
        <button type="button" className="button" onClick={() => setOpen(true)}>
          Compare versions…
        </button>
      </p>
    );
  }
  return (
    <CompareForm
      initial={{ prompt, a, b, source: 'offline', suite, window: '24h' }}
      onCancel={() => setOpen(false)}
      onCreated={(report) => {
        setOpen(false);
        onCreated(report);
      }}
    />
  );
};

const CompareForm = ({
  initial,
  onCancel,
  onCreated,
}: {
  initial: DriftForm;
  onCancel: () => void;
  onCreated: (report: StoredDriftReport) => void;
}) => {
  const { api } = useSession();
  const id = useId();
  const [form, setForm] = useState<DriftForm>(initial);
  const [invalid, setInvalid] = useState<{ field: string; message: string } | undefined>(undefined);
  const [failure, setFailure] = useState<Error | undefined>(undefined);
  const [busy, setBusy] = useState(false);
  const suites = useApiGet<{ suites: EvalSuiteVersion[] }>('/evals/suites');
  const testing = (suites.data?.suites ?? []).filter((s) => s.prompt === initial.prompt).map((s) => s.name);
  const suite = form.suite === '' && testing.length > 0 ? testing[0]! : form.suite;
  const set = (changes: Partial<DriftForm>) => setForm((current) => ({ ...current, ...changes }));

  const submit = (event: FormEvent) => {
    event.preventDefault();
    const result = driftRequestBody({ ...form, suite });
    if (!result.ok) {
      setInvalid({ field: result.field, message: result.message });
      return;
    }
    setInvalid(undefined);
    setFailure(undefined);
    setBusy(true);
    api.post<StoredDriftReport>('/drift', result.body).then(
      (report) => {
        setBusy(false);
        onCreated(report);
      },
      (error: unknown) => {
        setBusy(false);
        setFailure(error instanceof Error ? error : new Error(String(error)));
      },
    );
  };

  const invalidProps = (field: string) =>
    invalid?.field === field ? { 'aria-invalid': true, 'aria-describedby': `${id}-invalid` } : {};

  return (
    <form className="filters drift-compare" onSubmit={submit} aria-label="Compare versions" data-testid="drift-compare">
      <fieldset className="field drift-compare-source">
        <legend className="field-label">Outputs</legend>
        <label className="field-inline">
          <input
            type="radio"
            name={`${id}-source`}
            checked={form.source === 'offline'}
            onChange={() => set({ source: 'offline' })}
          />
          offline: a suite’s recorded runs, paired by case
        </label>
        <label className="field-inline">
          <input
            type="radio"
            name={`${id}-source`}
            checked={form.source === 'live'}
            onChange={() => set({ source: 'live' })}
          />
          live: each version’s traces
        </label>
      </fieldset>
      <div className="field">
        <label htmlFor={`${id}-a`} className="field-label">
          A (baseline)
        </label>
        <input
          id={`${id}-a`}
          className="input"
          value={form.a}
          placeholder="v17, a label or a sha"
          onChange={(event) => set({ a: event.target.value })}
          {...invalidProps('a')}
        />
      </div>
      <div className="field">
        <label htmlFor={`${id}-b`} className="field-label">
          B (candidate)
        </label>
        <input
          id={`${id}-b`}
          className="input"
          value={form.b}
          placeholder="v18, a label or a sha"
          onChange={(event) => set({ b: event.target.value })}
          {...invalidProps('b')}
        />
      </div>
      {form.source === 'offline' ? (
        <div className="field">
          <label htmlFor={`${id}-suite`} className="field-label">
            Suite
          </label>
          <select
            id={`${id}-suite`}
            className="input"
            value={suite}
            onChange={(event) => set({ suite: event.target.value })}
            {...invalidProps('suite')}
          >
            {suite === '' && <option value="">(no suite tests this prompt)</option>}
            {suite !== '' && !testing.includes(suite) && <option value={suite}>{suite}</option>}
            {testing.map((name) => (
              <option key={name} value={name}>
                {name}
              </option>
            ))}
          </select>
        </div>
      ) : (
        <div className="field">
          <label htmlFor={`${id}-window`} className="field-label">
            Window (back from now)
          </label>
          <input
            id={`${id}-window`}
            className="input"
            value={form.window}
            placeholder="24h"
            onChange={(event) => set({ window: event.target.value })}
            {...invalidProps('window')}
          />
        </div>
      )}
      <div className="filters-actions">
        <button type="submit" className="button button-primary" disabled={busy}>
          {busy ? 'Building the report…' : 'Build report'}
        </button>
        <button type="button" className="button" onClick={onCancel}>
          Cancel
        </button>
      </div>
      {invalid !== undefined && (
        <p id={`${id}-invalid`} role="alert" className="field-error">
          {invalid.message}
        </p>
      )}
      {failure !== undefined && <ErrorNote error={failure} />}
    </form>
  );
};
