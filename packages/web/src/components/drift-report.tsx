import type { DriftExample, DriftReport } from '../api/types';
import {
  adjustedPText,
  differenceText,
  driftedText,
  embeddingText,
  sampleText,
  sideText,
  testText,
} from '../pages/drift/drift-format';
import { wordDiff, type WordPart } from './word-diff';

/**
 * One drift report: the verdict in words first, then a row per descriptor (A, B, the difference with its
 * interval, the test, the adjusted p, drifted or not), then the example pairs that differ most, side by
 * side with the words each version lost or gained marked as in a prompt diff.
 */

const CORRECTION: Record<DriftReport['correction'], string> = {
  holm: 'Holm',
  bh: 'Benjamini-Hochberg',
  none: 'no',
};

/** `verdict={false}` where the verdict line is already on screen (a change request's drift check). */
export const DriftReportView = ({ report, verdict = true }: { report: DriftReport; verdict?: boolean }) => (
  <div className="drift-report" data-testid="drift-report">
    {verdict && (
      <p className={`drift-verdict ${report.drifted ? 'drift-verdict-drifted' : ''}`} data-testid="drift-verdict">
        {report.verdict}
      </p>
    )}
    <p className="muted small">
      {sampleText(report)} · α = {report.alpha}, {CORRECTION[report.correction]} correction across descriptors
      {report.similarity !== null &&
        ` · pairs share ${Math.round(report.similarity.mean * 100)} % of their words on average (${report.similarity.identical} identical)`}
    </p>
    {embeddingText(report) !== null && (
      <p className="muted small" data-testid="drift-embedding">
        {embeddingText(report)}
      </p>
    )}
    <DescriptorTable report={report} />
    {report.examples.length > 0 && <ExamplePairs report={report} />}
  </div>
);

const DescriptorTable = ({ report }: { report: DriftReport }) => (
  <div className="table-scroll">
    <table className="table table-stack drift-table" data-testid="drift-table">
      <caption className="visually-hidden">
        Descriptors of {report.versions.b} compared with {report.versions.a}
      </caption>
      <thead>
        <tr>
          <th scope="col">descriptor</th>
          <th scope="col">{report.versions.a}</th>
          <th scope="col">{report.versions.b}</th>
          <th scope="col">difference [interval]</th>
          <th scope="col">test</th>
          <th scope="col" className="num">
            adjusted p
          </th>
          <th scope="col">drifted</th>
        </tr>
      </thead>
      <tbody>
        {report.descriptors.map((d) => {
          const drifted = driftedText(d);
          return (
            <tr
              key={d.name}
              data-testid={`drift-row-${d.name}`}
              data-drifted={drifted}
              className={`drift-${drifted.replaceAll(' ', '-')}`}
            >
              <th scope="row" title={`outputs ${d.words}`}>
                <code>{d.name}</code>
              </th>
              <td>
                <span className="stack-label">{report.versions.a} </span>
                {sideText(d, d.a)}
              </td>
              <td>
                <span className="stack-label">{report.versions.b} </span>
                {sideText(d, d.b)}
              </td>
              <td>{differenceText(d)}</td>
              <td className="muted">{testText(d)}</td>
              <td className="num">
                <span className="stack-label">p </span>
                {adjustedPText(d)}
              </td>
              <td>
                <span
                  className={`chip ${drifted === 'yes' ? 'chip-bad' : drifted === 'no' ? 'chip-good' : 'chip-warn'}`}
                >
                  {drifted === 'yes' ? 'drifted' : drifted === 'no' ? 'no drift' : drifted}
                </span>
              </td>
            </tr>
          );
        })}
      </tbody>
    </table>
  </div>
);

const Words = ({ parts }: { parts: readonly WordPart[] }) => (
  <>
    {parts.map((part, index) =>
      part.op === 'equal' ? (
        <span key={index}>{part.text}</span>
      ) : part.op === 'add' ? (
        <ins key={index}>{part.text}</ins>
      ) : (
        <del key={index}>{part.text}</del>
      ),
    )}
  </>
);

const Pair = ({ example, versions }: { example: DriftExample; versions: DriftReport['versions'] }) => {
  const { a, b } = wordDiff(example.a, example.b);
  const vars = Object.entries(example.vars)
    .map(([key, value]) => `${key} = ${JSON.stringify(value)}`)
    .join(', ');
  return (
    <li className="drift-pair" data-testid={`drift-example-${example.id}`}>
      <p className="small">
        <strong>{example.id}</strong>{' '}
        <span className="muted">
          similarity {example.similarity.toFixed(2)} · differs in{' '}
          {example.differs.length === 0 ? 'wording only' : example.differs.join(', ')}
          {vars === '' ? '' : ` · ${vars}`}
        </span>
      </p>
      <div className="diff drift-pair-sides" role="group" aria-label={`${example.id}: ${versions.a} and ${versions.b}`}>
        <div className="diff-cell diff-remove">
          <span className="drift-pair-side">{versions.a}</span>
          <span className="diff-text">
            <Words parts={a} />
          </span>
        </div>
        <div className="diff-cell diff-add">
          <span className="drift-pair-side">{versions.b}</span>
          <span className="diff-text">
            <Words parts={b} />
          </span>
        </div>
      </div>
    </li>
  );
};

const ExamplePairs = ({ report }: { report: DriftReport }) => (
  <>
    <h4 className="drift-examples-title">Pairs that differ most</h4>
    <ol className="drift-examples" data-testid="drift-examples">
      {report.examples.map((example) => (
        <Pair key={example.id} example={example} versions={report.versions} />
      ))}
    </ol>
  </>
);
