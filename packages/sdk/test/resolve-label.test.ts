import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PromptopsError } from '@promptops/core';
import { createClient, type GetOptions, type PromptopsClient } from '../src/index.js';
import { greeter, versionOf } from './support/fixtures.js';
import { ADMIN_KEY, api, startTestServer, type TestServer } from './support/server.js';

/**
 * `resolveLabel`: another flag system picks the label. get() consults it only when the call names no
 * label, sha or ref; an answer of undefined (or a throw, reported) keeps the default label.
 */

const NAME = 'customer_support_greeter';
const v17 = versionOf(greeter(17), 1);
const v18 = versionOf(greeter(18), 2);

describe('createClient({ resolveLabel })', () => {
  let server: TestServer;
  let client: PromptopsClient;
  const asked: { name: string; options: GetOptions }[] = [];
  const errors: PromptopsError[] = [];
  let beta = new Set<string>(['u-beta']);

  beforeAll(async () => {
    server = await startTestServer('sqlite');
    const registry = api(server.url);
    await registry.push(v17.content, null);
    await registry.push(v18.content, v17.sha);
    await registry.promote(NAME, 'production', 'v1');
    await registry.promote(NAME, 'candidate', 'v2');
    client = createClient({
      url: server.url,
      apiKey: ADMIN_KEY,
      traces: false,
      snapshotCheckIntervalMs: 0,
      onError: (error) => errors.push(error),
      resolveLabel: (name, options) => {
        asked.push({ name, options });
        if (options.unitKey === 'u-throws') throw new Error('flag system down');
        return typeof options.unitKey === 'string' && beta.has(options.unitKey) ? 'candidate' : undefined;
      },
    });
    await client.ready();
  });

  afterAll(async () => {
    await client?.close();
    await server?.close();
  });

  it('serves the label the function picks, and the default label when it answers undefined', () => {
    expect(client.get(NAME, { unitKey: 'u-beta' })).toMatchObject({ label: 'candidate', sha: v18.sha });
    expect(client.get(NAME, { unitKey: 'u-other' })).toMatchObject({ label: 'production', sha: v17.sha });
    expect(client.get(NAME)).toMatchObject({ label: 'production', sha: v17.sha });
    expect(asked.at(-1)).toEqual({ name: NAME, options: {} });
  });

  it('follows the flag system at once: a changed answer moves the next call', () => {
    beta = new Set(['u-other']);
    expect(client.get(NAME, { unitKey: 'u-other' }).label).toBe('candidate');
    expect(client.get(NAME, { unitKey: 'u-beta' }).label).toBe('production');
  });

  it('is not consulted when the call names a label, a sha or a ref', () => {
    const before = asked.length;
    expect(client.get(NAME, { label: 'production', unitKey: 'u-other' }).sha).toBe(v17.sha);
    expect(client.get(NAME, { sha: v18.sha.slice(0, 12) }).sha).toBe(v18.sha);
    expect(client.get(`${NAME}@production`, { unitKey: 'u-other' }).sha).toBe(v17.sha);
    expect(asked.length).toBe(before);
  });

  it('a throwing function is reported and the default label serves', () => {
    expect(client.get(NAME, { unitKey: 'u-throws' }).label).toBe('production');
    expect(errors.map((e) => e.code)).toContain('resolve_label_failed');
  });

  it('refuses a resolveLabel that is not a function, naming the option', () => {
    expect(() =>
      createClient({ url: server.url, apiKey: ADMIN_KEY, resolveLabel: 'beta' as unknown as () => undefined }),
    ).toThrow(/resolveLabel/);
  });

  it('snapshot() returns the snapshot served now', () => {
    const snapshot = client.snapshot();
    expect(snapshot.prompts[NAME]?.labels).toMatchObject({ production: v17.sha, candidate: v18.sha });
  });
});
