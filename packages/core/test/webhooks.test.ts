import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  signWebhook,
  verifyWebhookSignature,
  webhookEventMatches,
  WEBHOOK_EVENTS,
  webhookSummary,
} from '../src/webhooks.js';

const SECRET = 'whsec_test_0123456789abcdef';
const BODY = '{"event":"label.moved","seq":7}';
const NOW = 1_740_000_000;

describe('webhook signatures', () => {
  it('signs "t.body" with HMAC-SHA256, as node:crypto computes it', () => {
    const header = signWebhook(SECRET, BODY, NOW);
    const expected = createHmac('sha256', SECRET).update(`${NOW}.${BODY}`).digest('hex');
    expect(header).toBe(`t=${NOW},v1=${expected}`);
  });

  it('accepts a fresh delivery', () => {
    expect(verifyWebhookSignature(SECRET, signWebhook(SECRET, BODY, NOW), BODY, NOW + 10)).toEqual({ ok: true });
  });

  it('rejects a replayed old delivery by its timestamp, even with a valid signature', () => {
    const header = signWebhook(SECRET, BODY, NOW);
    expect(verifyWebhookSignature(SECRET, header, BODY, NOW + 301)).toEqual({ ok: false, reason: 'expired' });
    expect(verifyWebhookSignature(SECRET, header, BODY, NOW + 3600, 7200)).toEqual({ ok: true });
    // From the future beyond the window as well.
    expect(verifyWebhookSignature(SECRET, header, BODY, NOW - 301)).toEqual({ ok: false, reason: 'expired' });
  });

  it('rejects a tampered body, a wrong secret, a moved timestamp and a malformed header', () => {
    const header = signWebhook(SECRET, BODY, NOW);
    expect(verifyWebhookSignature(SECRET, header, BODY.replace('7', '8'), NOW)).toEqual({
      ok: false,
      reason: 'mismatch',
    });
    expect(verifyWebhookSignature('other', header, BODY, NOW)).toEqual({ ok: false, reason: 'mismatch' });
    const moved = header.replace(`t=${NOW}`, `t=${NOW + 5}`);
    expect(verifyWebhookSignature(SECRET, moved, BODY, NOW)).toEqual({ ok: false, reason: 'mismatch' });
    for (const bad of ['', 'v1=abc', 't=x,v1=ab', `t=${NOW}`]) {
      expect(verifyWebhookSignature(SECRET, bad, BODY, NOW)).toEqual({ ok: false, reason: 'malformed' });
    }
  });

  it('accepts any of several v1 signatures (a secret being rotated)', () => {
    const good = signWebhook(SECRET, BODY, NOW).split('v1=')[1]!;
    expect(verifyWebhookSignature(SECRET, `t=${NOW},v1=${'0'.repeat(64)},v1=${good}`, BODY, NOW)).toEqual({
      ok: true,
    });
  });
});

describe('webhook events', () => {
  it('matches exact names, family wildcards and *', () => {
    expect(webhookEventMatches(['label.moved'], 'label.moved')).toBe(true);
    expect(webhookEventMatches(['label.moved'], 'label.rolled_back')).toBe(false);
    expect(webhookEventMatches(['rollout.*'], 'rollout.completed')).toBe(true);
    expect(webhookEventMatches(['*'], 'incident.opened')).toBe(true);
    expect(WEBHOOK_EVENTS).toContain('change_request.merged');
  });

  it('summarises an event on one line for Slack', () => {
    const text = webhookSummary({
      event: 'label.rolled_back',
      project: 'demo',
      actor: 'monitor:1',
      data: { name: 'greeter', label: 'production', toVersion: 17, kind: 'auto-rollback' },
    });
    expect(text).not.toContain('\n');
    expect(text).toContain('greeter');
    expect(text).toContain('production');
    expect(text).toContain('v17');
    expect(text).toContain('auto-rollback');
  });
});
