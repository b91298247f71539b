import type { Kysely } from 'kysely';
import type { SqlDialect } from '../../storage/dialect.js';
import type { Database } from '../../storage/schema.js';
import { createTraceIngest, type TraceIngest } from '../ingest/ingest.js';
import { TraceWriter } from '../ingest/writer.js';
import type { TraceStore } from '../store.js';
import { createKyselyTraceStore } from './kysely-store.js';
import { rollupOptionsFromEnv, type RollupOptions } from './rollups.js';

/**
 * The traces feature's storage, built by the composition root on storage's database handle: the store
 * (rows in, what was inserted out; queries, metrics, rollups) and ingestion (ingest/), which share the
 * writer thread.
 */
export interface TraceStoreHandle extends TraceStore {
  /** `POST /api/v1/ingest` bodies to answers (ingest/ingest.ts). */
  readonly ingest: TraceIngest;
  /** Waits for pending inserts (they commit), then ends the writer thread. The database stays open. */
  close(): Promise<void>;
}

export interface TraceStoreOptions {
  /** A SQLite file database: inserts and ingest bodies then run on a writer thread with a connection of its own. */
  readonly sqliteFile?: string;
  /** PostgreSQL: the same, on a connection of the writer's own. */
  readonly postgresUrl?: string;
  /** The metrics rollups' options (rollups.ts), from the environment unless given. */
  readonly rollups?: RollupOptions;
}

export const createTraceStore = (
  db: Kysely<Database>,
  dialect: SqlDialect,
  options: TraceStoreOptions = {},
): TraceStoreHandle => {
  const rollups = options.rollups ?? rollupOptionsFromEnv();
  const target = options.sqliteFile ?? options.postgresUrl;
  const writer = target === undefined ? undefined : new TraceWriter({ dialect, target, rollups });
  const store = createKyselyTraceStore(db, dialect, writer, rollups);
  // PostgreSQL's pool may insert beside the writer's connection; SQLite's would wait for the writer's lock.
  const insertOnPool = options.postgresUrl === undefined ? undefined : store.insertOnPool;
  const ingest = createTraceIngest({
    dialect,
    store,
    ...(writer === undefined ? {} : { writer }),
    ...(insertOnPool === undefined ? {} : { insertOnPool }),
  });
  const { insertOnPool: _pool, ...rows } = store;
  return {
    ...rows,
    ingest,
    async close() {
      await writer?.close();
    },
  };
};
