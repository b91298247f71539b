import { useId } from 'react';
import { promptPath } from '../../api/client';
import type { DiffResult, VersionsPage } from '../../api/types';
import { useSearchParam } from '../../app/router';
import { useApiGet } from '../../app/use-api';
import { shortSha } from '../../app/format';
import { Sha, When } from '../../components/badges';
import { DiffView } from '../../components/diff-view';
import { ErrorNote, Loading } from '../../components/states';

/** Any two versions side by side; the choice lives in the URL (?from=17&to=18), so a diff can be linked. */
export const CompareTab = ({ name, from, to }: { name: string; from: string | null; to: string | null }) => {
  const setParams = useSearchParam();
  const versions = useApiGet<VersionsPage>(promptPath(name, '/versions'), { limit: 500 });
  const list = versions.data?.versions ?? [];
  const head = list[0]?.version;
  const toRef = to ?? (head === undefined ? null : String(head));
  const fromRef = from ?? (head === undefined || head < 2 ? null : String(head - 1));
  const diff = useApiGet<DiffResult>(fromRef === null || toRef === null ? null : promptPath(name, '/diff'), {
    from: refOf(fromRef ?? ''),
    to: refOf(toRef ?? ''),
  });

  if (versions.error !== undefined) return <ErrorNote error={versions.error} retry={versions.reload} />;
  if (versions.data === undefined) return <Loading what="versions" />;
  if (list.length < 2) return <p className="muted">Only one version so far: nothing to compare.</p>;
  return (
    <section aria-labelledby="compare-title">
      <h2 id="compare-title" className="visually-hidden">
        Compare versions
      </h2>
      <div className="compare-pickers">
        <VersionSelect
          label="From"
          value={fromRef ?? ''}
          versions={list}
          onChange={(value) => setParams({ from: value })}
        />
        <span aria-hidden="true" className="compare-arrow">
          →
        </span>
        <VersionSelect label="To" value={toRef ?? ''} versions={list} onChange={(value) => setParams({ to: value })} />
      </div>
      {diff.error !== undefined && <ErrorNote error={diff.error} retry={diff.reload} />}
      {diff.loading && <Loading what="the diff" />}
      {diff.data !== undefined && (
        <>
          <div className="compare-summary">
            <VersionSummaryLine prefix="from" version={diff.data.from} />
            <VersionSummaryLine prefix="to" version={diff.data.to} />
          </div>
          <DiffView
            diff={diff.data.diff}
            fromLabel={`v${diff.data.from.version} (${shortSha(diff.data.from.sha)})`}
            toLabel={`v${diff.data.to.version} (${shortSha(diff.data.to.sha)})`}
          />
        </>
      )}
    </section>
  );
};

/** `17` in the URL means v17; anything else (a sha, a label) is passed as the ref it is. */
const refOf = (value: string): string => (/^\d+$/.test(value) ? `v${value}` : value);

const VersionSelect = ({
  label,
  value,
  versions,
  onChange,
}: {
  label: string;
  value: string;
  versions: VersionsPage['versions'];
  onChange: (value: string) => void;
}) => {
  const id = useId();
  return (
    <div className="field">
      <label htmlFor={id} className="field-label">
        {label}
      </label>
      <select id={id} className="input" value={value} onChange={(event) => onChange(event.target.value)}>
        {!versions.some((version) => String(version.version) === value) && value !== '' && (
          <option value={value}>{value}</option>
        )}
        {versions.map((version) => (
          <option key={version.sha} value={String(version.version)}>
            v{version.version} · {shortSha(version.sha)} · {version.message.slice(0, 40)}
          </option>
        ))}
      </select>
    </div>
  );
};

const VersionSummaryLine = ({ prefix, version }: { prefix: string; version: DiffResult['from'] }) => (
  <p className="small">
    <span className="muted">{prefix}</span> <strong>v{version.version}</strong> <Sha sha={version.sha} />{' '}
    {version.author}, <When at={version.createdAt} />: {version.message}
  </p>
);
