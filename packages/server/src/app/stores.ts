import { sql } from 'kysely';
import { createAccessStore } from '../access/kysely-store.js';
import type { AccessStore, AccessTx } from '../access/store.js';
import { createDriftStore } from '../drift/kysely-store.js';
import type { DriftStore, DriftTx } from '../drift/store.js';
import { createEvalStore } from '../evals/kysely-store.js';
import { createIncidentStore } from '../incidents/kysely-store.js';
import type { IncidentStore, IncidentTx } from '../incidents/store.js';
import { createLabelRuleStore, type LabelRuleStore, type LabelRuleTx } from '../labels/rules-store.js';
import { createLeaseStore } from '../leases/kysely-store.js';
import { createMetricsStore } from '../metrics/kysely-store.js';
import type { MetricsReads } from '../metrics/store.js';
import type { LeaseStore } from '../leases/store.js';
import type { EvalStore, EvalTx } from '../evals/store.js';
import { createRegistryStore } from '../registry/kysely-store.js';
import type { AuditMac, RegistryStore, RegistryTx } from '../registry/store.js';
import { createReviewStore } from '../reviews/kysely-store.js';
import type { ReviewStore, ReviewTx } from '../reviews/store.js';
import { createRolloutStore } from '../rollouts/kysely-store.js';
import type { RolloutStore, RolloutTx } from '../rollouts/store.js';
import { createTenantStore } from '../tenants/kysely-store.js';
import type { TenantStore, TenantTx } from '../tenants/store.js';
import { createWebhookStore } from '../webhooks/kysely-store.js';
import type { WebhookStore, WebhookTx } from '../webhooks/store.js';
import type { Dialect } from '../storage/dialect.js';
import { migrateToLatest } from '../storage/migrations/index.js';
import { openDatabase } from '../storage/open.js';
import { runTransaction, type Transaction } from '../storage/transaction.js';
import { createTraceStore, type TraceStoreHandle } from '../traces/store/index.js';
import type { RollupOptions } from '../traces/store/rollups.js';

/** Every store's writer, bound to one open transaction. */
export interface StoresTx {
  readonly registry: RegistryTx;
  readonly access: AccessTx;
  readonly reviews: ReviewTx;
  readonly evals: EvalTx;
  readonly rollouts: RolloutTx;
  readonly tenants: TenantTx;
  readonly drift: DriftTx;
  readonly incidents: IncidentTx;
  readonly webhooks: WebhookTx;
  readonly labelRules: LabelRuleTx;
}

/** Escape hatch for tests and DBA tooling (e.g. dropping the append-only triggers). Never for application code. */
export interface RawSqlAccess {
  /** Runs one SQL statement as is and returns its rows (none for statements that return none). */
  rawSql(statement: string): Promise<Record<string, unknown>[]>;
}

/** The features' stores on one database: the only place they all meet. Services get only theirs. */
export interface Stores {
  readonly dialect: Dialect;
  readonly registry: RegistryStore;
  readonly access: AccessStore;
  readonly reviews: ReviewStore;
  readonly evals: EvalStore;
  readonly rollouts: RolloutStore;
  readonly tenants: TenantStore;
  readonly leases: LeaseStore;
  readonly drift: DriftStore;
  readonly incidents: IncidentStore;
  readonly webhooks: WebhookStore;
  readonly labelRules: LabelRuleStore;
  /** The grouped counts `/metrics` reads. */
  readonly metrics: MetricsReads;
  readonly traces: TraceStoreHandle;
  /** One write transaction across stores (SQLite: BEGIN IMMEDIATE; PostgreSQL: READ COMMITTED with row locks). */
  readonly transaction: Transaction<StoresTx>;
  /** Applies pending migrations; safe to call from several processes at once. */
  migrate(): Promise<void>;
  close(): Promise<void>;
}

export interface StoresOptions {
  /** Every audit entry appended through the stores carries its HMAC. */
  readonly auditMac?: AuditMac;
  /** The metrics rollups' options, from the environment unless given (benchmarks turn them off). */
  readonly rollups?: RollupOptions;
}

/** Opens the database a `--db` value names and builds every store on it, without migrating. */
export const openStores = (dbUrl: string, options: StoresOptions = {}): Stores & RawSqlAccess => {
  const { db, dialect, sqliteFile, postgresUrl } = openDatabase(dbUrl);
  const registry = createRegistryStore(db, dialect, {
    ...(sqliteFile === undefined ? {} : { sqliteFile }),
    ...(options.auditMac === undefined ? {} : { auditMac: options.auditMac }),
  });
  const access = createAccessStore(db, dialect);
  const reviews = createReviewStore(db);
  const evals = createEvalStore(db);
  const rollouts = createRolloutStore(db, dialect);
  const tenants = createTenantStore(db);
  const leases = createLeaseStore(db);
  const drift = createDriftStore(db);
  const incidents = createIncidentStore(db);
  const webhooks = createWebhookStore(db);
  const labelRules = createLabelRuleStore(db);
  const traces = createTraceStore(db, dialect, {
    ...(sqliteFile === undefined ? {} : { sqliteFile }),
    ...(postgresUrl === undefined ? {} : { postgresUrl }),
    ...(options.rollups === undefined ? {} : { rollups: options.rollups }),
  });
  // A transaction hands out each store's writer on its connection; each is built on first use.
  const transaction: Transaction<StoresTx> = (fn) =>
    runTransaction(db, dialect, (scope) => {
      let registryTx: RegistryTx | undefined;
      let accessTx: AccessTx | undefined;
      let reviewsTx: ReviewTx | undefined;
      let evalsTx: EvalTx | undefined;
      let rolloutsTx: RolloutTx | undefined;
      let tenantsTx: TenantTx | undefined;
      let driftTx: DriftTx | undefined;
      let incidentsTx: IncidentTx | undefined;
      let webhooksTx: WebhookTx | undefined;
      let labelRulesTx: LabelRuleTx | undefined;
      return fn({
        get registry() {
          return (registryTx ??= registry.inTransaction(scope));
        },
        get access() {
          return (accessTx ??= access.inTransaction(scope));
        },
        get reviews() {
          return (reviewsTx ??= reviews.inTransaction(scope));
        },
        get evals() {
          return (evalsTx ??= evals.inTransaction(scope));
        },
        get rollouts() {
          return (rolloutsTx ??= rollouts.inTransaction(scope));
        },
        get tenants() {
          return (tenantsTx ??= tenants.inTransaction(scope));
        },
        get drift() {
          return (driftTx ??= drift.inTransaction(scope));
        },
        get incidents() {
          return (incidentsTx ??= incidents.inTransaction(scope));
        },
        get webhooks() {
          return (webhooksTx ??= webhooks.inTransaction(scope));
        },
        get labelRules() {
          return (labelRulesTx ??= labelRules.inTransaction(scope));
        },
      });
    });
  return {
    dialect: dialect.name,
    registry,
    access,
    reviews,
    evals,
    rollouts,
    tenants,
    leases,
    drift,
    incidents,
    webhooks,
    labelRules,
    metrics: createMetricsStore(db),
    traces,
    transaction,
    migrate: () => migrateToLatest(db, dialect),
    async rawSql(statement) {
      const result = await sql.raw<Record<string, unknown>>(statement).execute(db);
      return result.rows;
    },
    async close() {
      registry.close();
      await traces.close();
      await db.destroy();
    },
  };
};

/**
 * Opens the database a `--db` value names and applies pending migrations before returning.
 * The `rawSql` escape hatch on the result is for tests and DBA tooling only; application code uses the stores.
 * With `auditMac`, every audit entry appended through it carries its HMAC.
 */
export const createStorage = async (dbUrl: string, options: StoresOptions = {}): Promise<Stores & RawSqlAccess> => {
  const stores = openStores(dbUrl, options);
  try {
    await stores.migrate();
  } catch (error) {
    await stores.close().catch(() => undefined);
    throw error;
  }
  return stores;
};
