import type { FastifyInstance } from 'fastify';
import type { Clock } from '../context.js';
import { DEFAULT_BODY_DEADLINE } from './body-deadline.js';
import { BodyReadLimit, ConcurrencyGate } from './gate.js';
import { startRetention, type RetentionOptions } from './retention.js';
import { traceRoutes } from './routes.js';
import { createTraceService, type TraceStores } from './service.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** Ingest requests processed, waiting for the gate, and with bodies being read, now (tests read it). */
    ingestStats(): { active: number; queued: number; reading: number };
  }
}

export interface IngestOptions {
  /**
   * Ingest requests admitted at once, their bodies read (default 2). The writer thread serves them in
   * order; a second one hands the next batch over while the writer works on the current one (measured:
   * with 1, the writer sat idle ~11 % of the time between batches of 1,000).
   */
  readonly maxActive?: number;
  /** Ingest requests, bodies read, waiting for a slot before 429 (default 16). */
  readonly maxQueued?: number;
  /**
   * Bodies being read at once per API key (default 32) and in all (default 128); beyond, 429. A fleet
   * often shares one key and a fast body is read in milliseconds, so these bound memory and a trickling
   * key's share, not ordinary bursts.
   */
  readonly maxReadingPerKey?: number;
  readonly maxReading?: number;
  /** A body must arrive within this (default 60 s) … */
  readonly bodyTimeoutMs?: number;
  /** … and, after `bodyRateGraceMs` (default 5 s), at no less than this average rate (default 1 KiB/s; 0: none); else 408. */
  readonly minBodyBytesPerSecond?: number;
  readonly bodyRateGraceMs?: number;
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
  stores: TraceStores,
  clock: Clock,
  options: TraceOptions = {},
): Promise<void> => {
  const ingest = options.ingest ?? {};
  const gate = new ConcurrencyGate(ingest.maxActive ?? 2, ingest.maxQueued ?? 16);
  const reads = new BodyReadLimit(ingest.maxReadingPerKey ?? 32, ingest.maxReading ?? 128);
  const deadline = {
    timeoutMs: ingest.bodyTimeoutMs ?? DEFAULT_BODY_DEADLINE.timeoutMs,
    minBytesPerSecond: ingest.minBodyBytesPerSecond ?? DEFAULT_BODY_DEADLINE.minBytesPerSecond,
    graceMs: ingest.bodyRateGraceMs ?? DEFAULT_BODY_DEADLINE.graceMs,
  };
  if (!(deadline.timeoutMs > 0 && deadline.minBytesPerSecond >= 0 && deadline.graceMs >= 0)) {
    throw new Error('ingest body deadline: bodyTimeoutMs must be > 0, the rate and grace >= 0');
  }
  app.decorate('ingestStats', () => ({ active: gate.active, queued: gate.queued, reading: reads.reading }));
  const limits = { gate, reads, deadline, retryAfterSeconds: ingest.retryAfterSeconds ?? 1 };
  await app.register(traceRoutes(createTraceService(stores, clock), limits));
  if (options.retention === false) return;
  const retention = startRetention(stores.traces, {
    ...options.retention,
    now: () => clock.now().getTime(),
    onError: (error) => app.log.error({ err: error }, 'trace retention failed'),
  });
  app.addHook('onClose', async () => retention.stop());
};
