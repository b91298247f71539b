import { sql } from 'kysely';
import type { Kysely, Migration } from 'kysely';

/**
 * Eval runs per tenant: a run may test one tenant's effective prompt (the base version with the tenant's
 * override). `tenant` and `effective_sha` say which (null: the shared prompt), `override_sha` which override
 * made it. The gate reads a suite's shared run by (project, prompt sha, suite, tenant null) and the tenants'
 * runs of one suite version by (project, prompt sha, suite, suite sha): one index each.
 */
export const evalRunTenantsMigration = (): Migration => ({
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema.alterTable('eval_runs').addColumn('tenant', 'text').execute();
    await db.schema.alterTable('eval_runs').addColumn('effective_sha', 'text').execute();
    await db.schema.alterTable('eval_runs').addColumn('override_sha', 'text').execute();
    await db.schema
      .createIndex('eval_runs_gate_shared')
      .on('eval_runs')
      .columns(['project_id', 'prompt_sha', 'suite_name', 'id'])
      .where(sql.ref('tenant'), 'is', null)
      .execute();
    await db.schema
      .createIndex('eval_runs_gate_tenants')
      .on('eval_runs')
      .columns(['project_id', 'prompt_sha', 'suite_name', 'suite_sha', 'tenant', 'id'])
      .where(sql.ref('tenant'), 'is not', null)
      .execute();
  },

  async down(db: Kysely<unknown>): Promise<void> {
    await db.schema.dropIndex('eval_runs_gate_tenants').execute();
    await db.schema.dropIndex('eval_runs_gate_shared').execute();
    for (const column of ['override_sha', 'effective_sha', 'tenant']) {
      await db.schema.alterTable('eval_runs').dropColumn(column).execute();
    }
  },
});
