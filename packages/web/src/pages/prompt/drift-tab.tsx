import { promptPath, withQuery } from '../../api/client';
import type { DriftReportPage, StoredDriftReport } from '../../api/types';
import { Link, useSearchParam } from '../../app/router';
import { useApiGet } from '../../app/use-api';
import { Sha, When } from '../../components/badges';
import { DriftReportView } from '../../components/drift-report';
import { Empty, ErrorNote, Loading } from '../../components/states';
import { CompareVersions } from '../drift/compare-versions';
import { sourceText } from '../drift/drift-format';

/**
 * A prompt's drift reports, newest first (the verdict, the versions, where the outputs came from, when
 * and by whom), and the selected one in full (`?report=ID`, the newest by default). Editors build new
 * ones with "Compare versions".
 */
export const DriftTab = ({
  name,
  report,
  before,
  head,
  revision,
}: {
  name: string;
  report: string | null;
  before: string | null;
  head: number | undefined;
  revision: number;
}) => {
  const setParams = useSearchParam();
  const list = useApiGet<DriftReportPage>(
    promptPath(name, '/drift'),
    { limit: 50, before: before ?? undefined },
    revision,
  );
  const selected = report ?? list.data?.reports[0]?.id ?? null;
  const detail = useApiGet<StoredDriftReport>(selected === null ? null : `/drift/${encodeURIComponent(selected)}`);
  const reportHref = (id: string) =>
    withQuery(`/prompts/${encodeURIComponent(name)}`, { tab: 'drift', report: id, before: before ?? undefined });
  const compare = (
    <CompareVersions
      prompt={name}
      a={head === undefined || head < 2 ? '' : `v${head - 1}`}
      b={head === undefined ? '' : `v${head}`}
      onCreated={(created) => {
        setParams({ report: created.id, before: undefined }, true);
        list.reload();
      }}
    />
  );

  if (list.error !== undefined) return <ErrorNote error={list.error} retry={list.reload} />;
  if (list.data === undefined) return <Loading what="drift reports" />;
  if (list.data.reports.length === 0) {
    return (
      <>
        {compare}
        <Empty>
          No drift reports of {name} yet: <code>promptops drift {name} A B --suite SUITE</code>
        </Empty>
      </>
    );
  }
  return (
    <section aria-labelledby="drift-title">
      <h2 id="drift-title" className="section-title">
        Drift reports
      </h2>
      {compare}
      <div className="table-scroll">
        <table className="table table-stack drift-list" data-testid="drift-reports">
          <thead>
            <tr>
              <th scope="col">report</th>
              <th scope="col">versions</th>
              <th scope="col">verdict</th>
              <th scope="col">source</th>
              <th scope="col" className="hide-narrow">
                built
              </th>
            </tr>
          </thead>
          <tbody>
            {list.data.reports.map((item) => (
              <tr
                key={item.id}
                data-testid={`drift-report-${item.id}`}
                aria-current={item.id === selected ? 'true' : undefined}
              >
                <td>
                  <Link to={reportHref(item.id)} aria-label={`drift report ${item.id}`}>
                    #{item.id}
                  </Link>
                </td>
                <td>
                  v{item.a.version} → v{item.b.version}
                </td>
                <td className="drift-list-verdict">
                  <span className={`chip ${item.drifted ? 'chip-bad' : 'chip-good'}`}>
                    {item.drifted ? 'drifted' : 'no drift'}
                  </span>{' '}
                  {item.verdict}
                </td>
                <td>{sourceText(item)}</td>
                <td className="hide-narrow">
                  <When at={item.createdAt} /> by {item.createdBy}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {list.data.next !== null && (
        <p className="load-more">
          <Link to={withQuery(`/prompts/${encodeURIComponent(name)}`, { tab: 'drift', before: list.data.next })}>
            Older reports
          </Link>
        </p>
      )}
      {detail.error !== undefined && <ErrorNote error={detail.error} retry={detail.reload} />}
      {selected !== null && detail.error === undefined && detail.data === undefined && <Loading what="the report" />}
      {detail.data !== undefined && (
        <section aria-labelledby="drift-report-title" className="drift-detail" data-testid="drift-detail">
          <h3 id="drift-report-title" className="section-title">
            Report #{detail.data.id}: v{detail.data.a.version} <Sha sha={detail.data.a.sha} /> → v
            {detail.data.b.version} <Sha sha={detail.data.b.sha} />
          </h3>
          <p className="muted small">
            {sourceText(detail.data)} · built by {detail.data.createdBy} <When at={detail.data.createdAt} />
          </p>
          <DriftReportView report={detail.data.report} />
        </section>
      )}
    </section>
  );
};
