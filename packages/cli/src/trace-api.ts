import type { MetricsResult, TraceDetail, TracePage, TraceRecord } from '@promptops/core';

/** The trace shapes of docs/api.md ("Traces") come from core; only the query type is the CLI's own. */
export type { TraceDetail, TracePage, TraceRecord };
export type MetricsResponse = MetricsResult;

export type TraceQuery = Readonly<Record<string, string | number | undefined>>;
