import type { FastifyInstance } from 'fastify';
import type { Clock } from '../context.js';
import type { Storage } from '../storage/port.js';
import { ConcurrencyGate } from './gate.js';
import { startRetention, type RetentionOptions } from './retention.js';
import { traceRoutes } from './routes.js';
import { createTraceService } from './service.js';

export interface IngestOptions {
  /**
   * Ingest requests admitted at once (default 2). The writer thread serves them in order; a second one
   * lets the next body be read and queued while the writer works on the current one (measured: with 1,
   * the writer sat idle ~11 % of the time between batches of 1,000 while the next body arrived).
   */
  readonly maxActive?: number;
  /** Ingest requests waiting for a slot before 429 (default 16). */
  readonly maxQueued?: number;
  /** The Retry-After of a 429, in seconds (default 1). */
  readonly retryAfterSeconds?: number;
}

export interface TraceOptions {
  readonly ingest?: IngestOptions;
  /** `false` turns the background retention job off (it is on by default on every replica). */
  readonly retention?: RetentionOptions | false;
}

/** Registers the trace routes and starts the retention job, which stops when the app closes. */
export const registerTraces = async (
  app: FastifyInstance,
  storage: Storage,
  clock: Clock,
  options: TraceOptions = {},
): Promise<void> => {
  const gate = new ConcurrencyGate(options.ingest?.maxActive ?? 2, options.ingest?.maxQueued ?? 16);
  await app.register(traceRoutes(createTraceService(storage, clock), gate, options.ingest?.retryAfterSeconds ?? 1));
  if (options.retention === false) return;
  const retention = startRetention(storage, {
    ...options.retention,
    now: () => clock.now().getTime(),
    onError: (error) => app.log.error({ err: error }, 'trace retention failed'),
  });
  app.addHook('onClose', async () => retention.stop());
};
