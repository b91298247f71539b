import { useId, useState, type FormEvent } from 'react';
import { withQuery } from '../api/client';
import type { AuditEntry, AuditPage as AuditResult, PromptListItem } from '../api/types';
import { dateTime } from '../app/format';
import { Link, useLocation, useSearchParam } from '../app/router';
import { useSession } from '../app/session';
import { useApiGet } from '../app/use-api';
import { Sha, When } from '../components/badges';
import { Empty, ErrorNote, Loading } from '../components/states';
import { useLabelEvents } from '../live/live-feed';

const PAGE_SIZE = 50;

/** The hash-chained audit log, newest first, filtered by actor and prompt on the server. */
export const AuditPage = () => {
  const { search } = useLocation();
  const { api } = useSession();
  const actor = search.get('actor') ?? undefined;
  const prompt = search.get('prompt') ?? undefined;
  const query = { order: 'desc', limit: PAGE_SIZE, actor, prompt };
  const key = withQuery('', query);
  const [revision, setRevision] = useState(0);
  const first = useApiGet<AuditResult>('/audit', query, revision);
  const [older, setOlder] = useState<{ key: string; pages: AuditResult[] }>({ key, pages: [] });
  const [more, setMore] = useState<{ loading: boolean; error?: Error }>({ loading: false });
  const pages = older.key === key ? older.pages : [];
  const next = (pages.at(-1) ?? first.data)?.next ?? null;
  useLabelEvents(() => setRevision((value) => value + 1));

  const loadMore = async (before: number) => {
    setMore({ loading: true });
    try {
      const page = await api.get<AuditResult>('/audit', { ...query, before });
      setOlder({ key, pages: [...pages, page] });
      setMore({ loading: false });
    } catch (error) {
      setMore({ loading: false, error: error instanceof Error ? error : new Error(String(error)) });
    }
  };

  const entries = [...(first.data?.entries ?? []), ...pages.flatMap((page) => page.entries)];
  return (
    <section aria-labelledby="audit-title">
      <div className="page-head">
        <h1 id="audit-title" className="page-title" tabIndex={-1}>
          Audit log
        </h1>
        <p className="muted">Append-only and hash-chained: every version and every label move, who and why.</p>
      </div>
      <AuditFilters key={key} actor={actor ?? ''} prompt={prompt ?? ''} />
      {first.error !== undefined && <ErrorNote error={first.error} retry={first.reload} />}
      {first.loading && <Loading what="the audit log" />}
      {first.data !== undefined && entries.length === 0 && <Empty>No entries match.</Empty>}
      {entries.length > 0 && (
        <div className="table-scroll">
          <table className="table table-stack audit-table">
            <thead>
              <tr>
                <th scope="col" className="num">
                  seq
                </th>
                <th scope="col">when</th>
                <th scope="col">actor</th>
                <th scope="col">action</th>
                <th scope="col">target</th>
                <th scope="col" className="hide-narrow">
                  details
                </th>
                <th scope="col" className="hide-narrow">
                  hash
                </th>
              </tr>
            </thead>
            <tbody>
              {entries.map((entry) => (
                <AuditRow key={entry.seq} entry={entry} />
              ))}
            </tbody>
          </table>
        </div>
      )}
      {more.error !== undefined && <ErrorNote error={more.error} />}
      {next !== null && (
        <button type="button" className="button load-more" disabled={more.loading} onClick={() => void loadMore(next)}>
          {more.loading ? 'Loading…' : 'Load older entries'}
        </button>
      )}
    </section>
  );
};

const AuditRow = ({ entry }: { entry: AuditEntry }) => (
  <tr data-testid={`audit-${entry.seq}`}>
    <td className="num">{entry.seq}</td>
    <td>
      <When at={entry.at} />
    </td>
    <td>
      <Link to={withQuery('/audit', { actor: entry.actor })}>{entry.actor}</Link>
    </td>
    <td>
      <code>{entry.action}</code>
    </td>
    <td>
      <TargetLink target={entry.target} />
    </td>
    <td className="hide-narrow small">{describe(entry)}</td>
    <td className="hide-narrow">
      <Sha sha={entry.hash} />
    </td>
  </tr>
);

/** `NAME@v3` and `NAME:production` name a prompt: link to its page. */
const TargetLink = ({ target }: { target: string }) => {
  const match = /^([^@:]+)[@:]/.exec(target);
  if (match === null) return <>{target}</>;
  return <Link to={`/prompts/${encodeURIComponent(match[1]!)}`}>{target}</Link>;
};

const describe = (entry: AuditEntry): string => {
  const data = entry.data;
  const text = (key: string) => (typeof data[key] === 'string' ? (data[key] as string) : undefined);
  if (entry.action === 'version.created') return text('message') ?? '';
  if (entry.action.startsWith('label.')) {
    const kind = text('kind') ?? '';
    const reason = text('reason');
    return `${kind}${reason === undefined || reason === '' ? '' : `: ${reason}`}`;
  }
  return entry.action === 'project.created' ? `project created ${dateTime(entry.at)}` : '';
};

const AuditFilters = ({ actor, prompt }: { actor: string; prompt: string }) => {
  const setParams = useSearchParam();
  const prompts = useApiGet<{ prompts: PromptListItem[] }>('/prompts');
  const [draft, setDraft] = useState({ actor, prompt });
  const id = useId();
  const apply = (event: FormEvent) => {
    event.preventDefault();
    setParams({ actor: draft.actor.trim(), prompt: draft.prompt }, true);
  };
  return (
    <form className="filters" onSubmit={apply} aria-label="Audit filters">
      <div className="field">
        <label htmlFor={`${id}-actor`} className="field-label">
          Actor
        </label>
        <input
          id={`${id}-actor`}
          className="input"
          value={draft.actor}
          placeholder="anyone"
          onChange={(event) => setDraft({ ...draft, actor: event.target.value })}
        />
      </div>
      <div className="field">
        <label htmlFor={`${id}-prompt`} className="field-label">
          Prompt
        </label>
        <select
          id={`${id}-prompt`}
          className="input"
          value={draft.prompt}
          onChange={(event) => setDraft({ ...draft, prompt: event.target.value })}
        >
          <option value="">any prompt</option>
          {(prompts.data?.prompts ?? []).map((item) => (
            <option key={item.name} value={item.name}>
              {item.name}
            </option>
          ))}
        </select>
      </div>
      <div className="filters-actions">
        <button type="submit" className="button button-primary">
          Apply filters
        </button>
        <button
          type="button"
          className="button"
          onClick={() => setParams({ actor: undefined, prompt: undefined }, true)}
        >
          Clear
        </button>
      </div>
    </form>
  );
};
