import { Migrator } from 'kysely';
import type { Kysely, Migration } from 'kysely';
import type { SqlDialect } from '../dialect.js';
import type { Database } from '../schema.js';
import { initialMigration } from './0001-initial.js';
import { tracesMigration } from './0002-traces.js';
import { accessMigration } from './0003-access.js';
import { reviewsMigration } from './0004-reviews.js';
import { evalsMigration } from './0005-evals.js';
import { reviewEventsAppendOnlyMigration } from './0006-review-events-append-only.js';
import { rollupsMigration } from './0007-rollups.js';
import { auditMacMigration } from './0008-audit-mac.js';
import { traceIdIndexMigration } from './0009-trace-id-index.js';
import { uniqueSuiteNamesPerPromptMigration } from './0010-unique-suite-names-per-prompt.js';
import { rolloutsMigration } from './0011-rollouts.js';
import { driftMigration } from './0012-drift.js';
import { traceRolloutsMigration } from './0013-trace-rollouts.js';
import { incidentsMigration } from './0014-incidents.js';
import { tenantOverridesMigration } from './0015-tenant-overrides.js';
import { changeRequestRolloutsMigration } from './0016-change-request-rollouts.js';
import { webhooksMigration } from './0017-webhooks.js';
import { rolloutTargetingMigration } from './0018-rollout-targeting.js';
import { traceUnitsMigration } from './0019-trace-units.js';
import { webhookAttemptsMigration } from './0020-webhook-attempts.js';
import { tenantScopedKeysMigration } from './0021-tenant-scoped-keys.js';
import { evalRunTenantsMigration } from './0022-eval-run-tenants.js';
import { labelRulesMigration } from './0023-label-rules.js';

/** Every migration, in order of their names. Add new ones here; never edit one that has shipped. */
export const migrationsFor = (dialect: SqlDialect): Record<string, Migration> => ({
  '0001-initial': initialMigration(dialect),
  '0002-traces': tracesMigration(dialect),
  '0003-access': accessMigration(dialect),
  '0004-reviews': reviewsMigration(dialect),
  '0005-evals': evalsMigration(dialect),
  '0006-review-events-append-only': reviewEventsAppendOnlyMigration(dialect),
  '0007-rollups': rollupsMigration(dialect),
  '0008-audit-mac': auditMacMigration(),
  '0009-trace-id-index': traceIdIndexMigration(),
  '0010-unique-suite-names-per-prompt': uniqueSuiteNamesPerPromptMigration(dialect),
  '0011-rollouts': rolloutsMigration(dialect),
  '0012-drift': driftMigration(dialect),
  '0013-trace-rollouts': traceRolloutsMigration(),
  '0014-incidents': incidentsMigration(dialect),
  '0015-tenant-overrides': tenantOverridesMigration(dialect),
  '0016-change-request-rollouts': changeRequestRolloutsMigration(),
  '0017-webhooks': webhooksMigration(dialect),
  '0018-rollout-targeting': rolloutTargetingMigration(),
  '0019-trace-units': traceUnitsMigration(),
  '0020-webhook-attempts': webhookAttemptsMigration(dialect),
  '0021-tenant-scoped-keys': tenantScopedKeysMigration(),
  '0022-eval-run-tenants': evalRunTenantsMigration(),
  '0023-label-rules': labelRulesMigration(dialect),
});

/**
 * Applies pending migrations. Safe when several processes start at once on one database: the whole run,
 * including Kysely's creation of its own bookkeeping tables (which races on PostgreSQL otherwise), happens
 * under the dialect's migration lock (dialect.ts).
 */
export const migrateToLatest = async (db: Kysely<Database>, dialect: SqlDialect): Promise<void> => {
  await db.connection().execute(async (connection) => {
    const migrate = async (): Promise<void> => {
      const migrator = new Migrator({
        db: connection,
        provider: { getMigrations: () => Promise.resolve(migrationsFor(dialect)) },
      });
      const { error, results } = await migrator.migrateToLatest();
      if (error === undefined) return;
      const failed = results?.find((result) => result.status === 'Error')?.migrationName;
      const reason = error instanceof Error ? error.message : String(error);
      throw new Error(`database migration ${failed ?? '(setup)'} failed: ${reason}`, { cause: error });
    };

    await dialect.withMigrationLock(connection, migrate);
  });
};
