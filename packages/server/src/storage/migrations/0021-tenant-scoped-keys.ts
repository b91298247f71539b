import { sql } from 'kysely';
import type { Kysely, Migration } from 'kysely';

/**
 * Tenant-scoped API keys and tenant self-service on a label's policy.
 *
 * - `api_keys.tenant`: the tenant a key is limited to (null: the whole project). Keys stay hashed; the
 *   scope is read with the key at authentication and checked in the one authorization place.
 * - `label_policies.tenant_self_service` (1/0): a tenant-scoped key may change its own tenant's override
 *   on the protected label (otherwise only an admin may).
 */
export const tenantScopedKeysMigration = (): Migration => ({
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema.alterTable('api_keys').addColumn('tenant', 'text').execute();
    await db.schema
      .alterTable('label_policies')
      .addColumn('tenant_self_service', 'integer', (col) => col.notNull().defaultTo(sql`0`))
      .execute();
  },

  async down(db: Kysely<unknown>): Promise<void> {
    await db.schema.alterTable('label_policies').dropColumn('tenant_self_service').execute();
    await db.schema.alterTable('api_keys').dropColumn('tenant').execute();
  },
});
