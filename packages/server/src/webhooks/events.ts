import { webhookSummary, type WebhookEvent } from '@promptops/core';
import type { AuditRow } from '../registry/store.js';
import type { WebhookFormat } from './store.js';

/**
 * Webhook events are read from the audit log (as the change feed's are): durable, ordered per project,
 * written in the same transaction as what they record. An audit action names its event here.
 */

const EVENT_BY_ACTION: Readonly<Record<string, WebhookEvent>> = {
  'version.created': 'version.pushed',
  'label.moved': 'label.moved',
  'label.forced': 'label.moved',
  'label.rolled_back': 'label.rolled_back',
  'review.opened': 'change_request.opened',
  'review.approved': 'change_request.approved',
  'review.merged': 'change_request.merged',
  'rollout.started': 'rollout.started',
  'rollout.stepped': 'rollout.stepped',
  'rollout.paused': 'rollout.paused',
  'rollout.resumed': 'rollout.resumed',
  'rollout.aborted': 'rollout.aborted',
  'rollout.completed': 'rollout.completed',
  'incident.opened': 'incident.opened',
  'incident.acknowledged': 'incident.acknowledged',
  'incident.resolved': 'incident.resolved',
};

export const webhookEventOf = (row: AuditRow): WebhookEvent | undefined => EVENT_BY_ACTION[row.action];

/** The body a delivery sends, in the subscription's format. */
export const webhookBody = (
  format: WebhookFormat,
  event: WebhookEvent,
  row: AuditRow,
  project: { id: number; name: string },
): string => {
  const data = JSON.parse(row.data) as Record<string, unknown>;
  if (format === 'slack') {
    return JSON.stringify({ text: webhookSummary({ event, project: project.name, actor: row.actor, data }) });
  }
  return JSON.stringify({
    id: `${project.id}:${row.seq}`,
    event,
    project: project.name,
    seq: row.seq,
    at: row.at,
    actor: row.actor,
    target: row.target,
    data,
  });
};
