import { sql } from 'kysely';
import type { Kysely, Migration } from 'kysely';

/**
 * Traces of rollouts: `shadow_of` names the baseline trace a shadow output pairs with (the candidate run
 * on a copy of that call). The rollout scheduler reads each running rollout's traces by the time the
 * server received them, every tick: an index on (project, rollout, received), partial, so the many traces
 * of no rollout cost it nothing.
 */
export const traceRolloutsMigration = (): Migration => ({
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema.alterTable('traces').addColumn('shadow_of', 'text').execute();
    await db.schema
      .createIndex('traces_rollout_time')
      .on('traces')
      .columns(['project_id', 'rollout_id', 'created_at_ms'])
      .where(sql.ref('rollout_id'), 'is not', null)
      .execute();
  },

  async down(db: Kysely<unknown>): Promise<void> {
    await db.schema.dropIndex('traces_rollout_time').execute();
    await db.schema.alterTable('traces').dropColumn('shadow_of').execute();
  },
});
