import type { IncidentFacts, IncidentFigures, IncidentState, TimelineEntry, TimelineKind } from '@promptops/core';

/**
 * What the incident pages show, as pure functions: the API's shapes, the timeline as chart markers, the
 * chart's window and bucket around the story, and durations people read.
 */

/** `GET /api/v1/incidents` rows (`detection` is JSON text there). */
export interface IncidentListItem {
  readonly id: number;
  readonly promptName: string;
  readonly label: string;
  readonly title: string;
  readonly state: IncidentState;
  readonly monitorId: number | null;
  readonly badSha: string | null;
  readonly openedBy: string;
  readonly openedAt: string;
  readonly updatedAt: string;
}

/** `GET /api/v1/incidents/:id`. */
export interface IncidentDetail {
  readonly incident: IncidentListItem;
  readonly facts: IncidentFacts;
  readonly conditions: readonly string[];
  readonly timeline: readonly TimelineEntry[];
  readonly figures: IncidentFigures;
}

/** The steps of the story drawn over the charts, in the order they should happen, with their captions. */
export const CHART_STEPS: Readonly<Partial<Record<TimelineKind, { readonly text: string; readonly color: string }>>> = {
  introduced: { text: 'introduced', color: '#b91c1c' },
  first_bad_trace: { text: 'first bad trace', color: '#c2410c' },
  detected: { text: 'detected', color: '#7c3aed' },
  notified: { text: 'notified', color: '#6d28d9' },
  mitigated: { text: 'rolled back', color: '#047857' },
  first_good_trace: { text: 'first good trace', color: '#0f766e' },
  resolved: { text: 'resolved', color: '#334155' },
};

export const KIND_TEXT: Readonly<Record<TimelineKind, string>> = {
  introduced: 'Introduced',
  first_bad_trace: 'First bad trace',
  detected: 'Detected',
  opened: 'Opened',
  notified: 'Notified',
  acknowledged: 'Acknowledged',
  mitigated: 'Rolled back',
  first_good_trace: 'First good trace',
  resolved: 'Resolved',
};

export interface TimelineMarker {
  readonly id: string;
  readonly at: string;
  readonly color: string;
  readonly texts: readonly string[];
}

/** The chart's markers: one per drawn step (the first of each kind), captioned long then short. */
export const timelineMarkers = (timeline: readonly TimelineEntry[]): TimelineMarker[] => {
  const seen = new Set<TimelineKind>();
  const markers: TimelineMarker[] = [];
  for (const entry of timeline) {
    const step = CHART_STEPS[entry.kind];
    if (step === undefined || seen.has(entry.kind)) continue;
    seen.add(entry.kind);
    markers.push({ id: `incident-${entry.kind}`, at: entry.at, color: step.color, texts: [step.text] });
  }
  return markers;
};

const BUCKETS: readonly (readonly [string, number])[] = [
  ['10s', 10_000],
  ['1m', 60_000],
  ['5m', 300_000],
  ['15m', 900_000],
  ['1h', 3_600_000],
  ['6h', 21_600_000],
  ['1d', 86_400_000],
];

export interface ChartWindow {
  readonly since: string;
  readonly until: string;
  readonly bucket: string;
}

/**
 * The metrics query around the story: from a quarter of its span (at least 10 minutes) before the first
 * entry to as much after the last (not past now), in the smallest bucket that gives at most 90 points.
 */
export const chartWindow = (timeline: readonly TimelineEntry[], openedAt: string, nowMs: number): ChartWindow => {
  const times = [...timeline.map((entry) => Date.parse(entry.at)), Date.parse(openedAt)].filter(Number.isFinite);
  const first = Math.min(...times);
  const last = Math.max(...times);
  const pad = Math.max((last - first) / 4, 10 * 60_000);
  const from = first - pad;
  const until = Math.min(last + pad, Math.max(nowMs, last));
  const span = Math.max(until - from, 1);
  const [bucket] = BUCKETS.find(([, ms]) => span / ms <= 90) ?? BUCKETS[BUCKETS.length - 1]!;
  return { since: new Date(from).toISOString(), until: new Date(until).toISOString(), bucket };
};

/** `1 h 4 m`, `2 m 5 s`, `850 ms`; `–` for a step that has not happened. */
export const duration = (ms: number | null | undefined): string => {
  if (ms === null || ms === undefined) return '–';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const seconds = Math.round(ms / 1000);
  if (seconds < 60) return `${seconds} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return seconds % 60 === 0 ? `${minutes} m` : `${minutes} m ${seconds % 60} s`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return minutes % 60 === 0 ? `${hours} h` : `${hours} h ${minutes % 60} m`;
  return `${Math.floor(hours / 24)} d ${hours % 24} h`;
};

/** Time to recover as the list shows it: the figure, or how long it has been going on while open. */
export const recoveryText = (figures: IncidentFigures | undefined, state: IncidentState): string =>
  figures?.timeToRecoverMs != null ? duration(figures.timeToRecoverMs) : state === 'resolved' ? '–' : 'not yet';

/** Editors and up act on incidents (the server checks `incidents:write` too). */
export const canActOnIncidents = (role: string): boolean => ['editor', 'reviewer', 'deployer', 'admin'].includes(role);
