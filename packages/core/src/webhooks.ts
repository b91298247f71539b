import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils.js';

/**
 * Signed webhooks, as GitHub and Stripe sign theirs: `X-Promptops-Signature: t=<unix seconds>,v1=<hex>`
 * where the hex is HMAC-SHA256 of `<t>.<body>` under the subscription's secret. The timestamp is signed,
 * so a receiver rejects a replayed old delivery by it. Portable HMAC (no node:crypto): the dashboard
 * loads core too, and receivers may verify with this in any runtime.
 */

export const WEBHOOK_SIGNATURE_HEADER = 'x-promptops-signature';
export const DEFAULT_WEBHOOK_TOLERANCE_SEC = 300;

/** The events a subscription may name; `family.*` or `*` name several. */
export const WEBHOOK_EVENTS = [
  'version.pushed',
  'label.moved',
  'label.rolled_back',
  'change_request.opened',
  'change_request.approved',
  'change_request.merged',
  'rollout.started',
  'rollout.stepped',
  'rollout.paused',
  'rollout.resumed',
  'rollout.aborted',
  'rollout.completed',
  'incident.opened',
  'incident.acknowledged',
  'incident.resolved',
] as const;
export type WebhookEvent = (typeof WEBHOOK_EVENTS)[number];

const hmacHex = (secret: string, text: string): string =>
  bytesToHex(hmac(sha256, utf8ToBytes(secret), utf8ToBytes(text)));

export const signWebhook = (secret: string, body: string, timestampSec: number): string =>
  `t=${timestampSec},v1=${hmacHex(secret, `${timestampSec}.${body}`)}`;

/** Equal-length hex compared without an early exit, so timing tells nothing of the expected value. */
const sameHex = (a: string, b: string): boolean => {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i += 1) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
};

export type WebhookVerdict = { ok: true } | { ok: false; reason: 'malformed' | 'expired' | 'mismatch' };

export const verifyWebhookSignature = (
  secret: string,
  header: string,
  body: string,
  nowSec: number,
  toleranceSec: number = DEFAULT_WEBHOOK_TOLERANCE_SEC,
): WebhookVerdict => {
  let timestamp: number | undefined;
  const signatures: string[] = [];
  for (const part of header.split(',')) {
    const [key, value] = part.trim().split('=', 2);
    if (key === 't' && value !== undefined && /^\d{1,12}$/.test(value)) timestamp = Number(value);
    if (key === 'v1' && value !== undefined && /^[0-9a-f]{64}$/.test(value)) signatures.push(value);
  }
  if (timestamp === undefined || signatures.length === 0) return { ok: false, reason: 'malformed' };
  if (Math.abs(nowSec - timestamp) > toleranceSec) return { ok: false, reason: 'expired' };
  const expected = hmacHex(secret, `${timestamp}.${body}`);
  return signatures.some((signature) => sameHex(signature, expected))
    ? { ok: true }
    : { ok: false, reason: 'mismatch' };
};

/** Whether a subscription's event list (names, `family.*`, `*`) covers `event`. */
export const webhookEventMatches = (subscribed: readonly string[], event: string): boolean =>
  subscribed.some(
    (name) => name === '*' || name === event || (name.endsWith('.*') && event.startsWith(name.slice(0, -1))),
  );

/** Whether a name may appear in a subscription's event list. */
export const isWebhookEventName = (name: string): boolean =>
  name === '*' ||
  (WEBHOOK_EVENTS as readonly string[]).includes(name) ||
  (name.endsWith('.*') && WEBHOOK_EVENTS.some((event) => event.startsWith(name.slice(0, -1))));

export interface WebhookSummaryInput {
  readonly event: string;
  readonly project: string;
  readonly actor: string;
  readonly data: Readonly<Record<string, unknown>>;
}

const text = (value: unknown): string | undefined =>
  typeof value === 'string' || typeof value === 'number' ? String(value) : undefined;

/** One line for a chat channel (the Slack format's `text`). */
export const webhookSummary = ({ event, project, actor, data }: WebhookSummaryInput): string => {
  const target = [text(data['name']), text(data['label'])].filter((part) => part !== undefined).join(' ');
  const version = text(data['toVersion']) ?? text(data['version']) ?? text(data['candidateVersion']);
  const parts = [`[${project}] ${event}`];
  if (target !== '') parts.push(target);
  if (version !== undefined) parts.push(`→ v${version}`);
  const kind = text(data['kind']);
  if (kind !== undefined) parts.push(`(${kind})`);
  const title = text(data['title']) ?? text(data['state']);
  if (title !== undefined) parts.push(`: ${title}`);
  parts.push(`by ${actor}`);
  return parts.join(' ').replace(/\s+/g, ' ').slice(0, 500);
};
