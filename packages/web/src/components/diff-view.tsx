import { useState } from 'react';
import type { DiffLine, FieldChange, PromptDiff } from '../api/types';
import { useMediaQuery } from '../app/use-media-query';
import { sectionTitle, splitRows } from './diff-rows';

/**
 * A prompt diff: the body (template, or each chat message, then slots) line by line with word-level marks
 * where a line was replaced, side by side on wide screens and unified on narrow ones; then changed fields
 * (config, variables, type) as a table.
 */

const OP_SIGN = { equal: ' ', add: '+', remove: '−' } as const;
const OP_NAME = { equal: 'unchanged', add: 'added', remove: 'removed' } as const;

const LineText = ({ line }: { line: DiffLine }) => {
  if (line.words === undefined) return <>{line.text === '' ? '\u00a0' : line.text}</>;
  return (
    <>
      {line.words.map((word, index) =>
        word.op === 'equal' ? (
          <span key={index}>{word.text}</span>
        ) : word.op === 'add' ? (
          <ins key={index}>{word.text}</ins>
        ) : (
          <del key={index}>{word.text}</del>
        ),
      )}
    </>
  );
};

const Cell = ({ line }: { line: DiffLine | undefined }) =>
  line === undefined ? (
    <div className="diff-cell diff-blank" aria-hidden="true" />
  ) : (
    <div className={`diff-cell diff-${line.op}`} data-op={line.op}>
      <span className="diff-sign" aria-label={OP_NAME[line.op]}>
        {OP_SIGN[line.op]}
      </span>
      <span className="diff-text">
        <LineText line={line} />
      </span>
    </div>
  );

const SectionRow = ({ title }: { title: string }) => <div className="diff-section">{title}</div>;

const SplitBody = ({
  lines,
  fromLabel,
  toLabel,
}: {
  lines: readonly DiffLine[];
  fromLabel: string;
  toLabel: string;
}) => (
  <div className="diff-split" role="group" aria-label={`changes from ${fromLabel} to ${toLabel}`}>
    <div className="diff-split-head" aria-hidden="true">
      <div>{fromLabel}</div>
      <div>{toLabel}</div>
    </div>
    {splitRows(lines).map((row, index) => {
      const title = row.left?.op === 'equal' ? sectionTitle(row.left.text) : undefined;
      if (title !== undefined) return <SectionRow key={index} title={title} />;
      return (
        <div className="diff-split-row" key={index}>
          <Cell line={row.left} />
          <Cell line={row.right} />
        </div>
      );
    })}
  </div>
);

const UnifiedBody = ({ lines }: { lines: readonly DiffLine[] }) => (
  <div className="diff-unified">
    {lines.map((line, index) => {
      const title = line.op === 'equal' ? sectionTitle(line.text) : undefined;
      return title !== undefined ? <SectionRow key={index} title={title} /> : <Cell key={index} line={line} />;
    })}
  </div>
);

const show = (value: unknown): string => (value === undefined ? '—' : JSON.stringify(value));

const FieldTable = ({ fields }: { fields: readonly FieldChange[] }) => (
  <div className="table-scroll">
    <table className="table diff-fields">
      <caption>Changed fields</caption>
      <thead>
        <tr>
          <th scope="col">field</th>
          <th scope="col">before</th>
          <th scope="col">after</th>
        </tr>
      </thead>
      <tbody>
        {fields.map((field) => (
          <tr key={field.path}>
            <th scope="row">
              <code>{field.path}</code>
            </th>
            <td className="diff-remove">
              <code>{show(field.from)}</code>
            </td>
            <td className="diff-add">
              <code>{show(field.to)}</code>
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  </div>
);

export const DiffView = ({ diff, fromLabel, toLabel }: { diff: PromptDiff; fromLabel: string; toLabel: string }) => {
  const wide = useMediaQuery('(min-width: 760px)');
  const [mode, setMode] = useState<'split' | 'unified' | undefined>(undefined);
  const layout = mode ?? (wide ? 'split' : 'unified');
  if (diff.identical) return <p className="muted">The two versions have the same content.</p>;
  const bodyChanged = diff.lines.some((line) => line.op !== 'equal');
  return (
    <div className="diff" data-testid="diff">
      <div className="diff-toolbar">
        <span className="muted">
          {diff.lines.filter((line) => line.op === 'remove').length} removed ·{' '}
          {diff.lines.filter((line) => line.op === 'add').length} added · {diff.fields.length} fields changed
        </span>
        <div className="segmented" role="group" aria-label="Diff layout">
          {(['split', 'unified'] as const).map((option) => (
            <button
              key={option}
              type="button"
              className="button button-small"
              aria-pressed={layout === option}
              onClick={() => setMode(option)}
            >
              {option === 'split' ? 'Side by side' : 'Unified'}
            </button>
          ))}
        </div>
      </div>
      {bodyChanged &&
        (layout === 'split' ? (
          <SplitBody lines={diff.lines} fromLabel={fromLabel} toLabel={toLabel} />
        ) : (
          <UnifiedBody lines={diff.lines} />
        ))}
      {!bodyChanged && <p className="muted">The prompt text is unchanged.</p>}
      {diff.fields.length > 0 && <FieldTable fields={diff.fields} />}
    </div>
  );
};
