import { PromptopsError } from '@promptops/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient } from '../src/api-client.js';
import { fakeFetch } from './helpers.js';
import { ADMIN_KEY, startRegistry, type Registry } from './registry.js';

/**
 * A request body over the server's limit is refused by the client before it is sent, naming
 * the route's limit, instead of surfacing as "cannot reach the server (EPIPE)" when the server closes
 * the upload with a 413. A 413 the server does answer names the route's limit too.
 */

const MiB = 1024 * 1024;

const content = (name: string, templateBytes: number) => ({
  name,
  type: 'text',
  template: 'x'.repeat(templateBytes),
  config: { provider: 'openai', model: 'gpt-4o-mini', params: {} },
  variables: {},
  slots: {},
});

const refusal = async (promise: Promise<unknown>): Promise<PromptopsError> => {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(PromptopsError);
  return error as PromptopsError;
};

describe('request bodies over the server limit', () => {
  let registry: Registry;
  let client: ApiClient;
  let sent = 0;

  beforeAll(async () => {
    registry = await startRegistry();
    // Real HTTP to a real server, counting what leaves the client.
    const counting: typeof fetch = (input, init) => {
      sent += 1;
      return fetch(input, init);
    };
    client = new ApiClient({ url: registry.url, apiKey: ADMIN_KEY, fetch: counting });
  });
  afterAll(async () => {
    await registry?.close();
  });

  it('refuses a 3 MB prompt push before sending it, naming the 1 MiB limit', async () => {
    const error = await refusal(client.pushVersion('big', { content: content('big', 3 * MiB) as never, parent: null }));
    expect(error.code).toBe('too_large');
    expect(error.message).toMatch(/1 MiB/);
    expect(error.message).not.toMatch(/EPIPE|ECONNRESET|cannot reach/);
    expect(error.fix).toBeDefined();
    expect(sent).toBe(0);
    // Just under the limit, it goes to the server.
    await client.pushVersion('big', { content: content('big', MiB - 1024) as never, parent: null }).catch(() => {});
    expect(sent).toBe(1);
  });

  it('refuses an eval run over 16 MiB, naming that route’s limit, and sends one under it', async () => {
    const hugeRun = { suite: 'big', cases: [{ id: 'c1', output: 'x'.repeat(17 * MiB) }] };
    const error = await refusal(client.uploadRun(hugeRun as never));
    expect(error.code).toBe('too_large');
    expect(error.message).toMatch(/16 MiB/);

    // 2 MiB is over the default limit but within this route's: the server gets it (and judges its content).
    const requests: { url: string }[] = [];
    const recording = new ApiClient({
      url: registry.url,
      apiKey: ADMIN_KEY,
      fetch: fakeFetch(201, { id: 'run-1' }, requests),
    });
    await recording.uploadRun({ suite: 'big', cases: [{ id: 'c1', output: 'x'.repeat(2 * MiB) }] } as never);
    expect(requests.map((r) => r.url)).toEqual([`${registry.url}/api/v1/evals/runs`]);
  });

  it('words a bare 413 from the server (a proxy, say) with the route’s limit', async () => {
    const prompts = new ApiClient({ url: registry.url, apiKey: ADMIN_KEY, fetch: fakeFetch(413, 'Too Large') });
    const small = await refusal(prompts.pushVersion('p', { content: content('p', 10) as never, parent: null }));
    expect(small).toMatchObject({ code: 'too_large' });
    expect(small.fix).toMatch(/1 MiB/);
    const runs = await refusal(prompts.uploadRun({ suite: 's', cases: [] } as never));
    expect(runs.fix).toMatch(/16 MiB/);
  });
});
