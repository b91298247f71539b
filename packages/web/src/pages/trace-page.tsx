import { useState } from 'react';
import { withQuery } from '../api/client';
import type { PromptContent, RollbackResult, ScoreRecord, TraceDetail } from '../api/types';
import { dateTime, integer, millis, shortSha } from '../app/format';
import { Link } from '../app/router';
import { useSession } from '../app/session';
import { useNotify } from '../app/toasts';
import { useApiGet } from '../app/use-api';
import { LabelChip, Sha } from '../components/badges';
import { DiffView } from '../components/diff-view';
import { RollbackDialog, type RollbackTarget } from '../components/rollback-dialog';
import { ErrorNote, Loading } from '../components/states';

/**
 * One trace as the application saw it, the exact prompt version (sha) that produced it, and how that
 * version differs from what its label serves now; a deployer can roll the label back from here.
 */
export const TracePage = ({ id }: { id: string }) => {
  const [revision, setRevision] = useState(0);
  const detail = useApiGet<TraceDetail>(`/traces/${encodeURIComponent(id)}`, undefined, revision);
  if (detail.error !== undefined) return <ErrorNote error={detail.error} retry={detail.reload} />;
  if (detail.data === undefined) return <Loading what={`trace ${id}`} />;
  return <TraceView detail={detail.data} onChanged={() => setRevision((value) => value + 1)} />;
};

const TraceView = ({ detail, onChanged }: { detail: TraceDetail; onChanged: () => void }) => {
  const { trace, version, labelNow } = detail;
  const prompt = trace.prompt;
  return (
    <article className="trace-page">
      <header className="page-head">
        <p className="breadcrumb small">
          <Link to={prompt === null ? '/traces' : withQuery('/traces', { prompt: prompt.name })}>Traces</Link> /
        </p>
        <h1 className="page-title" tabIndex={-1}>
          Trace {trace.id}
        </h1>
        <p className="muted">
          {dateTime(trace.startedAt)} · <span className={`status status-${trace.status}`}>{trace.status}</span>
        </p>
      </header>

      <section className="card" aria-labelledby="trace-prompt-title">
        <h2 id="trace-prompt-title" className="section-title">
          Prompt version
        </h2>
        {prompt === null ? (
          <p className="muted">This call named no prompt.</p>
        ) : (
          <dl className="facts">
            <dt>prompt</dt>
            <dd>
              <Link to={`/prompts/${encodeURIComponent(prompt.name)}`}>{prompt.name}</Link>
              {prompt.version !== null && <strong> v{prompt.version}</strong>}
            </dd>
            <dt>sha</dt>
            <dd>
              <code className="sha-full" data-testid="trace-sha">
                {prompt.sha ?? '–'}
              </code>
            </dd>
            {prompt.effectiveSha !== null && (
              <>
                <dt>effective sha</dt>
                <dd>
                  <code className="sha-full">{prompt.effectiveSha}</code>
                </dd>
              </>
            )}
            <dt>label</dt>
            <dd>{trace.label === null ? '–' : <LabelChip label={trace.label} />}</dd>
            {version !== null && (
              <>
                <dt>author</dt>
                <dd>
                  {version.author}: {version.message}
                </dd>
              </>
            )}
          </dl>
        )}
        {labelNow !== null && <LabelNow detail={detail} onChanged={onChanged} />}
      </section>

      <section className="card" aria-labelledby="trace-call-title">
        <h2 id="trace-call-title" className="section-title">
          The call
        </h2>
        <dl className="facts">
          <dt>tenant</dt>
          <dd>{trace.tenant ?? '–'}</dd>
          {trace.rollout !== null && (
            <>
              <dt>rollout</dt>
              <dd>
                {trace.rollout.id ?? '–'} · arm {trace.rollout.arm ?? '–'}
              </dd>
            </>
          )}
          <dt>model</dt>
          <dd>
            {trace.provider ?? '–'} / {trace.model ?? '–'}
          </dd>
          <dt>latency</dt>
          <dd>{millis(trace.latencyMs)}</dd>
          <dt>tokens</dt>
          <dd>
            {integer(trace.usage.inputTokens)} in · {integer(trace.usage.outputTokens)} out
          </dd>
          {trace.cost !== null && (
            <>
              <dt>cost</dt>
              <dd>${trace.cost.toFixed(6)}</dd>
            </>
          )}
          <dt>trace / span</dt>
          <dd>
            <code className="small">
              {trace.traceId ?? '–'} / {trace.spanId ?? '–'}
            </code>
          </dd>
        </dl>
        <h3 className="section-subtitle">Variables</h3>
        <pre className="code-block">{JSON.stringify(trace.variables ?? {}, null, 2)}</pre>
        <h3 className="section-subtitle">{trace.error !== null ? 'Error' : 'Output'}</h3>
        <pre className={`code-block ${trace.error !== null ? 'code-error' : ''}`}>
          {trace.error ?? trace.output ?? '–'}
        </pre>
        {trace.scores.length > 0 && <Scores scores={trace.scores} />}
      </section>

      {version !== null && (
        <section className="card" aria-labelledby="trace-content-title">
          <h2 id="trace-content-title" className="section-title">
            v{version.version} as it was served
          </h2>
          <PromptContentView content={version.content} />
          {detail.diffToParent !== null && detail.parent !== null && (
            <details className="details" open>
              <summary>
                What v{version.version} changed from v{detail.parent.version}
              </summary>
              <DiffView
                diff={detail.diffToParent}
                fromLabel={`v${detail.parent.version} (${shortSha(detail.parent.sha)})`}
                toLabel={`v${version.version} (${shortSha(version.sha)})`}
              />
            </details>
          )}
        </section>
      )}
    </article>
  );
};

/** Whether the trace's label still serves its version; if not, the diff to what it serves now. */
const LabelNow = ({ detail, onChanged }: { detail: TraceDetail; onChanged: () => void }) => {
  const { canDeploy } = useSession();
  const notify = useNotify();
  const [target, setTarget] = useState<RollbackTarget | undefined>(undefined);
  const labelNow = detail.labelNow!;
  const serving = labelNow.version;
  const done = (result: RollbackResult) => {
    setTarget(undefined);
    notify(`Rolled back ${result.label.label} to v${result.label.version} in ${millis(result.elapsedMs)}`, 'success');
    onChanged();
  };
  return (
    <div className="label-now" data-testid="label-now">
      {labelNow.servesTrace ? (
        <p>
          <LabelChip label={labelNow.label} /> still serves this version (v{serving.version}).
        </p>
      ) : (
        <p>
          <LabelChip label={labelNow.label} /> serves <strong>v{serving.version}</strong> <Sha sha={serving.sha} /> now.
          What changed since this trace:
        </p>
      )}
      {detail.rollback !== null && canDeploy && (
        <button
          type="button"
          className="button button-danger-outline"
          onClick={() =>
            setTarget({
              name: detail.rollback!.name,
              label: detail.rollback!.label,
              current: detail.rollback!.from,
              to: detail.rollback!.to,
            })
          }
        >
          Roll back {detail.rollback.label} to v{detail.rollback.to.version}
        </button>
      )}
      {labelNow.diff !== null && detail.version !== null && (
        <DiffView
          diff={labelNow.diff}
          fromLabel={`this trace: v${detail.version.version}`}
          toLabel={`${labelNow.label} now: v${serving.version}`}
        />
      )}
      {target !== undefined && <RollbackDialog target={target} onClose={() => setTarget(undefined)} onDone={done} />}
    </div>
  );
};

const Scores = ({ scores }: { scores: readonly ScoreRecord[] }) => (
  <>
    <h3 className="section-subtitle">Scores and feedback</h3>
    <ul className="scores">
      {scores.map((score) => (
        <li key={score.id}>
          <span className={`chip ${score.value === 'down' ? 'chip-bad' : score.value === 'up' ? 'chip-good' : ''}`}>
            {score.name}: {score.kind === 'thumbs' ? `thumbs ${String(score.value)}` : String(score.value)}
          </span>{' '}
          {score.comment !== null && <q>{score.comment}</q>} <span className="muted small">— {score.actor}</span>
        </li>
      ))}
    </ul>
  </>
);

/** The version's content the way a prompt file shows it: messages (or the template), config, variables. */
const PromptContentView = ({ content }: { content: PromptContent }) => (
  <div className="prompt-content">
    {content.type === 'text' ? (
      <pre className="code-block">{content.template}</pre>
    ) : (
      content.messages.map((message, index) => (
        <div key={index} className="message">
          <div className="message-role">{message.role}</div>
          <pre className="code-block">{message.content}</pre>
        </div>
      ))
    )}
    <p className="small muted">
      model: {content.config.provider ?? '–'} / {content.config.model ?? '–'}
      {Object.keys(content.config.params).length > 0 && ` · ${JSON.stringify(content.config.params)}`} · variables:{' '}
      {Object.keys(content.variables).join(', ') || 'none'}
    </p>
  </div>
);
