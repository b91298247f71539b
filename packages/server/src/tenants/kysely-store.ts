import type { Kysely, Selectable } from 'kysely';
import type { Database, TenantTables } from '../storage/schema.js';
import type { TxScope } from '../storage/transaction.js';
import type { NewOverride, OverrideRow, TenantReads, TenantStore, TenantTx } from './store.js';

type TenantDb = Kysely<Database & TenantTables>;
type Row = Selectable<TenantTables['tenant_overrides']>;

const toRow = (row: Row): OverrideRow => ({
  id: Number(row.id),
  projectId: Number(row.project_id),
  promptId: Number(row.prompt_id),
  tenant: row.tenant,
  version: Number(row.version),
  sha: row.sha,
  content: row.content,
  label: row.label,
  baseSha: row.base_sha,
  author: row.author,
  message: row.message,
  createdAt: row.created_at,
});

const reads = (db: TenantDb): TenantReads => {
  /** The newest version per (prompt, tenant): a row with no newer row of its (prompt, tenant). */
  const current = () =>
    db
      .selectFrom('tenant_overrides as o')
      .where(({ not, exists, selectFrom }) =>
        not(
          exists(
            selectFrom('tenant_overrides as n')
              .select('n.id')
              .whereRef('n.prompt_id', '=', 'o.prompt_id')
              .whereRef('n.tenant', '=', 'o.tenant')
              .whereRef('n.version', '>', 'o.version'),
          ),
        ),
      );
  return {
    async currentOverride(promptId, tenant) {
      const row = await db
        .selectFrom('tenant_overrides')
        .selectAll()
        .where('prompt_id', '=', promptId)
        .where('tenant', '=', tenant)
        .orderBy('version', 'desc')
        .limit(1)
        .executeTakeFirst();
      return row && toRow(row);
    },
    async getOverrideVersion(promptId, tenant, version) {
      const row = await db
        .selectFrom('tenant_overrides')
        .selectAll()
        .where('prompt_id', '=', promptId)
        .where('tenant', '=', tenant)
        .where('version', '=', version)
        .executeTakeFirst();
      return row && toRow(row);
    },
    async overrideHistory(promptId, tenant, limit) {
      const rows = await db
        .selectFrom('tenant_overrides')
        .selectAll()
        .where('prompt_id', '=', promptId)
        .where('tenant', '=', tenant)
        .orderBy('version', 'desc')
        .limit(limit)
        .execute();
      return rows.map(toRow);
    },
    async currentOverrides(promptId) {
      const rows = await current().selectAll('o').where('o.prompt_id', '=', promptId).orderBy('o.tenant').execute();
      return rows.map(toRow);
    },
    async projectOverrides(projectId) {
      const rows = await current()
        .innerJoin('prompts as p', 'p.id', 'o.prompt_id')
        .selectAll('o')
        .select('p.name')
        .where('o.project_id', '=', projectId)
        .orderBy('o.tenant')
        .execute();
      return rows.map((row) => ({ ...toRow(row), name: row.name }));
    },
  };
};

const writes = (database: Kysely<Database>): TenantTx => {
  const db: TenantDb = database.withTables<TenantTables>();
  return {
    ...reads(db),
    async insertOverride(row: NewOverride): Promise<OverrideRow> {
      const inserted = await db
        .insertInto('tenant_overrides')
        .values({
          project_id: row.projectId,
          prompt_id: row.promptId,
          tenant: row.tenant,
          version: row.version,
          sha: row.sha,
          content: row.content,
          label: row.label,
          base_sha: row.baseSha,
          author: row.author,
          message: row.message,
          created_at: row.createdAt,
        })
        .returningAll()
        .executeTakeFirstOrThrow();
      return toRow(inserted);
    },
  };
};

export const createTenantStore = (database: Kysely<Database>): TenantStore => ({
  ...reads(database.withTables<TenantTables>()),
  inTransaction: (scope: TxScope) => writes(scope.db),
});
