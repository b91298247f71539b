import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS, openTestRegistry, textContent, type TestRegistry } from './support/registry.js';

/**
 * `GET /prompts` carries, for each label, when and by whom it last moved: the dashboard's prompts list
 * shows that for every row from this one answer, instead of asking for each prompt.
 */

describe.each(DIALECTS)('the prompts list on %s', (dialect) => {
  let registry: TestRegistry;
  const call = async (method: 'GET' | 'POST' | 'PUT', url: string, body?: unknown) => {
    const response = await registry.app.inject({
      method,
      url,
      headers: { authorization: `Bearer ${registry.keys.admin}` },
      ...(body === undefined ? {} : { payload: body as Record<string, unknown> }),
    });
    expect(response.statusCode, `${method} ${url}: ${response.body}`).toBeLessThan(300);
    return response.json() as Record<string, unknown>;
  };

  beforeAll(async () => {
    registry = await openTestRegistry(dialect);
  });
  afterAll(async () => {
    await registry?.close();
  });

  it("gives each label's version, sha, and when and by whom it moved, as the prompt's own record does", async () => {
    await call('POST', '/api/v1/prompts/greeter/versions', {
      content: textContent('greeter', 'Hello'),
      parent: null,
      message: 'first',
    });
    await call('PUT', '/api/v1/prompts/greeter/labels/production', { ref: 'v1', reason: 'ship' });
    const list = (await call('GET', '/api/v1/prompts')) as { prompts: { name: string; labels: unknown }[] };
    const detail = (await call('GET', '/api/v1/prompts/greeter')) as {
      labels: { label: string; version: number; sha: string; updatedAt: string; updatedBy: string }[];
    };
    const fromDetail = Object.fromEntries(
      detail.labels.map(({ label, version, sha, updatedAt, updatedBy }) => [
        label,
        { version, sha, updatedAt, updatedBy },
      ]),
    );
    expect(Object.keys(fromDetail).sort()).toEqual(['latest', 'production']);
    expect(list.prompts.find((prompt) => prompt.name === 'greeter')?.labels).toEqual(fromDetail);
  });
});
