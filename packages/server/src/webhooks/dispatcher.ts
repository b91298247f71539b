import type { Clock } from '../context.js';
import { createLeasedJob } from '../leases/leased-job.js';
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
) =>
  createLeasedJob<Omit<DispatchResult, 'held'>>({
    leases,
    name: WEBHOOK_LEASE,
    clock,
    tickMs: options.tickMs ?? DEFAULT_WEBHOOK_TICK_MS,
    leaseMs: options.leaseMs,
    holder: options.holder,
    log: options.log,
    idle: { enqueued: 0, attempted: 0, delivered: 0 },
    work: async () => {
      const enqueued = await service.enqueue();
      return { enqueued, ...(await service.deliverDue()) };
    },
  });
