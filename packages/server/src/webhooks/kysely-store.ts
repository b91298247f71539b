import type { Generated, Kysely, Selectable } from 'kysely';
import type { Database } from '../storage/schema.js';
import type { TxScope } from '../storage/transaction.js';
import type {
  AttemptRow,
  DeliveryRow,
  DeliveryStatus,
  WebhookFormat,
  WebhookRow,
  WebhookStore,
  WebhookTx,
} from './store.js';

/** The tables of migrations 0017 and 0020, as Kysely sees them. */
export type WebhookTables = {
  webhooks: {
    id: Generated<number>;
    project_id: number;
    url: string;
    events: string;
    format: string;
    secret: string;
    after_seq: number;
    active: number;
    created_by: string;
    created_at: string;
  };
  webhook_deliveries: {
    id: Generated<number>;
    webhook_id: number;
    project_id: number;
    event_seq: number;
    event: string;
    payload: string;
    attempt: number;
    next_attempt_at: string | null;
    status: string;
    response_code: number | null;
    duration_ms: number | null;
    error: string | null;
    created_at: string;
    last_attempt_at: string | null;
  };
  webhook_attempts: {
    id: Generated<number>;
    delivery_id: number;
    project_id: number;
    attempt: number;
    at: string;
    response_code: number | null;
    error: string | null;
    duration_ms: number | null;
  };
};

type Db = Kysely<Database & WebhookTables>;

const toWebhook = (row: Selectable<WebhookTables['webhooks']>): WebhookRow => ({
  id: Number(row.id),
  projectId: Number(row.project_id),
  url: row.url,
  events: JSON.parse(row.events) as string[],
  format: row.format as WebhookFormat,
  sealedSecret: row.secret,
  afterSeq: Number(row.after_seq),
  active: Number(row.active) === 1,
  createdBy: row.created_by,
  createdAt: row.created_at,
});

const toDelivery = (row: Selectable<WebhookTables['webhook_deliveries']>): DeliveryRow => ({
  id: Number(row.id),
  webhookId: Number(row.webhook_id),
  projectId: Number(row.project_id),
  eventSeq: Number(row.event_seq),
  event: row.event,
  payload: row.payload,
  attempt: Number(row.attempt),
  nextAttemptAt: row.next_attempt_at,
  status: row.status as DeliveryStatus,
  responseCode: row.response_code === null ? null : Number(row.response_code),
  durationMs: row.duration_ms === null ? null : Number(row.duration_ms),
  error: row.error,
  createdAt: row.created_at,
  lastAttemptAt: row.last_attempt_at,
});

const writes = (database: Kysely<Database>): WebhookTx => {
  const db: Db = database.withTables<WebhookTables>();
  return {
    async insertWebhook(row) {
      const inserted = await db
        .insertInto('webhooks')
        .values({
          project_id: row.projectId,
          url: row.url,
          events: JSON.stringify(row.events),
          format: row.format,
          secret: row.sealedSecret,
          after_seq: row.afterSeq,
          active: 1,
          created_by: row.createdBy,
          created_at: row.createdAt,
        })
        .returningAll()
        .executeTakeFirstOrThrow();
      return toWebhook(inserted);
    },
    async deleteWebhook(projectId, id) {
      const deliveries = db
        .selectFrom('webhook_deliveries')
        .select('id')
        .where('project_id', '=', projectId)
        .where('webhook_id', '=', id);
      await db.deleteFrom('webhook_attempts').where('delivery_id', 'in', deliveries).execute();
      await db
        .deleteFrom('webhook_deliveries')
        .where('project_id', '=', projectId)
        .where('webhook_id', '=', id)
        .execute();
      const result = await db
        .deleteFrom('webhooks')
        .where('project_id', '=', projectId)
        .where('id', '=', id)
        .executeTakeFirst();
      return Number(result.numDeletedRows) > 0;
    },
    async enqueue(webhookId, deliveries, afterSeq) {
      if (deliveries.length > 0) {
        await db
          .insertInto('webhook_deliveries')
          .values(
            deliveries.map((d) => ({
              webhook_id: d.webhookId,
              project_id: d.projectId,
              event_seq: d.eventSeq,
              event: d.event,
              payload: d.payload,
              attempt: 0,
              next_attempt_at: d.at,
              status: 'pending',
              response_code: null,
              duration_ms: null,
              error: null,
              created_at: d.at,
              last_attempt_at: null,
            })),
          )
          .onConflict((oc) => oc.columns(['webhook_id', 'event_seq']).doNothing())
          .execute();
      }
      await db.updateTable('webhooks').set({ after_seq: afterSeq }).where('id', '=', webhookId).execute();
    },
  };
};

export const createWebhookStore = (
  database: Kysely<Database>,
): WebhookStore & { inTransaction(scope: TxScope): WebhookTx } => {
  const db: Db = database.withTables<WebhookTables>();
  return {
    async listWebhooks(projectId) {
      const rows = await db
        .selectFrom('webhooks')
        .selectAll()
        .where('project_id', '=', projectId)
        .orderBy('id')
        .execute();
      return rows.map(toWebhook);
    },
    async getWebhook(projectId, id) {
      const row = await db
        .selectFrom('webhooks')
        .selectAll()
        .where('project_id', '=', projectId)
        .where('id', '=', id)
        .executeTakeFirst();
      return row === undefined ? undefined : toWebhook(row);
    },
    async activeWebhooks() {
      return (await db.selectFrom('webhooks').selectAll().where('active', '=', 1).orderBy('id').execute()).map(
        toWebhook,
      );
    },
    async listDeliveries(projectId, webhookId, limit) {
      const rows = await db
        .selectFrom('webhook_deliveries')
        .selectAll()
        .where('project_id', '=', projectId)
        .where('webhook_id', '=', webhookId)
        .orderBy('id', 'desc')
        .limit(limit)
        .execute();
      return rows.map(toDelivery);
    },
    async getDelivery(projectId, webhookId, id) {
      const row = await db
        .selectFrom('webhook_deliveries')
        .selectAll()
        .where('project_id', '=', projectId)
        .where('webhook_id', '=', webhookId)
        .where('id', '=', id)
        .executeTakeFirst();
      return row === undefined ? undefined : toDelivery(row);
    },
    async dueDeliveries(now, limit) {
      const rows = await db
        .selectFrom('webhook_deliveries')
        .selectAll()
        .where('status', '=', 'pending')
        .where('next_attempt_at', '<=', now)
        .orderBy('id')
        .limit(limit)
        .execute();
      return rows.map(toDelivery);
    },
    async recordAttempt(delivery, result) {
      // The attempt's row first: if the update below never happens, the retry is a further attempt anyway.
      await db
        .insertInto('webhook_attempts')
        .values({
          delivery_id: delivery.id,
          project_id: delivery.projectId,
          attempt: result.attempt,
          at: result.at,
          response_code: result.responseCode,
          error: result.error,
          duration_ms: result.durationMs,
        })
        .execute();
      await db
        .updateTable('webhook_deliveries')
        .set((eb) => ({
          attempt: eb('attempt', '+', 1),
          status: result.status,
          next_attempt_at: result.nextAttemptAt,
          response_code: result.responseCode,
          duration_ms: result.durationMs,
          error: result.error,
          last_attempt_at: result.at,
        }))
        .where('id', '=', delivery.id)
        .execute();
    },
    async listAttempts(projectId, deliveryIds) {
      if (deliveryIds.length === 0) return [];
      const rows = await db
        .selectFrom('webhook_attempts')
        .selectAll()
        .where('project_id', '=', projectId)
        .where('delivery_id', 'in', [...deliveryIds])
        .orderBy('id')
        .execute();
      return rows.map((row): AttemptRow => ({
        deliveryId: Number(row.delivery_id),
        attempt: Number(row.attempt),
        at: row.at,
        responseCode: row.response_code === null ? null : Number(row.response_code),
        error: row.error,
        durationMs: row.duration_ms === null ? null : Number(row.duration_ms),
      }));
    },
    async redeliver(id, at) {
      await db
        .updateTable('webhook_deliveries')
        .set({ status: 'pending', attempt: 0, next_attempt_at: at })
        .where('id', '=', id)
        .execute();
    },
    inTransaction: (scope) => writes(scope.db),
  };
};
