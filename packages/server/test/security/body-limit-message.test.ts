import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestRegistry, type TestRegistry } from '../support/registry.js';

/** A 413 names the limit of the route it came from, not always the default 1 MiB. */

const MiB = 1024 * 1024;

describe('413 answers name their route’s limit', () => {
  let registry: TestRegistry;

  beforeAll(async () => {
    registry = await openTestRegistry('sqlite');
  });
  afterAll(async () => {
    await registry.close();
  });

  const post = (url: string, bytes: number) =>
    registry.app.inject({
      method: 'POST',
      url,
      headers: { authorization: `Bearer ${registry.keys.admin}`, 'content-type': 'application/json' },
      payload: `{"pad":"${'x'.repeat(bytes)}"}`,
    });

  it.each([
    ['/api/v1/prompts/big/versions', '1 MiB', 2 * MiB],
    ['/api/v1/evals/runs', '16 MiB', 17 * MiB],
    ['/api/v1/evals/suites', '16 MiB', 17 * MiB],
  ])('POST %s over its limit: 413 naming %s', async (url, limit, bytes) => {
    const response = await post(url, bytes);
    expect(response.statusCode).toBe(413);
    const { error } = response.json<{ error: { code: string; message: string; fix: string } }>();
    expect(error.code).toBe('too_large');
    expect(error.message).toContain(limit);
    expect(error.fix).toContain(limit);
    expect(`${error.message} ${error.fix}`).not.toContain(limit === '1 MiB' ? '16 MiB' : ' 1 MiB');
  });
});
