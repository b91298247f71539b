import type { WebhookDeliveryStatus, WebhookFormat } from '@promptops/core';
/**
 * The webhooks feature's store: subscriptions and their deliveries (`kysely-store.ts` implements it for
 * both databases). Reads take the project id, so no query reaches another project's rows; the
 * dispatcher's reads (`activeWebhooks`, `dueDeliveries`) span projects, as it serves them all.
 */

export type { WebhookFormat } from '@promptops/core';
export type DeliveryStatus = WebhookDeliveryStatus;

export interface WebhookRow {
  readonly id: number;
  readonly projectId: number;
  readonly url: string;
  readonly events: readonly string[];
  readonly format: WebhookFormat;
  /** The secret sealed with PROMPTOPS_SECRET_KEY (`secrets.ts`); never leaves the server. */
  readonly sealedSecret: string;
  /** The audit seq read up to: events after it are still to be enqueued. */
  readonly afterSeq: number;
  readonly active: boolean;
  readonly createdBy: string;
  readonly createdAt: string;
}

export type NewWebhook = Omit<WebhookRow, 'id' | 'active'>;

export interface DeliveryRow {
  readonly id: number;
  readonly webhookId: number;
  readonly projectId: number;
  readonly eventSeq: number;
  readonly event: string;
  /** The exact body sent (signed afresh at each attempt, with that attempt's timestamp). */
  readonly payload: string;
  /** Attempts made so far. */
  readonly attempt: number;
  /** When the next attempt is due; null once delivered or given up. */
  readonly nextAttemptAt: string | null;
  readonly status: DeliveryStatus;
  readonly responseCode: number | null;
  readonly durationMs: number | null;
  readonly error: string | null;
  readonly createdAt: string;
  readonly lastAttemptAt: string | null;
}

export type NewDelivery = Pick<DeliveryRow, 'webhookId' | 'projectId' | 'eventSeq' | 'event' | 'payload'> & {
  readonly at: string;
};

export interface AttemptResult {
  /** The attempt's number within the delivery's current run (a redelivery starts again at 1). */
  readonly attempt: number;
  readonly at: string;
  readonly status: DeliveryStatus;
  readonly nextAttemptAt: string | null;
  readonly responseCode: number | null;
  readonly durationMs: number | null;
  readonly error: string | null;
}

/** One attempt of a delivery, as made (migration 0020). */
export interface AttemptRow {
  readonly deliveryId: number;
  readonly attempt: number;
  readonly at: string;
  readonly responseCode: number | null;
  readonly error: string | null;
  readonly durationMs: number | null;
}

export interface WebhookTx {
  insertWebhook(row: NewWebhook): Promise<WebhookRow>;
  deleteWebhook(projectId: number, id: number): Promise<boolean>;
  /** Enqueues deliveries (an existing (webhook, seq) is kept as is) and moves the webhook's cursor. */
  enqueue(webhookId: number, deliveries: readonly NewDelivery[], afterSeq: number): Promise<void>;
}

export interface WebhookStore {
  listWebhooks(projectId: number): Promise<WebhookRow[]>;
  getWebhook(projectId: number, id: number): Promise<WebhookRow | undefined>;
  activeWebhooks(): Promise<WebhookRow[]>;
  listDeliveries(projectId: number, webhookId: number, limit: number): Promise<DeliveryRow[]>;
  getDelivery(projectId: number, webhookId: number, id: number): Promise<DeliveryRow | undefined>;
  /** Pending deliveries due at `now`, oldest first. */
  dueDeliveries(now: string, limit: number): Promise<DeliveryRow[]>;
  /** Records one attempt: its own row, and the delivery's latest state. */
  recordAttempt(delivery: Pick<DeliveryRow, 'id' | 'projectId'>, result: AttemptResult): Promise<void>;
  /** The attempts of these deliveries of the project, oldest first. */
  listAttempts(projectId: number, deliveryIds: readonly number[]): Promise<AttemptRow[]>;
  /** Makes a delivery pending again, due at `at`, with its attempts counted afresh. */
  redeliver(id: number, at: string): Promise<void>;
}
