import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Clock } from '../context.js';
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
) => {
  const tickMs = options.tickMs ?? DEFAULT_MONITOR_TICK_MS;
  const leaseMs = options.leaseMs ?? Math.max(3 * tickMs, 30_000);
  const holder = options.holder ?? `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<{ held: boolean; looked: number; fired: number }> | undefined;

  const tick = async () => {
    if (!(await leases.acquire(MONITOR_LEASE, holder, clock.now(), leaseMs)))
      return { held: false, looked: 0, fired: 0 };
    return { held: true, ...(await service.tick(options.log)) };
  };
  const once = () => {
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
        once().catch((error: unknown) => options.log?.error({ err: error }, 'monitors: tick failed'));
      }, tickMs);
      timer.unref();
    },
    async stop(): Promise<void> {
      if (timer !== undefined) clearInterval(timer);
      timer = undefined;
      await running?.catch(() => undefined);
      await leases.release(MONITOR_LEASE, holder).catch(() => undefined);
    },
  };
};
