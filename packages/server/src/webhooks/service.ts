import {
  PromptopsError,
  WEBHOOK_EVENTS,
  WEBHOOK_SIGNATURE_HEADER,
  isWebhookEventName,
  signWebhook,
  webhookEventMatches,
  type WebhookDeliveryRecord,
  type WebhookRecord,
} from '@promptops/core';
import type { Actor, Clock } from '../context.js';
import type { RegistryStore, RegistryTx } from '../registry/store.js';
import type { Transaction } from '../storage/transaction.js';
import { webhookBody, webhookEventOf } from './events.js';
import { newWebhookSecret, secretKeyMissing, type SecretBox } from './secrets.js';
import { httpSend, type Send } from './sender.js';
import type {
  AttemptRow,
  DeliveryRow,
  NewDelivery,
  WebhookFormat,
  WebhookRow,
  WebhookStore,
  WebhookTx,
} from './store.js';
import { checkedAddresses, parseTarget, systemResolve, type Resolve } from './targets.js';

export interface WebhookStores {
  readonly registry: RegistryStore;
  readonly webhooks: WebhookStore;
  readonly transaction: Transaction<{ readonly registry: RegistryTx; readonly webhooks: WebhookTx }>;
}

export interface WebhookOptions {
  /** Seals secrets at rest (from PROMPTOPS_SECRET_KEY); without one, webhooks cannot be created. */
  readonly secretBox?: SecretBox;
  /** PROMPTOPS_WEBHOOK_ALLOW_PRIVATE=1: private, loopback and link-local targets allowed. */
  readonly allowPrivate?: boolean;
  readonly resolve?: Resolve;
  readonly send?: Send;
  readonly timeoutMs?: number;
}

/** Waits after each failed attempt: 8 retries over about 98 minutes, then the delivery is given up. */
export const RETRY_DELAYS_MS = [10_000, 30_000, 120_000, 300_000, 600_000, 1_200_000, 1_800_000, 1_800_000];
const AUDIT_PAGE = 200;
const DUE_BATCH = 100;

export type WebhookService = ReturnType<typeof createWebhookService>;

const notFound = (id: number): PromptopsError =>
  new PromptopsError('not_found', 'webhook_not_found', `no webhook ${id} in this project`, {
    fix: 'list them: promptops webhook list',
  });

const invalid = (message: string, fix: string): PromptopsError =>
  new PromptopsError('invalid', 'invalid_webhook', message, { fix });

/** What answers show of a webhook: never its secret. */
export const publicWebhook = (row: WebhookRow): WebhookRecord => ({
  id: row.id,
  url: row.url,
  events: row.events,
  format: row.format,
  active: row.active,
  createdBy: row.createdBy,
  createdAt: row.createdAt,
});

const publicDelivery = (row: DeliveryRow, attempts: readonly AttemptRow[]): WebhookDeliveryRecord => ({
  id: row.id,
  webhookId: row.webhookId,
  event: row.event,
  eventSeq: row.eventSeq,
  status: row.status,
  attempts: row.attempt,
  nextAttemptAt: row.nextAttemptAt,
  responseCode: row.responseCode,
  durationMs: row.durationMs,
  error: row.error,
  createdAt: row.createdAt,
  lastAttemptAt: row.lastAttemptAt,
  attemptLog: attempts
    .filter((a) => a.deliveryId === row.id)
    .map(({ attempt, at, responseCode, error, durationMs }) => ({ attempt, at, responseCode, error, durationMs })),
  payload: row.payload,
});

export const createWebhookService = (stores: WebhookStores, clock: Clock, options: WebhookOptions = {}) => {
  const { registry, webhooks, transaction } = stores;
  const resolve = options.resolve ?? systemResolve;
  const send = options.send ?? httpSend;
  const allowPrivate = options.allowPrivate === true;
  const timeoutMs = options.timeoutMs ?? 10_000;

  const webhookOf = async (actor: Pick<Actor, 'projectId'>, id: number): Promise<WebhookRow> => {
    const row = await webhooks.getWebhook(actor.projectId, id);
    if (!row) throw notFound(id);
    return row;
  };

  const create = async (actor: Actor, input: { url: string; events: readonly string[]; format?: WebhookFormat }) => {
    const box = options.secretBox;
    if (box === undefined) throw secretKeyMissing();
    const unknown = input.events.filter((name) => !isWebhookEventName(name));
    if (unknown.length > 0 || input.events.length === 0) {
      throw invalid(
        input.events.length === 0 ? 'events: name at least one event' : `events: unknown ${unknown.join(', ')}`,
        `choose from ${WEBHOOK_EVENTS.join(', ')}, a family such as rollout.*, or *`,
      );
    }
    const url = parseTarget(input.url);
    await checkedAddresses(url, resolve, allowPrivate);
    const secret = newWebhookSecret();
    const at = clock.now().toISOString();
    const row = await transaction(async (tx) => {
      const inserted = await tx.webhooks.insertWebhook({
        projectId: actor.projectId,
        url: url.href,
        events: [...new Set(input.events)],
        format: input.format ?? 'json',
        sealedSecret: box.seal(secret),
        afterSeq: 0,
        createdBy: actor.name,
        createdAt: at,
      });
      const audit = await tx.registry.appendAudit({
        projectId: actor.projectId,
        at,
        actor: actor.name,
        action: 'webhook.created',
        target: `webhook:${inserted.id}`,
        data: { webhook: inserted.id, url: inserted.url, events: inserted.events, format: inserted.format },
      });
      // New subscriptions hear what happens from their creation on, not the project's history.
      await tx.webhooks.enqueue(inserted.id, [], audit.seq);
      return inserted;
    });
    return { webhook: publicWebhook(row), secret };
  };

  const remove = async (actor: Actor, id: number): Promise<void> => {
    await webhookOf(actor, id);
    await transaction(async (tx) => {
      if (!(await tx.webhooks.deleteWebhook(actor.projectId, id))) throw notFound(id);
      await tx.registry.appendAudit({
        projectId: actor.projectId,
        at: clock.now().toISOString(),
        actor: actor.name,
        action: 'webhook.deleted',
        target: `webhook:${id}`,
        data: { webhook: id },
      });
    });
  };

  /** Reads each active webhook's audit entries after its cursor into deliveries; returns how many. */
  const enqueue = async (): Promise<number> => {
    let enqueued = 0;
    const projects = new Map<number, string>();
    for (const hook of await webhooks.activeWebhooks()) {
      const rows = await registry.listAudit(hook.projectId, { afterSeq: hook.afterSeq, limit: AUDIT_PAGE });
      if (rows.length === 0) continue;
      let name = projects.get(hook.projectId);
      if (name === undefined) {
        name = (await registry.getProject(hook.projectId))?.name ?? String(hook.projectId);
        projects.set(hook.projectId, name);
      }
      const at = clock.now().toISOString();
      const deliveries: NewDelivery[] = [];
      for (const row of rows) {
        const event = webhookEventOf(row);
        if (event === undefined || !webhookEventMatches(hook.events, event)) continue;
        const payload = webhookBody(hook.format, event, row, { id: hook.projectId, name });
        deliveries.push({ webhookId: hook.id, projectId: hook.projectId, eventSeq: row.seq, event, payload, at });
      }
      await transaction((tx) => tx.webhooks.enqueue(hook.id, deliveries, rows[rows.length - 1]!.seq));
      enqueued += deliveries.length;
    }
    return enqueued;
  };

  const attempt = async (delivery: DeliveryRow, hook: WebhookRow): Promise<boolean> => {
    const started = clock.now();
    const at = started.toISOString();
    const attemptNo = delivery.attempt + 1;
    let status: number | null = null;
    let error: string | null;
    let durationMs: number | null = null;
    try {
      const box = options.secretBox;
      if (box === undefined) throw secretKeyMissing();
      const url = new URL(hook.url);
      const [address] = await checkedAddresses(url, resolve, allowPrivate);
      const timestamp = Math.floor(started.getTime() / 1000);
      const headers = {
        'content-type': 'application/json',
        'user-agent': 'promptops-webhooks',
        'x-promptops-event': delivery.event,
        'x-promptops-delivery': String(delivery.id),
        [WEBHOOK_SIGNATURE_HEADER]: signWebhook(box.open(hook.sealedSecret), delivery.payload, timestamp),
      };
      const t0 = performance.now();
      const result = await send(url, address!, headers, delivery.payload, timeoutMs);
      durationMs = Math.round(performance.now() - t0);
      status = result.status;
      error = result.error ?? (status !== null && (status < 200 || status >= 300) ? `answered ${status}` : null);
    } catch (thrown) {
      error = thrown instanceof Error ? thrown.message : String(thrown);
    }
    const delivered = error === null && status !== null;
    const delay = RETRY_DELAYS_MS[attemptNo - 1];
    await webhooks.recordAttempt(delivery, {
      attempt: attemptNo,
      at,
      status: delivered ? 'delivered' : delay === undefined ? 'failed' : 'pending',
      nextAttemptAt: delivered || delay === undefined ? null : new Date(started.getTime() + delay).toISOString(),
      responseCode: status,
      durationMs,
      error: error?.slice(0, 500) ?? null,
    });
    return delivered;
  };

  /** Attempts every delivery due now, oldest first. */
  const deliverDue = async (): Promise<{ attempted: number; delivered: number }> => {
    const due = await webhooks.dueDeliveries(clock.now().toISOString(), DUE_BATCH);
    const hooks = new Map<number, WebhookRow | undefined>();
    let delivered = 0;
    for (const delivery of due) {
      if (!hooks.has(delivery.webhookId))
        hooks.set(delivery.webhookId, await webhooks.getWebhook(delivery.projectId, delivery.webhookId));
      const hook = hooks.get(delivery.webhookId);
      if (hook === undefined) continue;
      if (await attempt(delivery, hook)) delivered += 1;
    }
    return { attempted: due.length, delivered };
  };

  return {
    create,
    remove,
    enqueue,
    deliverDue,
    list: async (actor: Actor) => (await webhooks.listWebhooks(actor.projectId)).map(publicWebhook),
    deliveries: async (actor: Actor, id: number, limit = 100) => {
      await webhookOf(actor, id);
      const rows = await webhooks.listDeliveries(actor.projectId, id, limit);
      const attempts = await webhooks.listAttempts(
        actor.projectId,
        rows.map((row) => row.id),
      );
      return rows.map((row) => publicDelivery(row, attempts));
    },
    redeliver: async (actor: Actor, id: number, deliveryId: number) => {
      await webhookOf(actor, id);
      const delivery = await webhooks.getDelivery(actor.projectId, id, deliveryId);
      if (!delivery) {
        throw new PromptopsError(
          'not_found',
          'webhook_delivery_not_found',
          `webhook ${id} has no delivery ${deliveryId}`,
          { fix: `list them: promptops webhook deliveries ${id}` },
        );
      }
      await webhooks.redeliver(delivery.id, clock.now().toISOString());
      return publicDelivery(
        (await webhooks.getDelivery(actor.projectId, id, deliveryId))!,
        await webhooks.listAttempts(actor.projectId, [deliveryId]),
      );
    },
  };
};
