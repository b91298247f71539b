/**
 * The drift feature's store: stored drift reports (`kysely-store.ts` implements it for both databases).
 * Rows are append-only (triggers in both databases). Every read takes the project id, so no query can
 * reach another project's reports. Times are ISO-8601 text; the report is core's JSON text, as built.
 */

export interface DriftReportRow {
  readonly id: number;
  readonly projectId: number;
  readonly promptName: string;
  readonly aSha: string;
  readonly aVersion: number;
  readonly bSha: string;
  readonly bVersion: number;
  readonly source: string;
  readonly suite: string | null;
  readonly windowSince: string | null;
  readonly windowUntil: string | null;
  readonly drifted: boolean;
  readonly verdict: string;
  /** JSON text of the report (driftReportJson). */
  readonly report: string;
  readonly createdBy: string;
  readonly createdAt: string;
}

export type NewDriftReport = Omit<DriftReportRow, 'id'>;

/** A list row: everything but the report's body. */
export type DriftReportSummaryRow = Omit<DriftReportRow, 'report'>;

/** The drift writes, inside a transaction (so the audit entry commits with the row). */
export interface DriftTx {
  insertDriftReport(row: NewDriftReport): Promise<DriftReportRow>;
}

export interface DriftStore {
  getDriftReport(projectId: number, id: number): Promise<DriftReportRow | undefined>;
  /** A prompt's reports without their bodies, newest first, below `before` (an id) when given. */
  listDriftReports(
    projectId: number,
    promptName: string,
    page: { readonly limit: number; readonly before?: number },
  ): Promise<DriftReportSummaryRow[]>;
}
