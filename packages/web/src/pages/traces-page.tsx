import { useId, useState, type FormEvent, type ReactNode } from 'react';
import type { Query } from '../api/client';
import { withQuery } from '../api/client';
import type { PromptListItem, TraceRecord, TracesPage as TracesResult } from '../api/types';
import { millis, shortDateTime } from '../app/format';
import { Link, useLocation, useSearchParam } from '../app/router';
import { useSession } from '../app/session';
import { useApiGet } from '../app/use-api';
import { Sha } from '../components/badges';
import { Empty, ErrorNote, Loading } from '../components/states';

const FILTERS = ['prompt', 'sha', 'label', 'tenant', 'arm', 'status', 'since', 'until'] as const;
type Filter = (typeof FILTERS)[number];
type Filters = Partial<Record<Filter, string>>;

const SINCE_CHOICES = [
  { value: '', text: 'any time' },
  { value: '1h', text: 'last hour' },
  { value: '24h', text: 'last 24 hours' },
  { value: '7d', text: 'last 7 days' },
  { value: '30d', text: 'last 30 days' },
];

const PAGE_SIZE = 50;

/** The trace list: filters in the URL (so a view can be shared), newest first, a cursor page at a time. */
export const TracesPage = () => {
  const { search } = useLocation();
  const { api } = useSession();
  const filters: Filters = Object.fromEntries(FILTERS.map((key) => [key, search.get(key) ?? undefined]));
  const query: Query = { ...filters, until: toIso(filters.until), limit: PAGE_SIZE };
  const key = withQuery('', query);
  const first = useApiGet<TracesResult>('/traces', query);
  // Older pages, kept per filter set: new filters start again from the newest trace.
  const [older, setOlder] = useState<{ key: string; pages: TracesResult[] }>({ key, pages: [] });
  const [more, setMore] = useState<{ loading: boolean; error?: Error }>({ loading: false });
  const pages = older.key === key ? older.pages : [];
  const nextCursor = (pages.at(-1) ?? first.data)?.nextCursor ?? null;

  const loadMore = async (cursor: string) => {
    setMore({ loading: true });
    try {
      const page = await api.get<TracesResult>('/traces', { ...query, cursor });
      setOlder({ key, pages: [...pages, page] });
      setMore({ loading: false });
    } catch (error) {
      setMore({ loading: false, error: error instanceof Error ? error : new Error(String(error)) });
    }
  };

  return (
    <section aria-labelledby="traces-title">
      <div className="page-head">
        <h1 id="traces-title" className="page-title" tabIndex={-1}>
          Traces
        </h1>
        <p className="muted">Every LLM call the applications reported, with the exact prompt sha that produced it.</p>
      </div>
      <TraceFilters key={key} filters={filters} />
      {first.error !== undefined && <ErrorNote error={first.error} retry={first.reload} />}
      {first.loading && <Loading what="traces" />}
      {first.data !== undefined &&
        (first.data.traces.length === 0 ? (
          <Empty>No traces match these filters.</Empty>
        ) : (
          <TraceTable>
            <TraceRows traces={first.data.traces} />
            {pages.map((page, index) => (
              <TraceRows key={index} traces={page.traces} />
            ))}
          </TraceTable>
        ))}
      {more.error !== undefined && <ErrorNote error={more.error} />}
      {nextCursor !== null && (
        <button
          type="button"
          className="button load-more"
          disabled={more.loading}
          onClick={() => void loadMore(nextCursor)}
        >
          {more.loading ? 'Loading…' : 'Load older traces'}
        </button>
      )}
    </section>
  );
};

const toIso = (local: string | undefined): string | undefined =>
  local === undefined || local === '' ? undefined : new Date(local).toISOString();

const TraceFilters = ({ filters }: { filters: Filters }) => {
  const setParams = useSearchParam();
  const prompts = useApiGet<{ prompts: PromptListItem[] }>('/prompts');
  const [draft, setDraft] = useState<Filters>(filters);
  const id = useId();
  const set = (key: Filter, value: string) => setDraft((current) => ({ ...current, [key]: value }));
  const apply = (event: FormEvent) => {
    event.preventDefault();
    setParams(Object.fromEntries(FILTERS.map((key) => [key, draft[key]?.trim() || undefined])), true);
  };
  const text = (key: Filter, label: string, placeholder: string) => (
    <div className="field">
      <label htmlFor={`${id}-${key}`} className="field-label">
        {label}
      </label>
      <input
        id={`${id}-${key}`}
        className="input"
        value={draft[key] ?? ''}
        placeholder={placeholder}
        onChange={(event) => set(key, event.target.value)}
      />
    </div>
  );
  return (
    <form className="filters" onSubmit={apply} aria-label="Trace filters">
      <div className="field">
        <label htmlFor={`${id}-prompt`} className="field-label">
          Prompt
        </label>
        <select
          id={`${id}-prompt`}
          className="input"
          value={draft.prompt ?? ''}
          onChange={(event) => set('prompt', event.target.value)}
        >
          <option value="">any prompt</option>
          {(prompts.data?.prompts ?? []).map((prompt) => (
            <option key={prompt.name} value={prompt.name}>
              {prompt.name}
            </option>
          ))}
          {draft.prompt !== undefined &&
            draft.prompt !== '' &&
            !prompts.data?.prompts.some((p) => p.name === draft.prompt) && (
              <option value={draft.prompt}>{draft.prompt}</option>
            )}
        </select>
      </div>
      {text('sha', 'SHA (7+ hex)', 'e.g. 7ba01d7')}
      {text('label', 'Label', 'production')}
      {text('tenant', 'Tenant', 'any')}
      {text('arm', 'Rollout arm', 'any')}
      <div className="field">
        <label htmlFor={`${id}-status`} className="field-label">
          Status
        </label>
        <select
          id={`${id}-status`}
          className="input"
          value={draft.status ?? ''}
          onChange={(event) => set('status', event.target.value)}
        >
          <option value="">any</option>
          <option value="ok">ok</option>
          <option value="error">error</option>
        </select>
      </div>
      <div className="field">
        <label htmlFor={`${id}-since`} className="field-label">
          Since
        </label>
        <select
          id={`${id}-since`}
          className="input"
          value={draft.since ?? ''}
          onChange={(event) => set('since', event.target.value)}
        >
          {SINCE_CHOICES.map((choice) => (
            <option key={choice.value} value={choice.value}>
              {choice.text}
            </option>
          ))}
          {draft.since !== undefined && !SINCE_CHOICES.some((choice) => choice.value === draft.since) && (
            <option value={draft.since}>{draft.since}</option>
          )}
        </select>
      </div>
      <div className="field">
        <label htmlFor={`${id}-until`} className="field-label">
          Until
        </label>
        <input
          id={`${id}-until`}
          className="input"
          type="datetime-local"
          value={draft.until ?? ''}
          onChange={(event) => set('until', event.target.value)}
        />
      </div>
      <div className="filters-actions">
        <button type="submit" className="button button-primary">
          Apply filters
        </button>
        <button
          type="button"
          className="button"
          onClick={() => setParams(Object.fromEntries(FILTERS.map((key) => [key, undefined])), true)}
        >
          Clear
        </button>
      </div>
    </form>
  );
};

const TraceTable = ({ children }: { children: ReactNode }) => (
  <div className="table-scroll">
    <table className="table table-stack traces-table">
      <thead>
        <tr>
          <th scope="col">started</th>
          <th scope="col">prompt</th>
          <th scope="col">sha</th>
          <th scope="col" className="hide-narrow">
            label
          </th>
          <th scope="col" className="hide-narrow">
            tenant
          </th>
          <th scope="col">status</th>
          <th scope="col" className="num hide-narrow">
            latency
          </th>
          <th scope="col" className="hide-narrow">
            output
          </th>
        </tr>
      </thead>
      {children}
    </table>
  </div>
);

const TraceRows = ({ traces }: { traces: readonly TraceRecord[] }) => (
  <tbody>
    {traces.map((trace) => (
      <tr key={trace.id} data-testid={`trace-row-${trace.id}`}>
        <td>
          <Link to={`/traces/${encodeURIComponent(trace.id)}`} aria-label={`trace ${trace.id}`}>
            {shortDateTime(trace.startedAt)}
          </Link>
        </td>
        <td>
          {trace.prompt === null ? (
            <span className="muted">–</span>
          ) : (
            <>
              <span className="hide-narrow">{trace.prompt.name} </span>
              {trace.prompt.version !== null && <span className="muted">v{trace.prompt.version}</span>}
            </>
          )}
        </td>
        <td>
          <Sha sha={trace.prompt?.sha} />
        </td>
        <td className="hide-narrow">{trace.label ?? '–'}</td>
        <td className="hide-narrow">{trace.tenant ?? '–'}</td>
        <td>
          <span className={`status status-${trace.status}`}>{trace.status}</span>
        </td>
        <td className="num hide-narrow">{millis(trace.latencyMs)}</td>
        <td className="hide-narrow output-cell">{trace.error ?? trace.output ?? ''}</td>
      </tr>
    ))}
  </tbody>
);
