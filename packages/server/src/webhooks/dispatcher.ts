import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Clock } from '../context.js';
import type { LeaseStore } from '../leases/store.js';
import type { WebhookService } from './service.js';

/**
 * The webhooks' clock, as the rollouts' scheduler: every `tickMs` the replica holding the `webhooks`
 * lease reads new audit entries into deliveries and attempts those due; the others do nothing while it
 * is held, so each event is sent once across replicas. Tests call `tick()` with an injected clock.
 */

export const WEBHOOK_LEASE = 'webhooks';
export const DEFAULT_WEBHOOK_TICK_MS = 2_000;

export interface WebhookDispatcherOptions {
  readonly tickMs?: number;
  readonly holder?: string;
  readonly leaseMs?: number;
  readonly log?: { error(details: object, message: string): void };
}

export interface DispatchResult {
  readonly held: boolean;
  readonly enqueued: number;
  readonly attempted: number;
  readonly delivered: number;
}

export type WebhookDispatcher = ReturnType<typeof createWebhookDispatcher>;

export const createWebhookDispatcher = (
  service: Pick<WebhookService, 'enqueue' | 'deliverDue'>,
  leases: LeaseStore,
  clock: Clock,
  options: WebhookDispatcherOptions = {},
) => {
  const tickMs = options.tickMs ?? DEFAULT_WEBHOOK_TICK_MS;
  const leaseMs = options.leaseMs ?? Math.max(3 * tickMs, 30_000);
  const holder = options.holder ?? `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<DispatchResult> | undefined;

  const tick = async (): Promise<DispatchResult> => {
    if (!(await leases.acquire(WEBHOOK_LEASE, holder, clock.now(), leaseMs)))
      return { held: false, enqueued: 0, attempted: 0, delivered: 0 };
    const enqueued = await service.enqueue();
    return { held: true, enqueued, ...(await service.deliverDue()) };
  };
  const once = (): Promise<DispatchResult> => {
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
        once().catch((error: unknown) => options.log?.error({ err: error }, 'webhooks: tick failed'));
      }, tickMs);
      timer.unref();
    },
    async stop(): Promise<void> {
      if (timer !== undefined) clearInterval(timer);
      timer = undefined;
      await running?.catch(() => undefined);
      await leases.release(WEBHOOK_LEASE, holder).catch(() => undefined);
    },
  };
};
