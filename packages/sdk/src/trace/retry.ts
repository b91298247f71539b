import type { PromptopsError } from '@promptops/core/errors';
import type { PostResult } from '../http.js';

/** What to do with a delivery's answer: shared by events and scores. */

/** Retry-After: delay-seconds or an HTTP-date; in ms, capped so a broken header cannot stall forever. */
export const retryAfterMs = (header: string | null, nowMs: number, capMs = 300_000): number | undefined => {
  if (header === null) return undefined;
  const text = header.trim();
  const ms = /^\d+(\.\d+)?$/.test(text) ? Number(text) * 1000 : Date.parse(text) - nowMs;
  return Number.isFinite(ms) ? Math.min(capMs, Math.max(0, ms)) : undefined;
};

/**
 * Socket errors that prove the request never reached the server: safe to resend even where the
 * endpoint is not idempotent (scores).
 */
const NOT_DELIVERED = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);

export const neverDelivered = (error: PromptopsError): boolean =>
  error.code === 'server_unreachable' && NOT_DELIVERED.has(String(error.details?.['cause']));

/** 429 and 5xx are worth another try (with backoff); other 4xx never will be. */
export const retryableStatus = (status: number): boolean => status === 429 || status >= 500;

export const isSuccess = (result: PostResult): boolean => result.status >= 200 && result.status < 300;
