import type { Kysely } from 'kysely';
import type { Database, RolloutTables } from '../storage/schema.js';
import type { LeaseStore } from './store.js';

type Db = Kysely<Database & RolloutTables>;

/**
 * Leases over Kysely, for both databases: an upsert whose update applies only when the row is expired or
 * already ours. Times are ISO 8601 text of one length, so they compare as strings.
 */
export const createLeaseStore = (database: Kysely<Database>): LeaseStore => {
  const db = database as unknown as Db;
  return {
    async acquire(name, holder, now, ttlMs) {
      const expiresAt = new Date(now.getTime() + ttlMs).toISOString();
      const taken = await db
        .insertInto('leases')
        .values({ name, holder, expires_at: expiresAt })
        .onConflict((conflict) =>
          conflict
            .column('name')
            .doUpdateSet({ holder, expires_at: expiresAt })
            .where((eb) => eb.or([eb('leases.holder', '=', holder), eb('leases.expires_at', '<=', now.toISOString())])),
        )
        .returning('holder')
        .executeTakeFirst();
      return taken?.holder === holder;
    },

    async release(name, holder) {
      await db.deleteFrom('leases').where('name', '=', name).where('holder', '=', holder).execute();
    },

    async get(name) {
      const row = await db.selectFrom('leases').selectAll().where('name', '=', name).executeTakeFirst();
      return row && { name: row.name, holder: row.holder, expiresAt: row.expires_at };
    },
  };
};
