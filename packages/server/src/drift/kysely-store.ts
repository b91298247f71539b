import type { Kysely, Selectable } from 'kysely';
import type { Database, DriftTables } from '../storage/schema.js';
import type { TxScope } from '../storage/transaction.js';
import type { DriftReportRow, DriftReportSummaryRow, DriftStore, DriftTx, NewDriftReport } from './store.js';

type DriftDb = Kysely<Database & DriftTables>;
type Row = Selectable<DriftTables['drift_reports']>;

const SUMMARY_COLUMNS = [
  'id',
  'project_id',
  'prompt_name',
  'a_sha',
  'a_version',
  'b_sha',
  'b_version',
  'source',
  'suite',
  'window_since',
  'window_until',
  'drifted',
  'verdict',
  'created_by',
  'created_at',
] as const;

const toSummary = (row: Omit<Row, 'report'>): DriftReportSummaryRow => ({
  id: Number(row.id),
  projectId: row.project_id,
  promptName: row.prompt_name,
  aSha: row.a_sha,
  aVersion: Number(row.a_version),
  bSha: row.b_sha,
  bVersion: Number(row.b_version),
  source: row.source,
  suite: row.suite,
  windowSince: row.window_since,
  windowUntil: row.window_until,
  drifted: Number(row.drifted) === 1,
  verdict: row.verdict,
  createdBy: row.created_by,
  createdAt: row.created_at,
});

const toRow = (row: Row): DriftReportRow => ({ ...toSummary(row), report: row.report });

const driftWrites = (database: Kysely<Database>): DriftTx => {
  const db: DriftDb = database.withTables<DriftTables>();
  return {
    async insertDriftReport(report: NewDriftReport): Promise<DriftReportRow> {
      const row = await db
        .insertInto('drift_reports')
        .values({
          project_id: report.projectId,
          prompt_name: report.promptName,
          a_sha: report.aSha,
          a_version: report.aVersion,
          b_sha: report.bSha,
          b_version: report.bVersion,
          source: report.source,
          suite: report.suite,
          window_since: report.windowSince,
          window_until: report.windowUntil,
          drifted: report.drifted ? 1 : 0,
          verdict: report.verdict,
          report: report.report,
          created_by: report.createdBy,
          created_at: report.createdAt,
        })
        .returningAll()
        .executeTakeFirstOrThrow();
      return toRow(row);
    },
  };
};

export const createDriftStore = (
  database: Kysely<Database>,
): DriftStore & { inTransaction(scope: TxScope): DriftTx } => {
  const db: DriftDb = database.withTables<DriftTables>();
  return {
    async getDriftReport(projectId, id) {
      const row = await db
        .selectFrom('drift_reports')
        .selectAll()
        .where('project_id', '=', projectId)
        .where('id', '=', id)
        .executeTakeFirst();
      return row && toRow(row);
    },
    async listDriftReports(projectId, promptName, page) {
      let query = db
        .selectFrom('drift_reports')
        .select(SUMMARY_COLUMNS)
        .where('project_id', '=', projectId)
        .where('prompt_name', '=', promptName);
      if (page.before !== undefined) query = query.where('id', '<', page.before);
      const rows = await query.orderBy('id', 'desc').limit(page.limit).execute();
      return rows.map(toSummary);
    },
    inTransaction: (scope) => driftWrites(scope.db),
  };
};
