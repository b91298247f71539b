import { useEffect, useId, useState, type FormEvent } from 'react';
import { rampHistory, signedFigure } from '@promptops/core/rollouts';
import type { RolloutDetail, RolloutView } from '../api/types';
import { dateTime } from '../app/format';
import { Link } from '../app/router';
import { useSession } from '../app/session';
import { useNotify } from '../app/toasts';
import { useApiGet } from '../app/use-api';
import { LabelChip, Sha, When } from '../components/badges';
import { ErrorNote, Loading } from '../components/states';
import { useLabelEvents } from '../live/live-feed';
import { ArmsTable, GuardrailsTable, ShadowPairs } from './rollout/rollout-figures';
import { rampGeometry } from './rollout/ramp-chart';
import { ShadowDriftButton } from './rollout/shadow-drift';
import { RolloutState } from './rollout/rollouts-table';
import { TargetingPanel } from './rollout/targeting-panel';

const CHART = { width: 640, height: 160, pad: 16 };
/** A running rollout's figures change as traffic flows: looked at again this often. */
const REFRESH_MS = 15_000;

const minutes = (ms: number): string => (ms % 60_000 === 0 ? `${ms / 60_000} min` : `${Math.round(ms / 1000)} s`);

const RampChart = ({ detail }: { detail: RolloutDetail }) => {
  const spans = rampHistory(detail.rollout, detail.decisions);
  const end = detail.rollout.endedAt === null ? Date.now() : Date.parse(detail.rollout.endedAt);
  const chart = rampGeometry(spans, end, CHART);
  return (
    <figure className="ramp-chart">
      <svg
        viewBox={`0 0 ${CHART.width} ${CHART.height}`}
        role="img"
        aria-label={`The ramp over time: ${spans.map((s) => `${s.ramp} % ${s.state}`).join(', ')}`}
        data-testid="ramp-chart"
      >
        {[0, 50, 100].map((ramp) => {
          const y = CHART.height - CHART.pad - (ramp / 100) * (CHART.height - 2 * CHART.pad);
          return (
            <g key={ramp} className="ramp-grid">
              <line x1={CHART.pad} x2={CHART.width - CHART.pad} y1={y} y2={y} />
              <text x={2} y={y + 4}>
                {ramp}
              </text>
            </g>
          );
        })}
        <path d={chart.path} className="ramp-line" />
        {chart.points.map((point, index) => (
          <circle key={index} cx={point.x} cy={point.y} r={4} className={`ramp-point ramp-${point.span.state}`}>
            <title>{`${dateTime(point.span.at)}: ${point.span.ramp} % ${point.span.state} (${point.span.action} by ${point.span.actor})`}</title>
          </circle>
        ))}
      </svg>
      <figcaption>
        <ol className="ramp-steps" data-testid="ramp-spans">
          {spans.map((span, index) => (
            <li key={index}>
              <time dateTime={span.at}>{dateTime(span.at)}</time>: <strong>{span.ramp} %</strong> {span.state} (
              {span.action} by {span.actor})
            </li>
          ))}
        </ol>
      </figcaption>
    </figure>
  );
};

/** Pause, resume and abort: deployers and up (the server enforces it; lower roles see why not). */
const Actions = ({ rollout, onDone }: { rollout: RolloutView; onDone: (updated: RolloutView) => void }) => {
  const { api, canDeploy } = useSession();
  const notify = useNotify();
  const reasonId = useId();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<Error | undefined>(undefined);
  const [confirming, setConfirming] = useState(false);
  const [reason, setReason] = useState('');
  const live = rollout.state === 'running' || rollout.state === 'paused';
  if (!live) return null;
  if (!canDeploy) {
    return <p className="muted">Deployers and admins can pause or abort this rollout.</p>;
  }
  const act = async (action: 'pause' | 'resume' | 'abort', why?: string) => {
    setBusy(true);
    setError(undefined);
    try {
      const updated = await api.post<RolloutView>(
        `/rollouts/${encodeURIComponent(rollout.id)}/${action}`,
        why === undefined || why.trim() === '' ? {} : { reason: why.trim() },
      );
      setConfirming(false);
      notify(`Rollout ${updated.state === 'running' ? 'resumed' : updated.state}`, 'success');
      onDone(updated);
    } catch (caught) {
      setError(caught instanceof Error ? caught : new Error(String(caught)));
    } finally {
      setBusy(false);
    }
  };
  const submitAbort = (event: FormEvent) => {
    event.preventDefault();
    void act('abort', reason);
  };
  return (
    <div className="rollout-actions" data-testid="rollout-actions">
      {rollout.state === 'running' && (
        <button type="button" className="button" disabled={busy} onClick={() => void act('pause')}>
          Pause
        </button>
      )}
      {rollout.state === 'paused' && (
        <button type="button" className="button" disabled={busy} onClick={() => void act('resume')}>
          Resume
        </button>
      )}
      {!confirming ? (
        <button
          type="button"
          className="button button-danger-outline"
          disabled={busy}
          onClick={() => setConfirming(true)}
        >
          Abort…
        </button>
      ) : (
        <form className="abort-form" onSubmit={submitAbort}>
          <label htmlFor={reasonId} className="field-label">
            Why abort? (recorded in the decision log)
          </label>
          <input
            id={reasonId}
            className="input"
            maxLength={500}
            value={reason}
            onChange={(event) => setReason(event.target.value)}
            placeholder="e.g. the candidate stopped greeting customers by name"
          />
          <button type="submit" className="button button-danger" disabled={busy}>
            Abort rollout
          </button>
          <button type="button" className="button" onClick={() => setConfirming(false)}>
            Cancel
          </button>
        </form>
      )}
      {error !== undefined && <ErrorNote error={error} />}
    </div>
  );
};

/**
 * One rollout: what is tried where, the ramp over time, the figures per arm with their intervals, the
 * guardrails' verdicts, the shadow pairs, and every decision with its reason.
 */
export const RolloutPage = ({ id }: { id: string }) => {
  const [revision, setRevision] = useState(0);
  const resource = useApiGet<RolloutDetail>(`/rollouts/${encodeURIComponent(id)}`, undefined, revision);
  const detail = resource.data;
  const rollout = detail?.rollout;
  useLabelEvents(() => setRevision((value) => value + 1), rollout?.name);
  const running = rollout?.state === 'running';
  useEffect(() => {
    if (!running) return;
    const timer = window.setInterval(() => setRevision((value) => value + 1), REFRESH_MS);
    return () => window.clearInterval(timer);
  }, [running]);

  return (
    <section aria-labelledby="rollout-title" className="rollout-page">
      <div className="page-head">
        <p className="breadcrumb small">
          <Link to="/rollouts">Rollouts</Link> /
        </p>
        <h1 id="rollout-title" className="page-title" tabIndex={-1}>
          Rollout <code>{id}</code>
        </h1>
        {rollout !== undefined && (
          <>
            <p>
              <Link to={`/prompts/${encodeURIComponent(rollout.name)}?tab=rollouts`}>{rollout.name}</Link>{' '}
              <LabelChip label={rollout.label} /> {rollout.mode} <RolloutState state={rollout.state} />{' '}
              {(rollout.state === 'running' || rollout.state === 'paused') && (
                <strong data-testid="rollout-ramp">
                  {rollout.ramp} % (step {rollout.stepIndex + 1} of {rollout.steps.length})
                </strong>
              )}
            </p>
            <p>
              baseline <Sha sha={rollout.baselineSha} /> vs candidate v{rollout.candidate.version}{' '}
              <Sha sha={rollout.candidate.sha} />
            </p>
            <p className="muted">
              steps {rollout.steps.join(', ')} %; each at least {minutes(rollout.config.minStepDurationMs)} and{' '}
              {rollout.config.minSamplesPerArm} samples per arm; guardrails{' '}
              {rollout.config.guardrails.length === 0
                ? 'none'
                : rollout.config.guardrails.map((g) => `${g.metric} ${signedFigure(g.threshold)}`).join(', ')}
              . Started by {rollout.createdBy} <When at={rollout.createdAt} />
              {rollout.endedAt !== null && (
                <>
                  , ended <When at={rollout.endedAt} />
                </>
              )}
              .
            </p>
            {rollout.reason !== null && (
              <p data-testid="rollout-reason">
                <strong>Reason:</strong> {rollout.reason}
              </p>
            )}
            <Actions
              rollout={rollout}
              onDone={() => {
                setRevision((value) => value + 1);
              }}
            />
          </>
        )}
      </div>
      {resource.error !== undefined && <ErrorNote error={resource.error} retry={resource.reload} />}
      {resource.loading && <Loading what="the rollout" />}
      {detail !== undefined && (
        <>
          <h2>Targeting</h2>
          <TargetingPanel rollout={detail.rollout} onDone={() => setRevision((value) => value + 1)} />
          <h2>Ramp over time</h2>
          <RampChart detail={detail} />
          <h2>Arms</h2>
          <ArmsTable arms={detail.arms} />
          <h2>Guardrails</h2>
          <GuardrailsTable guardrails={detail.guardrails} />
          {detail.rollout.mode === 'shadow' && (
            <>
              <h2>Shadow pairs</h2>
              <ShadowPairs shadow={detail.shadow} />
              {detail.shadow !== null && <ShadowDriftButton rollout={detail.rollout} />}
            </>
          )}
          <h2>Decision log</h2>
          <div className="table-scroll">
            <table className="table table-stack" data-testid="rollout-decisions">
              <thead>
                <tr>
                  <th scope="col">when</th>
                  <th scope="col">decision</th>
                  <th scope="col">by</th>
                  <th scope="col">reason</th>
                </tr>
              </thead>
              <tbody>
                {detail.decisions.map((decision) => (
                  <tr key={decision.id} data-action={decision.action}>
                    <td>
                      <time dateTime={decision.at} title={dateTime(decision.at)}>
                        {dateTime(decision.at)}
                      </time>
                    </td>
                    <td>{decision.action}</td>
                    <td>{decision.actor}</td>
                    <td>{decision.reason}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </>
      )}
    </section>
  );
};
