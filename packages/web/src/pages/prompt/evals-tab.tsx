import { withQuery } from '../../api/client';
import type { EvalCaseResult, EvalRunRecord, EvalRunsPage } from '../../api/types';
import { Link } from '../../app/router';
import { useApiGet } from '../../app/use-api';
import { Sha, When } from '../../components/badges';
import { Empty, ErrorNote, Loading } from '../../components/states';

const percent = (rate: number): string => `${Math.round(rate * 1000) / 10}%`;

const Verdict = ({ pass }: { pass: boolean }) => (
  <span className={`chip ${pass ? 'chip-good' : 'chip-bad'}`}>{pass ? 'pass' : 'fail'}</span>
);

/** Why a case failed: the provider error, else the first failing assertion's reason. */
const whyFailed = (c: EvalCaseResult): string =>
  c.error ?? c.assertions.find((a) => !a.pass)?.reason ?? `score ${c.score.toFixed(2)} is below the threshold`;

/**
 * The recorded eval runs of this prompt, newest first: per run the version, suite, pass rate and verdict;
 * the selected run (the newest by default, `?run=ID`) lists its failing cases with the reason.
 */
export const EvalsTab = ({ name, run, revision }: { name: string; run: string | null; revision: number }) => {
  const runs = useApiGet<EvalRunsPage>('/evals/runs', { prompt: name, limit: 50 }, revision);
  const selected = run ?? runs.data?.runs[0]?.id ?? null;
  const detail = useApiGet<EvalRunRecord>(selected === null ? null : `/evals/runs/${encodeURIComponent(selected)}`);
  if (runs.error !== undefined) return <ErrorNote error={runs.error} retry={runs.reload} />;
  if (runs.data === undefined) return <Loading what="eval runs" />;
  if (runs.data.runs.length === 0) {
    return <Empty>No eval runs recorded for this prompt yet: run its suites with `promptops eval`.</Empty>;
  }
  const runHref = (id: string) => withQuery(`/prompts/${encodeURIComponent(name)}`, { tab: 'evals', run: id });
  return (
    <section aria-labelledby="evals-title">
      <h2 id="evals-title" className="section-title">
        Eval runs
      </h2>
      <div className="table-scroll">
        <table className="table table-stack evals-table">
          <thead>
            <tr>
              <th scope="col">run</th>
              <th scope="col">version</th>
              <th scope="col">suite</th>
              <th scope="col">result</th>
              <th scope="col" className="num">
                cases
              </th>
              <th scope="col" className="num">
                pass rate
              </th>
              <th scope="col" className="hide-narrow">
                recorded
              </th>
            </tr>
          </thead>
          <tbody>
            {runs.data.runs.map((item) => (
              <tr
                key={item.id}
                data-testid={`eval-run-${item.id}`}
                aria-current={item.id === selected ? 'true' : undefined}
              >
                <td>
                  <Link to={runHref(item.id)} aria-label={`eval run ${item.id}`}>
                    #{item.id}
                  </Link>
                </td>
                <td>
                  v{item.prompt.version} <Sha sha={item.prompt.sha} />
                  {item.tenant != null && (
                    <span className="chip" title={`effective ${item.tenant.effectiveSha.slice(0, 7)}`}>
                      tenant {item.tenant.id}
                    </span>
                  )}
                </td>
                <td>
                  {item.suite.name} <Sha sha={item.suite.sha} />
                </td>
                <td>
                  <Verdict pass={item.passed} />
                </td>
                <td className="num">
                  {item.summary.passed}/{item.summary.total}
                </td>
                <td className="num">{percent(item.summary.passRate)}</td>
                <td className="hide-narrow">
                  <When at={item.recordedAt} /> by {item.recordedBy}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {detail.error !== undefined && <ErrorNote error={detail.error} retry={detail.reload} />}
      {selected !== null && detail.error === undefined && detail.data === undefined && <Loading what="the run" />}
      {detail.data !== undefined && <RunCases run={detail.data} />}
    </section>
  );
};

const RunCases = ({ run }: { run: EvalRunRecord }) => {
  const failing = run.cases.filter((c) => !c.pass);
  return (
    <section aria-labelledby="eval-run-title" className="eval-run" data-testid="eval-run-detail">
      <h3 id="eval-run-title" className="section-title">
        Run #{run.id}: {run.suite.name} on v{run.prompt.version} — {run.summary.passed}/{run.summary.total} passed (
        {percent(run.summary.passRate)})
      </h3>
      {failing.length === 0 ? (
        <p className="muted">Every case passed.</p>
      ) : (
        <>
          <p>
            {failing.length} failing {failing.length === 1 ? 'case' : 'cases'}:
          </p>
          <ul className="failing-cases">
            {failing.map((c) => (
              <li key={c.id} data-testid={`failing-case-${c.id}`}>
                <strong>{c.id}</strong> <span className="muted">{whyFailed(c)}</span>
              </li>
            ))}
          </ul>
        </>
      )}
    </section>
  );
};
