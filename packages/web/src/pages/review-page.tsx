import type { ReactNode } from 'react';
import type { ChangeRequestView, CheckStatus, DriftCheckSuite } from '../api/types';
import { dateTime } from '../app/format';
import { Link, navigate } from '../app/router';
import { useApiGet } from '../app/use-api';
import { LabelChip, Sha, When } from '../components/badges';
import { DiffView } from '../components/diff-view';
import { DriftReportView } from '../components/drift-report';
import { ErrorNote, Loading } from '../components/states';
import { useLabelEvents } from '../live/live-feed';
import { CompareVersions } from './drift/compare-versions';

const MARK: Record<CheckStatus, string> = { passed: '✓', failed: '✗', pending: '…', not_available: '–' };
const MARK_TEXT: Record<CheckStatus, string> = {
  passed: 'passed',
  failed: 'failed',
  pending: 'pending',
  not_available: 'not available',
};

const Check = ({ name, status, children }: { name: string; status: CheckStatus; children: ReactNode }) => (
  <li className={`check-${status}`} data-testid={`check-${name}`} data-status={status}>
    <span className="check-mark" aria-label={MARK_TEXT[status]}>
      {MARK[status]}
    </span>
    <strong>{name}</strong>: {children}
  </li>
);

/** The drift check per suite: its verdict, and the report's table and example pairs on demand. */
const DriftSuites = ({ suites, noDrift }: { suites: readonly DriftCheckSuite[]; noDrift: readonly string[] }) => (
  <>
    {noDrift.length > 0 && <span className="muted"> the policy requires no drift on {noDrift.join(', ')}</span>}
    <ul className="drift-suites">
      {suites.map((suite) => (
        <li key={suite.suite} data-testid={`drift-suite-${suite.suite}`} data-status={suite.status}>
          <strong>{suite.suite}</strong>
          {suite.required && <span className="muted"> (required)</span>}: {suite.message}
          {suite.violations.length > 0 && (
            <div className="check-violations">must not drift: {suite.violations.join(', ')}</div>
          )}
          {suite.report !== null && (
            <details className="details">
              <summary>Descriptors and example pairs</summary>
              <DriftReportView report={suite.report} verdict={false} />
            </details>
          )}
        </li>
      ))}
    </ul>
  </>
);

/**
 * One change request: what it changes, whether it may merge, and what happened to it. Read-only, but for
 * "compare versions" (a new drift report, for editors and up).
 */
export const ReviewPage = ({ id }: { id: string }) => {
  const review = useApiGet<ChangeRequestView>(`/reviews/${encodeURIComponent(id)}`);
  useLabelEvents(() => review.reload());
  const cr = review.data;
  return (
    <section aria-labelledby="review-title">
      <div className="page-head">
        <p className="muted">
          <Link to="/reviews">Reviews</Link>
        </p>
        <h1 id="review-title" className="page-title" tabIndex={-1}>
          Change request #{id}
        </h1>
        {cr !== undefined && (
          <p>
            <Link to={`/prompts/${encodeURIComponent(cr.name)}`}>{cr.name}</Link>: <LabelChip label={cr.label} />{' '}
            {cr.from === null ? '(none)' : `v${cr.from.version}`} → v{cr.to.version} <Sha sha={cr.sha} />{' '}
            <span className={`chip chip-status-${cr.status}`} data-testid="review-status">
              {cr.status}
            </span>{' '}
            {cr.protected && <span className="chip chip-production">protected</span>}
          </p>
        )}
        {cr !== undefined && (
          <p className="muted">
            opened by {cr.author} <When at={cr.createdAt} />
            {cr.message === '' ? '' : `: ${cr.message}`}
          </p>
        )}
        {cr?.rollout != null && (
          <p data-testid="review-rollout">
            {cr.rollout.rolloutId === null ? (
              <>
                Merging starts a <strong>{cr.rollout.plan.mode}</strong> rollout of v{cr.version} on{' '}
                <LabelChip label={cr.label} /> (steps {cr.rollout.plan.steps.join(', ')} %); the label moves when it
                completes.
              </>
            ) : (
              <>
                Merged: started rollout{' '}
                <Link to={`/rollouts/${cr.rollout.rolloutId}`}>
                  <code>{cr.rollout.rolloutId}</code>
                </Link>
                .
              </>
            )}
          </p>
        )}
      </div>
      {review.error !== undefined && <ErrorNote error={review.error} retry={review.reload} />}
      {review.loading && <Loading what="the change request" />}
      {cr !== undefined && (
        <>
          <h2>Checks</h2>
          <ul className="checks" data-testid="checks">
            <Check name="approvals" status={cr.checks.approvals.status}>
              {cr.checks.approvals.message} — may approve: {cr.checks.approvals.eligible}
              {cr.checks.approvals.approvedBy.map((a) => (
                <div key={`a-${a.actor}`} className="muted">
                  approved by {a.actor} <When at={a.at} />
                  {a.counted ? '' : ' (not counted)'}
                  {a.comment === '' ? '' : `: ${a.comment}`}
                </div>
              ))}
              {cr.checks.approvals.rejectedBy.map((r) => (
                <div key={`r-${r.actor}`} className="muted">
                  rejected by {r.actor} <When at={r.at} />
                  {r.comment === '' ? '' : `: ${r.comment}`}
                </div>
              ))}
            </Check>
            <Check name="eval suites" status={cr.checks.evals.status}>
              {cr.checks.evals.message}
            </Check>
            <Check name="label" status={cr.checks.base.status}>
              {cr.checks.base.message}
            </Check>
            {/* A check that does not exist yet is no news: shown once it does. */}
            {cr.checks.drift.status === 'not_available' ? null : (
              <Check name="drift" status={cr.checks.drift.status}>
                {cr.checks.drift.suites.length === 0 ? (
                  cr.checks.drift.message
                ) : (
                  <DriftSuites suites={cr.checks.drift.suites} noDrift={cr.checks.drift.noDrift} />
                )}
              </Check>
            )}
          </ul>
          <CompareVersions
            prompt={cr.name}
            a={cr.from === null ? '' : `v${cr.from.version}`}
            b={`v${cr.to.version}`}
            suite={cr.checks.drift.suites[0]?.suite ?? ''}
            onCreated={(report) =>
              navigate(`/prompts/${encodeURIComponent(cr.name)}?tab=drift&report=${encodeURIComponent(report.id)}`)
            }
          />
          <p data-testid="mergeable">
            {cr.mergeable ? (
              <>
                Every check passes: <code>promptops review merge {cr.id}</code>
              </>
            ) : cr.status === 'open' ? (
              'Not mergeable yet.'
            ) : (
              `This change request is ${cr.status}.`
            )}
          </p>
          <h2>Changes</h2>
          <div data-testid="diff">
            <DiffView
              diff={cr.diff}
              fromLabel={cr.from === null ? '(nothing)' : `v${cr.from.version}`}
              toLabel={`v${cr.to.version}`}
            />
          </div>
          <h2>Timeline</h2>
          <ol className="timeline" data-testid="timeline">
            {cr.timeline.map((event, index) => (
              <li
                key={index}
                className={event.kind === 'forced' ? 'timeline-forced' : undefined}
                data-kind={event.kind}
              >
                <time dateTime={event.at} title={dateTime(event.at)}>
                  {dateTime(event.at)}
                </time>{' '}
                {event.kind === 'forced' ? 'forced (break glass)' : event.kind} by {event.actor}
                {event.comment === '' ? '' : `: ${event.comment}`}
              </li>
            ))}
          </ol>
        </>
      )}
    </section>
  );
};
