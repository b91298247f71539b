import type { Kysely, Migration } from 'kysely';

/**
 * A change request may propose a rollout instead of a label move: `rollout` holds its plan (core's
 * RolloutConfig as JSON text), `rollout_id` the rollout its merge started.
 */
export const changeRequestRolloutsMigration = (): Migration => ({
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema.alterTable('change_requests').addColumn('rollout', 'text').execute();
    await db.schema.alterTable('change_requests').addColumn('rollout_id', 'text').execute();
  },

  async down(db: Kysely<unknown>): Promise<void> {
    await db.schema.alterTable('change_requests').dropColumn('rollout_id').execute();
    await db.schema.alterTable('change_requests').dropColumn('rollout').execute();
  },
});
