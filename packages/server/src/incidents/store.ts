import type { MeanStats, ProportionStats } from '@promptops/core';

/**
 * The incidents feature's store: monitors, incidents and their append-only events (`kysely-store.ts`
 * implements it for both databases), and the per-version trace figures monitors and timelines read.
 * Every read takes the project id, so no query reaches another project's rows. Times are ISO-8601 text.
 */

export interface MonitorRow {
  readonly id: number;
  readonly projectId: number;
  readonly promptId: number;
  readonly promptName: string;
  readonly label: string;
  /** JSON text of core's MonitorConfig. */
  readonly config: string;
  readonly createdBy: string;
  readonly createdAt: string;
  readonly lastFiredAt: string | null;
  readonly lastLookedAt: string | null;
  readonly lastReason: string | null;
}

export type NewMonitor = Omit<MonitorRow, 'id' | 'lastFiredAt' | 'lastLookedAt' | 'lastReason'>;

export interface IncidentRow {
  readonly id: number;
  readonly projectId: number;
  readonly promptId: number;
  readonly promptName: string;
  readonly label: string;
  readonly title: string;
  readonly state: 'open' | 'acknowledged' | 'resolved';
  readonly monitorId: number | null;
  /** The version the label served when the incident opened. */
  readonly badSha: string | null;
  readonly introducedDeploymentId: number | null;
  /** JSON text: the monitor's evaluation that opened it. */
  readonly detection: string | null;
  readonly openedBy: string;
  readonly openedAt: string;
  readonly updatedAt: string;
}

export type NewIncident = Omit<IncidentRow, 'id' | 'updatedAt'>;

export interface IncidentEventRow {
  readonly id: number;
  readonly incidentId: number;
  readonly at: string;
  /** opened, notified, mitigated, acknowledged, resolved. */
  readonly kind: string;
  readonly actor: string;
  /** JSON text or null. */
  readonly data: string | null;
}

/** One version's traces on a prompt over [fromMs, toMs) by the server's receiving time. */
export interface VersionWindow {
  readonly calls: number;
  readonly firstAtMs: number | null;
  readonly errors: ProportionStats;
  readonly latency: MeanStats;
  readonly score: MeanStats;
  readonly thumbsDown: ProportionStats;
}

export interface IncidentTx {
  insertMonitor(row: NewMonitor): Promise<MonitorRow>;
  deleteMonitor(projectId: number, id: number): Promise<boolean>;
  recordLook(id: number, look: { at: string; reason: string; fired: boolean }): Promise<void>;
  insertIncident(row: NewIncident): Promise<IncidentRow>;
  setIncidentState(id: number, state: IncidentRow['state'], at: string): Promise<void>;
  appendIncidentEvent(projectId: number, event: Omit<IncidentEventRow, 'id'>): Promise<void>;
}

export interface IncidentStore {
  listMonitors(projectId: number, promptId?: number): Promise<MonitorRow[]>;
  /** Every project's monitors: the runner's work list. */
  allMonitors(): Promise<MonitorRow[]>;
  getMonitor(projectId: number, id: number): Promise<MonitorRow | undefined>;
  listIncidents(projectId: number, options?: { state?: IncidentRow['state'] }): Promise<IncidentRow[]>;
  getIncident(projectId: number, id: number): Promise<IncidentRow | undefined>;
  /** The open or acknowledged incident of a (prompt, label), if any. */
  activeIncident(projectId: number, promptId: number, label: string): Promise<IncidentRow | undefined>;
  listIncidentEvents(projectId: number, incidentId: number): Promise<IncidentEventRow[]>;
  versionWindow(
    projectId: number,
    query: { promptName: string; sha: string; fromMs: number; toMs: number; label?: string },
  ): Promise<VersionWindow>;
  /** Calls of the prompt on the label, any version, over [fromMs, toMs). */
  labelCalls(
    projectId: number,
    query: { promptName: string; label: string; fromMs: number; toMs: number },
  ): Promise<number>;
}
