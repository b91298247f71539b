import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Clock } from '../context.js';
import type { LeaseStore } from '../leases/store.js';
import type { RolloutService } from './service.js';

/**
 * The rollouts' clock: every `tickMs`, the replica holding the `rollouts` lease looks at each running
 * rollout once (service.tick: figures → decide → its verdict applied with its decision row and audit
 * entry). Other replicas tick too but do nothing while the lease is held; if its holder dies, the lease
 * expires and one of them takes over. Everything a tick decides is in the database, so a restart loses
 * nothing.
 */

export const ROLLOUT_LEASE = 'rollouts';
export const DEFAULT_ROLLOUT_TICK_MS = 10_000;

export interface RolloutSchedulerOptions {
  readonly tickMs?: number;
  /** This replica's name on the lease. */
  readonly holder?: string;
  /** How long a taken lease lasts unless renewed (default 3 ticks, at least 30 s). */
  readonly leaseMs?: number;
  readonly log?: { error(details: object, message: string): void };
}

export interface TickResult {
  /** Whether this replica held the lease (and so looked at the rollouts). */
  readonly held: boolean;
  /** Rollouts looked at. */
  readonly looked: number;
}

export type RolloutScheduler = ReturnType<typeof createRolloutScheduler>;

/** PROMPTOPS_ROLLOUT_TICK_MS, checked. */
export const rolloutTickMsFrom = (env: NodeJS.ProcessEnv): number | undefined => {
  const raw = env['PROMPTOPS_ROLLOUT_TICK_MS'];
  if (raw === undefined || raw === '') return undefined;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 100) {
    throw new Error(`PROMPTOPS_ROLLOUT_TICK_MS must be a whole number of milliseconds, 100 or more; got '${raw}'`);
  }
  return value;
};

export const createRolloutScheduler = (
  service: Pick<RolloutService, 'running' | 'tick'>,
  leases: LeaseStore,
  clock: Clock,
  options: RolloutSchedulerOptions = {},
) => {
  const tickMs = options.tickMs ?? DEFAULT_ROLLOUT_TICK_MS;
  const leaseMs = options.leaseMs ?? Math.max(3 * tickMs, 30_000);
  const holder = options.holder ?? `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<TickResult> | undefined;

  const tick = async (): Promise<TickResult> => {
    if (!(await leases.acquire(ROLLOUT_LEASE, holder, clock.now(), leaseMs))) return { held: false, looked: 0 };
    const rollouts = await service.running();
    for (const rollout of rollouts) {
      try {
        await service.tick(rollout.projectId, rollout.id);
      } catch (error) {
        // One rollout's failure (its figures unreadable, a conflict) must not stop the others.
        options.log?.error({ err: error, rolloutId: rollout.id }, 'rollouts: deciding failed');
      }
    }
    return { held: true, looked: rollouts.length };
  };

  /** One tick at a time: a slow one is not overlapped by the next. */
  const once = (): Promise<TickResult> => {
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
        once().catch((error: unknown) => options.log?.error({ err: error }, 'rollouts: tick failed'));
      }, tickMs);
      timer.unref();
    },
    /** Stops ticking, waits for a tick in flight, and gives the lease up so another replica need not wait. */
    async stop(): Promise<void> {
      if (timer !== undefined) clearInterval(timer);
      timer = undefined;
      await running?.catch(() => undefined);
      await leases.release(ROLLOUT_LEASE, holder).catch(() => undefined);
    },
  };
};
