import { useEffect, useState } from 'react';
import { promptPath } from '../../api/client';
import type { VersionListItem, VersionsPage } from '../../api/types';
import { withQuery } from '../../api/client';
import { Link } from '../../app/router';
import { HISTORY_PAGE_SIZE } from '../../app/prefetch';
import { useApiGet } from '../../app/use-api';
import { LabelChip, Sha, When } from '../../components/badges';
import { ErrorNote, Loading } from '../../components/states';
import { sortLabelNames } from './labels';

/** Versions newest first as a timeline: author, message, labels; a page at a time. */
export const HistoryTab = ({ name, revision }: { name: string; revision: number }) => {
  const [before, setBefore] = useState<number | undefined>(undefined);
  const [older, setOlder] = useState<VersionListItem[]>([]);
  const first = useApiGet<VersionsPage>(promptPath(name, '/versions'), { limit: HISTORY_PAGE_SIZE }, revision);
  const more = useApiGet<VersionsPage>(before === undefined ? null : promptPath(name, '/versions'), {
    limit: HISTORY_PAGE_SIZE,
    before,
  });

  // Older pages accumulate below the first page, which live updates refresh.
  useEffect(() => {
    if (more.data !== undefined) setOlder((list) => [...list, ...more.data!.versions]);
  }, [more.data]);
  useEffect(() => {
    setOlder([]);
    setBefore(undefined);
  }, [name]);

  if (first.error !== undefined) return <ErrorNote error={first.error} retry={first.reload} />;
  if (first.data === undefined) return <Loading what="versions" />;
  const versions = [
    ...first.data.versions,
    ...older.filter((v) => v.version < (first.data!.versions.at(-1)?.version ?? 0)),
  ];
  const next = older.length > 0 ? more.data?.nextBefore : first.data.nextBefore;
  return (
    <section aria-labelledby="history-title">
      <h2 id="history-title" className="visually-hidden">
        Versions
      </h2>
      <ol className="timeline">
        {versions.map((version) => (
          <VersionItem key={version.sha} name={name} version={version} />
        ))}
      </ol>
      {more.error !== undefined && <ErrorNote error={more.error} retry={more.reload} />}
      {next !== null && next !== undefined && (
        <button type="button" className="button" disabled={more.loading} onClick={() => setBefore(next)}>
          {more.loading ? 'Loading…' : 'Load older versions'}
        </button>
      )}
    </section>
  );
};

const VersionItem = ({ name, version }: { name: string; version: VersionListItem }) => (
  <li className="timeline-item" data-testid={`version-${version.version}`}>
    <div className="timeline-marker" aria-hidden="true" />
    <div className="timeline-body">
      <div className="timeline-head">
        <strong className="version-number">v{version.version}</strong>
        <Sha sha={version.sha} />
        {sortLabelNames(version.labels).map((label) => (
          <LabelChip key={label} label={label} />
        ))}
        <span className="timeline-meta muted small">
          {version.author} · <When at={version.createdAt} />
        </span>
      </div>
      <div className="timeline-line">
        <p className="timeline-message">
          {version.message === '' ? <em className="muted">no message</em> : version.message}
        </p>
        <p className="timeline-actions small">
          {version.version > 1 && (
            <Link
              to={withQuery(`/prompts/${encodeURIComponent(name)}`, {
                tab: 'compare',
                from: String(version.version - 1),
                to: String(version.version),
              })}
            >
              Diff with v{version.version - 1}
            </Link>
          )}
          <Link to={withQuery('/traces', { prompt: name, sha: version.sha })}>Traces</Link>
        </p>
      </div>
    </div>
  </li>
);
