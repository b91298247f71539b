import type { Clock } from '../context.js';
import { createLeasedJob } from '../leases/leased-job.js';
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
) =>
  createLeasedJob<Omit<TickResult, 'held'>>({
    leases,
    name: ROLLOUT_LEASE,
    clock,
    tickMs: options.tickMs ?? DEFAULT_ROLLOUT_TICK_MS,
    leaseMs: options.leaseMs,
    holder: options.holder,
    log: options.log,
    idle: { looked: 0 },
    work: async () => {
      const rollouts = await service.running();
      for (const rollout of rollouts) {
        try {
          await service.tick(rollout.projectId, rollout.id);
        } catch (error) {
          // One rollout's failure (its figures unreadable, a conflict) must not stop the others.
          options.log?.error({ err: error, rolloutId: rollout.id }, 'rollouts: deciding failed');
        }
      }
      return { looked: rollouts.length };
    },
  });
