/** What the webhooks API answers (`GET /api/v1/webhooks` and a webhook's deliveries): never a secret. */

export type WebhookFormat = 'json' | 'slack';
export type WebhookDeliveryStatus = 'pending' | 'delivered' | 'failed';

export interface WebhookRecord {
  readonly id: number;
  readonly url: string;
  readonly events: readonly string[];
  readonly format: WebhookFormat;
  readonly active: boolean;
  readonly createdBy: string;
  readonly createdAt: string;
}

/** One try at sending a delivery (a redelivery's tries start again at 1). */
export interface WebhookAttemptRecord {
  readonly attempt: number;
  readonly at: string;
  readonly responseCode: number | null;
  readonly error: string | null;
  readonly durationMs: number | null;
}

export interface WebhookDeliveryRecord {
  readonly id: number;
  readonly webhookId: number;
  readonly event: string;
  readonly eventSeq: number;
  readonly status: WebhookDeliveryStatus;
  /** Tries so far, the latest's figures beside it. */
  readonly attempts: number;
  readonly nextAttemptAt: string | null;
  readonly responseCode: number | null;
  readonly durationMs: number | null;
  readonly error: string | null;
  readonly createdAt: string;
  readonly lastAttemptAt: string | null;
  /** Every attempt, oldest first (servers before migration 0020 send none). */
  readonly attemptLog?: readonly WebhookAttemptRecord[];
  /** The body sent, as JSON text. */
  readonly payload: string;
}
