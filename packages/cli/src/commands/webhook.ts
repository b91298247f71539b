import type { Command } from 'commander';
import { InvalidArgumentError, Option } from 'commander';
import { isWebhookEventName, WEBHOOK_EVENTS, type WebhookDeliveryRecord, type WebhookRecord } from '@promptops/core';
import type { CommandContext } from '../context.js';
import type { ApiClient } from '../api-client.js';
import { formatTime } from '../output.js';
import { integerOption } from './options.js';

/** `promptops webhook add|list|rm|deliveries|redeliver`: signed event deliveries to a URL (admin keys). */

const EXIT_CODES = 'Exit codes: 0 done, 1 an error (refused target, unknown webhook, not allowed, server), 2 usage.';

type Webhook = WebhookRecord;
type Delivery = WebhookDeliveryRecord;

const webhookApi = (client: ApiClient) => ({
  add: (body: { url: string; events: readonly string[]; format?: string }) =>
    client.request<{ webhook: Webhook; secret: string }>('POST', '/webhooks', body),
  list: async () => (await client.request<{ webhooks: readonly Webhook[] }>('GET', '/webhooks')).webhooks,
  // 204 without a body: read as text.
  remove: (id: number) => client.requestText('DELETE', `/webhooks/${id}`),
  deliveries: async (id: number, limit?: number) =>
    (
      await client.request<{ deliveries: readonly Delivery[] }>('GET', `/webhooks/${id}/deliveries`, undefined, {
        limit,
      })
    ).deliveries,
  redeliver: async (id: number, deliveryId: number) =>
    (await client.request<{ delivery: Delivery }>('POST', `/webhooks/${id}/deliveries/${deliveryId}/redeliver`, {}))
      .delivery,
});

const eventsOption = (text: string): string[] => {
  const names = text
    .split(',')
    .map((name) => name.trim())
    .filter((name) => name !== '');
  const unknown = names.filter((name) => !isWebhookEventName(name));
  if (names.length === 0 || unknown.length > 0) {
    throw new InvalidArgumentError(
      `${unknown.length > 0 ? `unknown ${unknown.join(', ')}` : 'name at least one event'}; choose from ${WEBHOOK_EVENTS.join(', ')}, a family such as rollout.*, or *`,
    );
  }
  return names;
};

const idArg = integerOption('the webhook id', 1, 1e12);

export const registerWebhook = (program: Command, ctx: CommandContext): void => {
  const webhook = program
    .command('webhook')
    .description('webhooks: signed deliveries of events (pushes, label moves, rollbacks, reviews, rollouts, incidents)')
    .addHelpText(
      'after',
      `
Examples:
  promptops webhook add https://hooks.example.com/promptops --events label.*,incident.*
  promptops webhook add https://hooks.slack.com/services/T/B/X --events label.rolled_back --format slack
  promptops webhook list
  promptops webhook deliveries 1
  promptops webhook deliveries 1 --attempts
  promptops webhook redeliver 1 42

Deliveries carry X-Promptops-Signature: t=<unix>,v1=<hex HMAC-SHA256 of "t.body">; check it with
verifyWebhookSignature from @promptops/sdk. The server needs PROMPTOPS_SECRET_KEY. Admin keys only.

${EXIT_CODES}`,
    );

  webhook
    .command('add')
    .description('subscribe a URL to events; prints its signing secret, this once')
    .argument('<url>', 'the http(s) URL to POST to')
    .requiredOption('--events <names>', `comma-separated: ${WEBHOOK_EVENTS.join(', ')}, family.* or *`, eventsOption)
    .addOption(new Option('--format <format>', 'json (default) or slack ({ text })').choices(['json', 'slack']))
    .action(async (url: string, options: { events: string[]; format?: string }, command: Command) => {
      const out = ctx.output(command);
      const added = await webhookApi(await ctx.client(command)).add({
        url,
        events: options.events,
        ...(options.format === undefined ? {} : { format: options.format }),
      });
      if (out.json) {
        out.data(added);
        return;
      }
      out.line(`added webhook ${added.webhook.id} → ${added.webhook.url} (${added.webhook.events.join(', ')})`);
      out.line(`secret: ${added.secret}`);
      out.line('keep it now: it is shown this once and never again');
    });

  webhook
    .command('list')
    .description("the project's webhooks (never their secrets)")
    .action(async (_options: object, command: Command) => {
      const out = ctx.output(command);
      const hooks = await webhookApi(await ctx.client(command)).list();
      if (out.json) {
        out.data({ webhooks: hooks });
        return;
      }
      if (hooks.length === 0) {
        out.line('no webhooks');
        return;
      }
      out.table(
        hooks.map((h) => [String(h.id), h.url, h.events.join(','), h.format, h.createdBy, formatTime(h.createdAt)]),
        ['id', 'url', 'events', 'format', 'by', 'created'],
      );
    });

  webhook
    .command('rm')
    .description('remove a webhook and its delivery log')
    .argument('<id>', 'webhook id', idArg)
    .action(async (id: number, _options: object, command: Command) => {
      const out = ctx.output(command);
      await webhookApi(await ctx.client(command)).remove(id);
      if (out.json) out.data({ removed: id });
      else out.line(`removed webhook ${id}`);
    });

  webhook
    .command('deliveries')
    .description("a webhook's deliveries, newest first: status, attempts, response code, duration, error")
    .argument('<id>', 'webhook id', idArg)
    .option('--limit <n>', 'at most this many (default 100)', integerOption('--limit', 1, 500))
    .option('--attempts', 'one row per attempt instead: when, response code, duration, error')
    .action(async (id: number, options: { limit?: number; attempts?: boolean }, command: Command) => {
      const out = ctx.output(command);
      const deliveries = await webhookApi(await ctx.client(command)).deliveries(id, options.limit);
      if (out.json) {
        out.data({ deliveries });
        return;
      }
      if (deliveries.length === 0) {
        out.line(`no deliveries for webhook ${id}`);
        return;
      }
      if (options.attempts === true) {
        out.table(
          deliveries.flatMap((d) =>
            (d.attemptLog ?? []).map((a) => [
              String(d.id),
              d.event,
              String(a.attempt),
              formatTime(a.at),
              a.responseCode === null ? '—' : String(a.responseCode),
              a.durationMs === null ? '—' : `${a.durationMs} ms`,
              a.error ?? '',
            ]),
          ),
          ['delivery', 'event', 'attempt', 'at', 'code', 'took', 'error'],
        );
        return;
      }
      out.table(
        deliveries.map((d) => [
          String(d.id),
          d.event,
          d.status === 'delivered'
            ? out.colors.green(d.status)
            : d.status === 'failed'
              ? out.colors.red(d.status)
              : d.status,
          String(d.attempts),
          d.responseCode === null ? '—' : String(d.responseCode),
          d.durationMs === null ? '—' : `${d.durationMs} ms`,
          d.nextAttemptAt === null ? '—' : formatTime(d.nextAttemptAt),
          d.error ?? '',
        ]),
        ['id', 'event', 'status', 'attempts', 'code', 'took', 'next', 'error'],
      );
    });

  webhook
    .command('redeliver')
    .description('send a delivery again (queued for the next dispatch, within seconds)')
    .argument('<id>', 'webhook id', idArg)
    .argument('<delivery>', 'delivery id', integerOption('the delivery id', 1, 1e12))
    .action(async (id: number, deliveryId: number, _options: object, command: Command) => {
      const out = ctx.output(command);
      const delivery = await webhookApi(await ctx.client(command)).redeliver(id, deliveryId);
      if (out.json) out.data({ delivery });
      else out.line(`redelivery of ${deliveryId} (${delivery.event}) queued`);
    });
};
