import { useId, useState, type FormEvent } from 'react';

/** The editor's text read: the rules to send (null clears them), or every problem named. */
export type ParsedRules<R> =
  { readonly ok: true; readonly rules: R[] | null } | { readonly ok: false; readonly problems: readonly string[] };

/**
 * Targeting rules as JSON (a rollout's or a label's): `parse` checks the text before `onSave` sends it,
 * so a bad field is named here rather than after a round trip.
 */
export const RulesEditor = <R,>({
  rules,
  example,
  parse,
  busy,
  onSave,
  onCancel,
}: {
  /** The rules now, shown to start from. */
  rules: readonly unknown[];
  /** One rule as JSON, shown in the field's label. */
  example: string;
  parse: (text: string) => ParsedRules<R>;
  busy: boolean;
  onSave: (rules: R[] | null) => void;
  onCancel: () => void;
}) => {
  const editorId = useId();
  const [text, setText] = useState(() => (rules.length === 0 ? '' : JSON.stringify(rules, null, 2)));
  const [problems, setProblems] = useState<readonly string[]>([]);
  const save = (event: FormEvent) => {
    event.preventDefault();
    const parsed = parse(text);
    setProblems(parsed.ok ? [] : parsed.problems);
    if (parsed.ok) onSave(parsed.rules);
  };
  return (
    <form className="rules-editor" onSubmit={save}>
      <label htmlFor={editorId} className="field-label">
        Rules as JSON (empty clears them), e.g. {example}
      </label>
      <textarea
        id={editorId}
        className="input"
        rows={10}
        value={text}
        onChange={(event) => setText(event.target.value)}
      />
      {problems.length > 0 && (
        <ul className="error-note" role="alert">
          {problems.map((problem) => (
            <li key={problem}>{problem}</li>
          ))}
        </ul>
      )}
      <button type="submit" className="button" disabled={busy}>
        Save rules
      </button>
      <button type="button" className="button" onClick={onCancel}>
        Cancel
      </button>
    </form>
  );
};
