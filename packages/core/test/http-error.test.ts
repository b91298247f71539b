import { describe, expect, it } from 'vitest';
import {
  ApiError,
  PromptopsError,
  STATUS_BY_KIND,
  errorFromHttpAnswer,
  kindForStatus,
  parseRetryAfter,
} from '../src/index.js';

describe('errorFromHttpAnswer', () => {
  it('keeps the server error body: code, message, fix, issues, details, and the kind of the status', () => {
    const body = {
      error: {
        code: 'stale_parent',
        message: 'the head moved',
        fix: 'pull first',
        issues: [{ path: 'parent', message: 'is stale' }],
        details: { head: 'abc' },
      },
    };
    const error = errorFromHttpAnswer({ status: 409, body: JSON.stringify(body) }, { what: 'POST /x' });
    expect(error).toBeInstanceOf(PromptopsError);
    expect(error).toBeInstanceOf(ApiError);
    expect(error).toMatchObject({
      status: 409,
      kind: 'conflict',
      code: 'stale_parent',
      message: 'POST /x: the head moved',
      fix: 'pull first',
      issues: [{ path: 'parent', message: 'is stale' }],
      details: { head: 'abc' },
      retryAfterSeconds: undefined,
    });
  });

  it('accepts a body already parsed, and reads Retry-After as seconds or as an HTTP date', () => {
    const body = { error: { code: 'too_many_writes', message: 'slow down' } };
    expect(errorFromHttpAnswer({ status: 429, body, retryAfter: '7' })).toMatchObject({
      kind: 'rate_limited',
      retryAfterSeconds: 7,
    });
    const now = Date.parse('2026-01-01T00:00:00Z');
    const answer = { status: 503, body, retryAfter: 'Thu, 01 Jan 2026 00:00:30 GMT' };
    expect(errorFromHttpAnswer(answer, { nowMs: now })).toMatchObject({ kind: 'unavailable', retryAfterSeconds: 30 });
    expect(parseRetryAfter('soon')).toBeUndefined();
    expect(parseRetryAfter(null)).toBeUndefined();
  });

  it('falls back to http_<status> and the body text when the answer is no promptops error', () => {
    const error = errorFromHttpAnswer({ status: 502, body: '<html>Bad Gateway</html>' }, { what: 'GET /y' });
    expect(error).toMatchObject({ code: 'http_502', kind: 'internal', message: 'GET /y: <html>Bad Gateway</html>' });
    expect(error.fix).toBeUndefined();
    const custom = errorFromHttpAnswer(
      { status: 413, body: '' },
      { fallbackCode: 'too_large', fallbackMessage: 'too big', fallbackFix: 'send less' },
    );
    expect(custom).toMatchObject({ code: 'too_large', kind: 'too_large', message: 'too big', fix: 'send less' });
  });

  it('maps every kind to its status and back', () => {
    for (const [kind, status] of Object.entries(STATUS_BY_KIND)) expect(kindForStatus(status)).toBe(kind);
    expect(kindForStatus(418)).toBe('internal');
  });
});
