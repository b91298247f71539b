import type { Kysely, Migration } from 'kysely';

/**
 * Each audit entry may carry an HMAC (`mac`, hex) made with a key the server process holds and the
 * database never sees (PROMPTOPS_AUDIT_HMAC_KEY), so a writer with database access alone cannot re-chain
 * a rewritten log. Entries written before (or without) a key keep NULL and verify by their hash chain.
 */
export const auditMacMigration = (): Migration => ({
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema.alterTable('audit_log').addColumn('mac', 'text').execute();
  },

  async down(db: Kysely<unknown>): Promise<void> {
    await db.schema.alterTable('audit_log').dropColumn('mac').execute();
  },
});
