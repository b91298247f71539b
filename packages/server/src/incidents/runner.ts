import type { Clock } from '../context.js';
import { createLeasedJob } from '../leases/leased-job.js';
import type { LeaseStore } from '../leases/store.js';
import type { IncidentService } from './service.js';

/**
 * The monitors' clock, as the rollouts' scheduler: every `tickMs` the replica holding the `monitors`
 * lease looks at every monitor once; the others do nothing while it is held.
 */

export const MONITOR_LEASE = 'monitors';
export const DEFAULT_MONITOR_TICK_MS = 5_000;

/** `PROMPTOPS_MONITOR_TICK_MS`: how often the monitors look (benchmarks and tests shorten it). */
export const monitorTickMsFrom = (env: NodeJS.ProcessEnv): number | undefined => {
  const raw = env['PROMPTOPS_MONITOR_TICK_MS'];
  if (raw === undefined || raw === '') return undefined;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 100) {
    throw new Error(`PROMPTOPS_MONITOR_TICK_MS must be a whole number of milliseconds, 100 or more; got '${raw}'`);
  }
  return value;
};

export interface MonitorRunnerOptions {
  readonly tickMs?: number;
  readonly holder?: string;
  readonly leaseMs?: number;
  readonly log?: { error(details: object, message: string): void };
}

export type MonitorRunner = ReturnType<typeof createMonitorRunner>;

export const createMonitorRunner = (
  service: Pick<IncidentService, 'tick'>,
  leases: LeaseStore,
  clock: Clock,
  options: MonitorRunnerOptions = {},
) =>
  createLeasedJob<{ looked: number; fired: number }>({
    leases,
    name: MONITOR_LEASE,
    clock,
    tickMs: options.tickMs ?? DEFAULT_MONITOR_TICK_MS,
    leaseMs: options.leaseMs,
    holder: options.holder,
    log: options.log,
    idle: { looked: 0, fired: 0 },
    work: () => service.tick(options.log),
  });
