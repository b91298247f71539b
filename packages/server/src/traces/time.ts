import { PromptopsError } from '@promptops/core';

/** Query-string times: an ISO-8601 instant, or a duration back from now (`30m`, `24h`, `7d`). */

const UNITS: Readonly<Record<string, number>> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };
const DURATION = /^(\d{1,6})(s|m|h|d|w)$/;

export const parseDuration = (text: string, field: string): number => {
  const match = DURATION.exec(text.trim());
  if (match === null || Number(match[1]) === 0) {
    throw new PromptopsError('invalid', 'invalid_request', `${field} "${text}" is not a duration`, {
      issues: [{ path: field, message: 'must be a duration such as 30m, 1h, 24h or 7d' }],
      fix: 'use a number followed by s, m, h, d or w',
    });
  }
  return Number(match[1]) * UNITS[match[2]!]!;
};

/** A point in time: ISO-8601, epoch milliseconds, or a duration meaning "that long ago". */
export const parseInstant = (text: string, field: string, nowMs: number): number => {
  const trimmed = text.trim();
  if (DURATION.test(trimmed)) return nowMs - parseDuration(trimmed, field);
  if (/^\d{10,15}$/.test(trimmed)) return Number(trimmed);
  const parsed = /^\d{4}-\d{2}-\d{2}/.test(trimmed) ? Date.parse(trimmed) : Number.NaN;
  if (Number.isNaN(parsed)) {
    throw new PromptopsError('invalid', 'invalid_request', `${field} "${text}" is not a time`, {
      issues: [
        { path: field, message: 'must be an ISO-8601 time, epoch milliseconds, or a duration back from now (24h)' },
      ],
      fix: 'e.g. since=24h or since=2025-01-31T00:00:00Z',
    });
  }
  return parsed;
};
