/**
 * What `/metrics` reads from the database at scrape time: counts per project (and per kind or state),
 * and the busiest trace series of the last hour from the per-minute rollups.
 */

export interface CountRow {
  readonly project: string;
  /** The kind, state or other key the count is grouped by ('' when none). */
  readonly key: string;
  readonly count: number;
}

export interface SeriesRow {
  readonly project: string;
  readonly prompt: string;
  readonly label: string;
  readonly sha: string;
  readonly calls: number;
  readonly errors: number;
}

export interface MetricsReads {
  /** Recorded eval runs per project; `projectId` limits to one project. */
  evalRuns(projectId: number | undefined): Promise<CountRow[]>;
  /** Rollouts per project and state. */
  rolloutsByState(projectId: number | undefined): Promise<CountRow[]>;
  /** Recorded label moves (deployments) per project and kind. */
  labelMovesByKind(projectId: number | undefined): Promise<CountRow[]>;
  /** Calls and errors per (project, prompt, label, effective sha) since `sinceMs`, busiest first. */
  seriesSince(projectId: number | undefined, sinceMs: number): Promise<SeriesRow[]>;
}
