import type { Kysely, Migration } from 'kysely';

/**
 * Traces of a rollout carry their unit's identity (`rollout_unit`: the hash of the unit key, core's
 * rolloutUnitHash, never the key), so the sample-ratio check counts distinct units per arm, not calls.
 * A nullable column with no default: added without rewriting the table on either database. The rollout
 * scheduler reads it through the (project, rollout, received) index of 0013; no index of its own.
 */
export const traceUnitsMigration = (): Migration => ({
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema.alterTable('traces').addColumn('rollout_unit', 'text').execute();
  },

  async down(db: Kysely<unknown>): Promise<void> {
    await db.schema.alterTable('traces').dropColumn('rollout_unit').execute();
  },
});
