import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Clock } from '../context.js';
import type { LeaseStore } from './store.js';

/**
 * A periodic job that runs on one replica at a time: each tick takes (or renews) the `name` lease and
 * runs `work` only while it is held; other replicas tick too but do nothing. One tick at a time, so a
 * slow one is not overlapped by the next. The rollouts scheduler, monitors and webhooks use it.
 */

export interface LeasedJobOptions<T extends object> {
  readonly leases: LeaseStore;
  /** The lease's name; also prefixes the logged tick failures. */
  readonly name: string;
  readonly clock: Clock;
  readonly tickMs: number;
  /** How long a taken lease lasts unless renewed (default 3 ticks, at least 30 s). */
  readonly leaseMs?: number | undefined;
  /** This replica's name on the lease. */
  readonly holder?: string | undefined;
  readonly log?: { error(details: object, message: string): void } | undefined;
  /** The result's fields when the lease is held elsewhere (work did not run). */
  readonly idle: T;
  readonly work: () => Promise<T>;
}

export type LeasedTickResult<T extends object> = { readonly held: boolean } & T;

export interface LeasedJob<T extends object> {
  readonly holder: string;
  readonly tickMs: number;
  tick(): Promise<LeasedTickResult<T>>;
  start(): void;
  /** Stops ticking, waits for a tick in flight, and gives the lease up so another replica need not wait. */
  stop(): Promise<void>;
}

export const createLeasedJob = <T extends object>(options: LeasedJobOptions<T>): LeasedJob<T> => {
  const { leases, name, clock, tickMs, log } = options;
  const leaseMs = options.leaseMs ?? Math.max(3 * tickMs, 30_000);
  const holder = options.holder ?? `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<LeasedTickResult<T>> | undefined;

  const tick = async (): Promise<LeasedTickResult<T>> => {
    if (!(await leases.acquire(name, holder, clock.now(), leaseMs))) return { held: false, ...options.idle };
    return { held: true, ...(await options.work()) };
  };
  const once = (): Promise<LeasedTickResult<T>> => {
    running ??= tick().finally(() => {
      running = undefined;
    });
    return running;
  };

  return {
    holder,
    tickMs,
    tick: once,
    start(): void {
      if (timer !== undefined) return;
      timer = setInterval(() => {
        once().catch((error: unknown) => log?.error({ err: error }, `${name}: tick failed`));
      }, tickMs);
      timer.unref();
    },
    async stop(): Promise<void> {
      if (timer !== undefined) clearInterval(timer);
      timer = undefined;
      await running?.catch(() => undefined);
      await leases.release(name, holder).catch(() => undefined);
    },
  };
};
