import { sql } from 'kysely';
import type { Kysely, Migration } from 'kysely';

/**
 * A rollout's targeting rules (core's TargetingRule[] as JSON text, null: none) and its kill switch
 * (1: everyone is served the baseline). Both travel with the rollout in the snapshot and its events.
 */
export const rolloutTargetingMigration = (): Migration => ({
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema.alterTable('rollouts').addColumn('rules', 'text').execute();
    await db.schema
      .alterTable('rollouts')
      .addColumn('killed', 'integer', (col) => col.notNull().defaultTo(sql`0`))
      .execute();
  },

  async down(db: Kysely<unknown>): Promise<void> {
    await db.schema.alterTable('rollouts').dropColumn('killed').execute();
    await db.schema.alterTable('rollouts').dropColumn('rules').execute();
  },
});
