import {
  armMetrics,
  formatArmFigure,
  formatDifference,
  formatMetricValue,
  formatPassRate,
  signedFigure,
} from '@promptops/core/rollouts';
import type { GuardrailVerdict, RolloutDetail, ShadowSummary } from '../../api/types';
import { Link } from '../../app/router';
import { Empty } from '../../components/states';

const NO_FIGURES = 'No figures yet: the server reads them from the traces of each arm.';

export const ArmsTable = ({ arms }: { arms: RolloutDetail['arms'] }) => {
  if (arms === null) return <Empty>{NO_FIGURES}</Empty>;
  const metrics = armMetrics(arms);
  return (
    <div className="table-scroll">
      <table className="table" data-testid="rollout-arms">
        <thead>
          <tr>
            <th scope="col" />
            <th scope="col">baseline</th>
            <th scope="col">candidate</th>
          </tr>
        </thead>
        <tbody>
          <tr>
            <th scope="row">calls</th>
            <td>{arms.baseline.requests.toLocaleString('en')}</td>
            <td>{arms.candidate.requests.toLocaleString('en')}</td>
          </tr>
          <tr>
            <th scope="row">units</th>
            <td>{arms.baseline.units === null ? '–' : arms.baseline.units.toLocaleString('en')}</td>
            <td>{arms.candidate.units === null ? '–' : arms.candidate.units.toLocaleString('en')}</td>
          </tr>
          {metrics.map((metric) => (
            <tr key={metric} data-testid={`arm-metric-${metric}`}>
              <th scope="row">
                {metric} <span className="muted">[interval]</span>
              </th>
              <td>{formatArmFigure(metric, arms.baseline.metrics?.[metric])}</td>
              <td>{formatArmFigure(metric, arms.candidate.metrics?.[metric])}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
};

const VERDICT_CLASS: Record<GuardrailVerdict['status'], string> = {
  ok: 'chip-good',
  fail: 'chip-bad',
  signal: 'chip-warn',
  insufficient: '',
};

export const GuardrailsTable = ({ guardrails }: { guardrails: RolloutDetail['guardrails'] }) => {
  if (guardrails === null) return <Empty>{NO_FIGURES}</Empty>;
  if (guardrails.length === 0) return <Empty>This rollout has no guardrails.</Empty>;
  return (
    <div className="table-scroll">
      <table className="table table-stack" data-testid="rollout-guardrails">
        <thead>
          <tr>
            <th scope="col">metric</th>
            <th scope="col">allowed change</th>
            <th scope="col">baseline</th>
            <th scope="col">candidate</th>
            <th scope="col">candidate − baseline (interval)</th>
            <th scope="col">verdict</th>
          </tr>
        </thead>
        <tbody>
          {guardrails.map((g) => (
            <tr key={g.metric} data-testid={`guardrail-${g.metric}`} title={g.reason}>
              <th scope="row">{g.metric}</th>
              <td>{signedFigure(g.threshold)}</td>
              <td>
                {formatMetricValue(g.metric, g.baseline.value)} <span className="muted">n={g.baseline.count}</span>
              </td>
              <td>
                {formatMetricValue(g.metric, g.candidate.value)} <span className="muted">n={g.candidate.count}</span>
              </td>
              <td>
                <code>{formatDifference(g.difference)}</code>
              </td>
              <td>
                <span className={`chip ${VERDICT_CLASS[g.status]}`}>{g.status}</span>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
};

const mean = (value: number | null): string => (value === null ? '–' : `${Math.round(value)} characters`);

export const ShadowPairs = ({ shadow }: { shadow: ShadowSummary | null }) => {
  if (shadow === null) return <Empty>{NO_FIGURES}</Empty>;
  return (
    <div data-testid="rollout-shadow">
      <p>
        <strong>{shadow.pairs.toLocaleString('en')}</strong> pairs: the same call answered by the baseline and, on a
        copy, by the candidate.
      </p>
      <table className="table">
        <thead>
          <tr>
            <th scope="col" />
            <th scope="col">baseline</th>
            <th scope="col">candidate</th>
          </tr>
        </thead>
        <tbody>
          {shadow.assertions !== null && (
            <tr>
              <th scope="row">live assertions passed</th>
              <td>{formatPassRate(shadow.assertions.baseline)}</td>
              <td>{formatPassRate(shadow.assertions.candidate)}</td>
            </tr>
          )}
          <tr>
            <th scope="row">mean output length</th>
            <td>{mean(shadow.length.baseline.mean)}</td>
            <td>{mean(shadow.length.candidate.mean)}</td>
          </tr>
        </tbody>
      </table>
      {shadow.differing.length > 0 && (
        <>
          <h3>The pairs that differ most</h3>
          <div className="table-scroll">
            <table className="table table-stack" data-testid="shadow-pairs">
              <thead>
                <tr>
                  <th scope="col">trace</th>
                  <th scope="col">differ</th>
                  <th scope="col">baseline answered</th>
                  <th scope="col">candidate would have answered</th>
                </tr>
              </thead>
              <tbody>
                {shadow.differing.map((pair) => (
                  <tr key={pair.traceId}>
                    <td>
                      <Link to={`/traces/${encodeURIComponent(pair.traceId)}`}>{pair.traceId}</Link>
                    </td>
                    <td>{pair.difference.toFixed(2)}</td>
                    <td className={pair.baseline.passed === false ? 'cell-bad' : undefined}>
                      {pair.baseline.output ?? <span className="muted">(no output)</span>}
                    </td>
                    <td className={pair.candidate.passed === false ? 'cell-bad' : undefined}>
                      {pair.candidate.output ?? <span className="muted">(no output)</span>}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </>
      )}
    </div>
  );
};
