import type { MetricFamily, MetricSample } from '@promptops/core';
import type { CountRow, MetricsReads, SeriesRow } from './store.js';

/** Per (project, prompt, label, sha) series, the busiest this many are named; the rest add up in `(other)`. */
export const TOP_SERIES = 50;
const SERIES_WINDOW_MS = 3_600_000;
export const OTHER = '(other)';

/** Another feature's figures (incidents open, …), added to every scrape; `projectId` as for the stores. */
export type MetricsSource = (projectId: number | undefined) => Promise<MetricFamily[]>;

/** The change feed's figures on this replica. */
export interface FeedFigures {
  readonly streams: number;
  readonly subscribers: number;
  /** Audit entries the slowest project poller has yet to read, over the projects this replica polls. */
  readonly lagEntries: number;
}

const countFamily = (
  name: string,
  help: string,
  rows: readonly CountRow[],
  keyLabel: string | undefined,
): MetricFamily => ({
  name,
  help,
  type: 'gauge',
  samples: rows.map((row) => ({
    labels: keyLabel === undefined ? { project: row.project } : { project: row.project, [keyLabel]: row.key },
    value: row.count,
  })),
});

/** The busiest `limit` series by name; everything else summed per project under prompt/label/sha `(other)`. */
export const boundSeries = (rows: readonly SeriesRow[], limit = TOP_SERIES): SeriesRow[] => {
  const sorted = [...rows].sort((a, b) => b.calls - a.calls);
  const kept = sorted.slice(0, limit);
  const rest = new Map<string, SeriesRow>();
  for (const row of sorted.slice(limit)) {
    const other = rest.get(row.project) ?? {
      project: row.project,
      prompt: OTHER,
      label: OTHER,
      sha: OTHER,
      calls: 0,
      errors: 0,
    };
    rest.set(row.project, { ...other, calls: other.calls + row.calls, errors: other.errors + row.errors });
  }
  return [...kept, ...rest.values()];
};

/** Every family the database and this process's feed give, for one project or (public scrape) all. */
export const collectFamilies = async (
  reads: MetricsReads,
  feed: FeedFigures,
  sources: readonly MetricsSource[],
  projectId: number | undefined,
  nowMs: number,
): Promise<MetricFamily[]> => {
  const [evalRuns, rollouts, moves, series, extra] = await Promise.all([
    reads.evalRuns(projectId),
    reads.rolloutsByState(projectId),
    reads.labelMovesByKind(projectId),
    reads.seriesSince(projectId, nowMs - SERIES_WINDOW_MS),
    Promise.all(sources.map((source) => source(projectId))),
  ]);
  const bounded = boundSeries(series);
  const seriesSamples = (value: (row: SeriesRow) => number): MetricSample[] =>
    bounded.map((row) => ({
      labels: { project: row.project, prompt: row.prompt, label: row.label, sha: row.sha },
      value: value(row),
    }));
  return [
    {
      name: 'promptops_sse_clients',
      help: 'Change-feed SSE streams open on this process.',
      type: 'gauge',
      samples: [{ value: feed.streams }],
    },
    {
      name: 'promptops_change_feed_subscribers',
      help: 'Change-feed subscriptions (streams and waiting long-polls) on this process.',
      type: 'gauge',
      samples: [{ value: feed.subscribers }],
    },
    {
      name: 'promptops_change_feed_lag_entries',
      help: "Audit entries this process's slowest change-feed poller has not read yet.",
      type: 'gauge',
      samples: [{ value: feed.lagEntries }],
    },
    countFamily('promptops_eval_runs', 'Eval runs recorded, per project.', evalRuns, undefined),
    countFamily('promptops_rollouts', 'Rollouts per project and state.', rollouts, 'state'),
    countFamily('promptops_label_moves', 'Label moves recorded (deployments), per project and kind.', moves, 'kind'),
    {
      name: 'promptops_prompt_calls_last_hour',
      help: `LLM calls traced in the last hour per project, prompt, label and served sha (the busiest ${TOP_SERIES}; the rest under (other)).`,
      type: 'gauge',
      samples: seriesSamples((row) => row.calls),
    },
    {
      name: 'promptops_prompt_error_rate_last_hour',
      help: 'Share of those calls that failed, 0 to 1.',
      type: 'gauge',
      samples: seriesSamples((row) => (row.calls === 0 ? 0 : row.errors / row.calls)),
    },
    ...extra.flat(),
  ];
};
