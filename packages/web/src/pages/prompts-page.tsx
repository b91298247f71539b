import { useId } from 'react';
import type { PromptListItem } from '../api/types';
import { Link, useLocation, useSearchParam } from '../app/router';
import { useApiGet } from '../app/use-api';
import { LabelChip, Sha, When } from '../components/badges';
import { Pager } from '../components/pager';
import { Empty, ErrorNote, Loading } from '../components/states';
import { useLabelEvents } from '../live/live-feed';
import { labelOrder } from './prompt/labels';

const PAGE_SIZE = 20;

/** Every prompt with what each label serves; search by name; a page at a time. */
export const PromptsPage = () => {
  const { search } = useLocation();
  const setParams = useSearchParam();
  const searchId = useId();
  const query = search.get('q') ?? '';
  const page = Math.max(0, Number(search.get('page') ?? '0') || 0);
  const prompts = useApiGet<{ prompts: PromptListItem[] }>('/prompts');
  useLabelEvents(() => prompts.reload());

  const needle = query.trim().toLowerCase();
  const matches = (prompts.data?.prompts ?? []).filter((prompt) => prompt.name.toLowerCase().includes(needle));
  const shown = matches.slice(page * PAGE_SIZE, (page + 1) * PAGE_SIZE);
  return (
    <section aria-labelledby="prompts-title">
      <div className="page-head page-head-row">
        <h1 id="prompts-title" className="page-title" tabIndex={-1}>
          Prompts
        </h1>
        <div className="field search-field">
          <label htmlFor={searchId} className="field-label">
            Search prompts
          </label>
          <input
            id={searchId}
            className="input"
            type="search"
            placeholder="name contains…"
            value={query}
            autoComplete="off"
            onChange={(event) => setParams({ q: event.target.value, page: undefined })}
          />
        </div>
      </div>
      {prompts.error !== undefined && <ErrorNote error={prompts.error} retry={prompts.reload} />}
      {prompts.loading && <Loading what="prompts" />}
      {prompts.data !== undefined && matches.length === 0 && (
        <Empty>
          {needle === '' ? 'No prompts yet: push one with `promptops push`.' : `No prompt name contains “${query}”.`}
        </Empty>
      )}
      <ul className="prompt-list">
        {shown.map((prompt) => (
          <PromptRow key={prompt.name} prompt={prompt} />
        ))}
      </ul>
      <Pager
        label="Prompt pages"
        page={page}
        pageSize={PAGE_SIZE}
        total={matches.length}
        onPage={(next) => setParams({ page: next === 0 ? undefined : String(next) }, true)}
      />
    </section>
  );
};

/** One prompt: what each label serves, and when and by whom it moved, all from the list's answer. */
const PromptRow = ({ prompt }: { prompt: PromptListItem }) => {
  const labels = Object.entries(prompt.labels)
    .map(([label, served]) => ({ label, ...served }))
    .sort(labelOrder);
  return (
    <li className="prompt-row" data-testid={`prompt-${prompt.name}`}>
      <div className="prompt-row-head">
        <Link to={`/prompts/${encodeURIComponent(prompt.name)}`} className="prompt-name">
          {prompt.name}
        </Link>
        <span className="muted small">
          head v{prompt.version} · updated <When at={prompt.updatedAt} />
        </span>
      </div>
      <ul className="prompt-labels" aria-label={`labels of ${prompt.name}`}>
        {labels.map((label) => (
          <li key={label.label} className="prompt-label">
            <LabelChip label={label.label} />
            <span>
              <strong>v{label.version}</strong> <Sha sha={label.sha} />
            </span>
            <span className="muted small">
              <When at={label.updatedAt} /> by {label.updatedBy}
            </span>
          </li>
        ))}
      </ul>
    </li>
  );
};
