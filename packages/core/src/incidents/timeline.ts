/**
 * An incident's timeline and figures, built from facts already stored (deployments, traces, the
 * incident's own events), never typed in: the same facts always give the same story.
 */

export const INCIDENT_STATES = ['open', 'acknowledged', 'resolved'] as const;
export type IncidentState = (typeof INCIDENT_STATES)[number];

export type TimelineKind =
  | 'introduced'
  | 'first_bad_trace'
  | 'detected'
  | 'opened'
  | 'notified'
  | 'acknowledged'
  | 'mitigated'
  | 'first_good_trace'
  | 'resolved';

export interface TimelineEntry {
  readonly at: string;
  readonly kind: TimelineKind;
  readonly actor: string | null;
  readonly text: string;
}

/** Figures of one version's traces over a period. */
export interface PeriodFigures {
  readonly traces: number;
  readonly errors: number;
  /** Mean numeric score, null without scores. */
  readonly meanScore: number | null;
  /** Share of thumbs feedback that was down, null without feedback. */
  readonly thumbsDownRate: number | null;
}

export interface IncidentFacts {
  readonly name: string;
  readonly label: string;
  readonly openedAt: string;
  readonly openedBy: string;
  /** The bad version and the deployment that put it on the label. */
  readonly introduced: {
    readonly at: string;
    readonly actor: string;
    readonly kind: string;
    readonly version: number;
    readonly sha: string;
    readonly fromVersion: number | null;
    readonly fromSha: string | null;
  } | null;
  readonly firstBadTraceAt: string | null;
  /** The monitor's verdict, when a monitor opened it. */
  readonly detected: { readonly at: string; readonly by: string; readonly reason: string } | null;
  readonly notifiedAt: string | null;
  readonly acknowledged: { readonly at: string; readonly by: string } | null;
  /** The move that took the bad version off the label (automatic or by hand). */
  readonly mitigated: {
    readonly at: string;
    readonly actor: string;
    readonly kind: string;
    readonly version: number;
    readonly deploymentId: number;
  } | null;
  readonly firstGoodTraceAt: string | null;
  readonly resolved: { readonly at: string; readonly by: string; readonly message: string | null } | null;
  /** The previous version before the move, the bad one while it served, the version served after. */
  readonly before: PeriodFigures | null;
  readonly during: PeriodFigures | null;
  readonly after: PeriodFigures | null;
  /** Every trace of the label while the bad version served it (the share's denominator). */
  readonly labelTracesDuring: number;
}

export interface IncidentFigures {
  /** From the first bad trace (or the move, without traces) to detection (or opening by hand). */
  readonly timeToDetectMs: number | null;
  /** From the first bad trace to the move that took the version off. */
  readonly timeToMitigateMs: number | null;
  /** From the first bad trace to the first good trace after the move. */
  readonly timeToRecoverMs: number | null;
  readonly tracesAffected: number;
  /** tracesAffected over every trace of the label in the same period, null without any. */
  readonly shareAffected: number | null;
  readonly scores: {
    readonly before: number | null;
    readonly during: number | null;
    readonly after: number | null;
  };
}

const between = (from: string | null | undefined, to: string | null | undefined): number | null =>
  from == null || to == null ? null : Math.max(0, Date.parse(to) - Date.parse(from));

export const incidentFigures = (facts: IncidentFacts): IncidentFigures => {
  const start = facts.firstBadTraceAt ?? facts.introduced?.at ?? null;
  const detectedAt = facts.detected?.at ?? facts.openedAt;
  const affected = facts.during?.traces ?? 0;
  return {
    timeToDetectMs: between(start, detectedAt),
    timeToMitigateMs: between(start, facts.mitigated?.at),
    timeToRecoverMs: between(start, facts.firstGoodTraceAt),
    tracesAffected: affected,
    shareAffected: facts.labelTracesDuring > 0 ? affected / facts.labelTracesDuring : null,
    scores: {
      before: facts.before?.meanScore ?? null,
      during: facts.during?.meanScore ?? null,
      after: facts.after?.meanScore ?? null,
    },
  };
};

const v = (version: number | null): string => (version === null ? 'nothing' : `v${version}`);

/** The timeline in time order (ties keep the order of events as they happen). */
export const incidentTimeline = (facts: IncidentFacts): TimelineEntry[] => {
  const entries: TimelineEntry[] = [];
  const add = (at: string | null | undefined, kind: TimelineKind, actor: string | null, text: string): void => {
    if (at != null) entries.push({ at, kind, actor, text });
  };
  const where = `${facts.name}:${facts.label}`;
  const intro = facts.introduced;
  if (intro !== null) {
    add(
      intro.at,
      'introduced',
      intro.actor,
      `${where} moved from ${v(intro.fromVersion)} to v${intro.version} (${intro.kind})`,
    );
  }
  add(facts.firstBadTraceAt, 'first_bad_trace', null, `first trace of v${intro?.version ?? '?'} on ${where}`);
  if (facts.detected !== null) add(facts.detected.at, 'detected', facts.detected.by, facts.detected.reason);
  add(facts.openedAt, 'opened', facts.openedBy, 'incident opened');
  add(facts.notifiedAt, 'notified', null, 'incident.opened event sent to subscribers');
  if (facts.acknowledged !== null) add(facts.acknowledged.at, 'acknowledged', facts.acknowledged.by, 'acknowledged');
  const m = facts.mitigated;
  if (m !== null) {
    add(
      m.at,
      'mitigated',
      m.actor,
      `${where} ${m.kind === 'auto-rollback' ? 'rolled back automatically' : `moved (${m.kind})`} to v${m.version}`,
    );
  }
  add(facts.firstGoodTraceAt, 'first_good_trace', null, `first trace of v${m?.version ?? '?'} after the move`);
  if (facts.resolved !== null) {
    add(facts.resolved.at, 'resolved', facts.resolved.by, facts.resolved.message ?? 'resolved');
  }
  const order: readonly TimelineKind[] = [
    'introduced',
    'first_bad_trace',
    'detected',
    'opened',
    'notified',
    'acknowledged',
    'mitigated',
    'first_good_trace',
    'resolved',
  ];
  return entries.sort((a, b) => Date.parse(a.at) - Date.parse(b.at) || order.indexOf(a.kind) - order.indexOf(b.kind));
};

/** `1m 12s`, `850 ms`, `2h 5m`: durations as people read them. */
export const formatDuration = (ms: number | null): string => {
  if (ms === null) return '—';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${s % 60}s`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h ${m % 60}m`;
  return `${Math.floor(h / 24)}d ${h % 24}h`;
};
