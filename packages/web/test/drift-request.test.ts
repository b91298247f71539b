import { describe, expect, it } from 'vitest';
import { driftRequestBody } from '../src/pages/drift/drift-request';

/** The "compare versions" form: what it posts to /api/v1/drift, or which field to fix. */

describe('driftRequestBody', () => {
  const base = {
    prompt: 'greeter',
    a: '17',
    b: 'v18',
    source: 'offline' as const,
    suite: 'greeter-customers',
    window: '',
  };

  it('posts an offline report on a suite, a bare number read as a version', () => {
    expect(driftRequestBody(base)).toEqual({
      ok: true,
      body: { prompt: 'greeter', a: 'v17', b: 'v18', source: 'offline', suite: 'greeter-customers' },
    });
  });

  it('posts a live report over a window, 24h when left empty; labels and shas pass as they are', () => {
    expect(driftRequestBody({ ...base, source: 'live', a: 'production', b: ' 7ba01d7 ', window: ' 7d ' })).toEqual({
      ok: true,
      body: { prompt: 'greeter', a: 'production', b: '7ba01d7', source: 'live', window: '7d' },
    });
    expect(driftRequestBody({ ...base, source: 'live', window: '' })).toMatchObject({ body: { window: '24h' } });
  });

  it('names the field to fix: a missing version, the same version twice, no suite, a bad window', () => {
    expect(driftRequestBody({ ...base, a: ' ' })).toEqual({ ok: false, field: 'a', message: 'Choose version A.' });
    expect(driftRequestBody({ ...base, b: '17' })).toEqual({
      ok: false,
      field: 'b',
      message: 'A and B are the same version: choose two.',
    });
    expect(driftRequestBody({ ...base, suite: '' })).toEqual({
      ok: false,
      field: 'suite',
      message: 'An offline report pairs the runs of a suite: choose one.',
    });
    expect(driftRequestBody({ ...base, source: 'live', window: 'yesterday' })).toEqual({
      ok: false,
      field: 'window',
      message: 'The window is a duration such as 24h, 7d or 90m.',
    });
  });
});
