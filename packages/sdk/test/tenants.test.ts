import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import {
  effectivePrompt,
  overrideSha,
  parseOverride,
  promptSha,
  type PromptContent,
  type PromptOverride,
  type Snapshot,
} from '@promptops/core';
import { readCacheFile, writeCacheFile } from '../src/cache-file.js';
import { createClient, type ClientOptions, type PromptopsClient } from '../src/client.js';
import { buildFallback, defaultsFrom } from '../src/fallback.js';
import { Resolver, TENANT_CACHE_MAX } from '../src/resolver.js';
import { validateSnapshot } from '../src/snapshot-store.js';
import { fakeFeed } from './support/fake-feed.js';
import { waitFor } from './support/server.js';

/**
 * `get(name, { tenant })`: the effective prompt from the snapshot's overrides (core's resolveTenant), its
 * three shas and the tenant; override events from the feed (SSE and long-poll); the cache file keeps
 * overrides; the fallback serves none; no tenant ever resolves another's override.
 */

const NAME = 'greeter';
const content = (
  revision: number,
  slots: Record<string, string> = { greeting: 'Hello', closing: 'Bye' },
): PromptContent => ({
  name: NAME,
  type: 'text',
  template: `${Object.keys(slots)
    .map((s) => `{{> ${s}}}`)
    .join(' ')} {{user}} (r${revision})`,
  config: { provider: 'openai', model: 'gpt-4o-mini', params: {} },
  variables: { user: { type: 'string', required: true } },
  slots,
});
const v1 = { version: 1, sha: promptSha(content(1)), content: content(1) };
const v2 = { version: 2, sha: promptSha(content(2)), content: content(2) };

const wireOverride = (
  override: PromptOverride,
  extra: { version?: number; label?: string; base?: object | null } = {},
) => ({
  version: extra.version ?? 1,
  sha: overrideSha(parseOverride(override)),
  label: extra.label ?? 'production',
  override,
  base: extra.base ?? null,
});

const wireSnapshot = (cursor: number, overrides?: Record<string, object>) => ({
  project: 'default',
  cursor,
  prompts: {
    [NAME]: {
      labels: { production: v2.sha, staging: v2.sha },
      versions: { [v2.sha]: v2 },
      ...(overrides === undefined ? {} : { overrides }),
    },
  },
});

const ACME = { slots: { greeting: 'Good day' } };
const GLOBEX = { slots: { greeting: 'Hallo' }, params: { temperature: 0.1 } };

describe('get(name, { tenant }) from the snapshot', () => {
  const resolverWith = (overrides: Record<string, object>): Resolver => {
    const resolver = new Resolver();
    resolver.setSnapshot(validateSnapshot(wireSnapshot(10, overrides), 'test'));
    return resolver;
  };

  it('serves the effective prompt with its sha, the base sha, the override sha and the tenant', () => {
    const resolver = resolverWith({ acme: wireOverride(ACME), globex: wireOverride(GLOBEX) });
    const expected = effectivePrompt(v2.content, parseOverride(ACME));
    const acme = resolver.get(NAME, { tenant: 'acme' });
    expect(acme).toMatchObject({
      tenant: 'acme',
      sha: expected.sha,
      baseSha: v2.sha,
      overrideSha: expected.overrideSha,
      version: 2,
      label: 'production',
    });
    expect(acme.content).toEqual(expected.content);
    expect(acme.render({ user: 'Ada' }).text).toBe('Good day Bye Ada (r2)');
    expect(resolver.get(NAME, { tenant: 'acme' })).toBe(acme); // cached
    expect(resolver.get(NAME, { tenant: 'globex' }).content.config.params).toEqual({ temperature: 0.1 });
    // No override: the shared prompt, with the tenant named and no override sha.
    expect(resolver.get(NAME, { tenant: 'initech' })).toMatchObject({
      tenant: 'initech',
      sha: v2.sha,
      baseSha: v2.sha,
      overrideSha: null,
    });
    // Another label, or a pin, gets no override.
    expect(resolver.get(NAME, { tenant: 'acme', label: 'staging' }).overrideSha).toBeNull();
    expect(resolver.get(`${NAME}@v2`, { tenant: 'acme' }).overrideSha).toBeNull();
    // A plain get is unchanged.
    expect(resolver.get(NAME)).toMatchObject({ sha: v2.sha, tenant: null, overrideSha: null });
  });

  it('a pinned override applies to its base version, with that version number', () => {
    const resolver = resolverWith({ acme: wireOverride(ACME, { base: v1 }) });
    const served = resolver.get(NAME, { tenant: 'acme' });
    expect(served).toMatchObject({ version: 1, baseSha: v1.sha, sha: effectivePrompt(v1.content, ACME).sha });
    expect(served.render({ user: 'Ada' }).text).toBe('Good day Bye Ada (r1)');
  });

  it('refuses an override that does not hash to its sha, and a tenant name that is no tenant', () => {
    expect(() =>
      validateSnapshot(wireSnapshot(10, { acme: { ...wireOverride(ACME), sha: 'a'.repeat(64) } }), 'test'),
    ).toThrow(expect.objectContaining({ code: 'sha_mismatch' }));
    expect(() => validateSnapshot(wireSnapshot(10, { 'a b': wireOverride(ACME) }), 'test')).toThrow(
      expect.objectContaining({ code: 'invalid_snapshot' }),
    );
  });

  it('keeps the tenant cache bounded: past its size it starts over and still answers right', () => {
    const resolver = resolverWith({ acme: wireOverride(ACME) });
    const acme = resolver.get(NAME, { tenant: 'acme' });
    for (let i = 0; i <= TENANT_CACHE_MAX; i += 1) resolver.get(NAME, { tenant: `t${i}` });
    expect((resolver as unknown as { tenantEntries: number }).tenantEntries).toBeLessThanOrEqual(TENANT_CACHE_MAX);
    const again = resolver.get(NAME, { tenant: 'acme' });
    expect(again).not.toBe(acme);
    expect(again.sha).toBe(acme.sha);
  });

  it('the fallback (lockfile or in-code default) never serves an override', () => {
    const resolver = new Resolver();
    resolver.setFallback(buildFallback(undefined, defaultsFrom({ [NAME]: content(1) })));
    expect(resolver.get(NAME, { tenant: 'acme' })).toMatchObject({
      source: 'fallback',
      tenant: 'acme',
      overrideSha: null,
      sha: v1.sha,
    });
  });
});

describe('isolation: no tenant ever resolves another tenant\u2019s override', () => {
  const tenant = fc.stringMatching(/^[a-z][a-z0-9-]{0,6}$/);
  const override = fc.record(
    {
      slots: fc.dictionary(fc.constantFrom('greeting', 'closing'), fc.string({ maxLength: 12 }), { maxKeys: 2 }),
      params: fc.record({ temperature: fc.integer({ min: 0, max: 20 }).map((t) => t / 10) }, { requiredKeys: [] }),
    },
    { requiredKeys: [] },
  );
  const cases = fc.record({
    overrides: fc.dictionary(tenant, override, { maxKeys: 6 }),
    asked: fc.array(tenant, { maxLength: 6 }),
  });

  /** What `tenant` must get: its own override on v2, or v2 itself. */
  const own = (overrides: Record<string, PromptOverride>, who: string) =>
    Object.hasOwn(overrides, who) ? effectivePrompt(v2.content, parseOverride(overrides[who])) : undefined;

  const check = (resolver: Resolver, overrides: Record<string, PromptOverride>, asked: string[]) => {
    for (const who of [...Object.keys(overrides), ...asked, 'constructor', '__proto__']) {
      const served = resolver.get(NAME, { tenant: who });
      const expected = own(overrides, who);
      expect(served.tenant).toBe(who);
      expect(served.sha).toBe(expected?.sha ?? v2.sha);
      expect(served.content).toEqual(expected?.content ?? v2.content);
      expect(served.overrideSha).toBe(expected?.overrideSha ?? null);
    }
  };

  const snapshotOf = (overrides: Record<string, PromptOverride>): Snapshot =>
    validateSnapshot(
      wireSnapshot(10, Object.fromEntries(Object.entries(overrides).map(([t, o]) => [t, wireOverride(o)]))),
      'test',
    );

  it('in memory', () => {
    fc.assert(
      fc.property(cases, ({ overrides, asked }) => {
        const resolver = new Resolver();
        resolver.setSnapshot(snapshotOf(overrides));
        check(resolver, overrides, asked);
      }),
      { numRuns: 200 },
    );
  });

  it('through the cache file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'promptops-sdk-tenants-'));
    await fc.assert(
      fc.asyncProperty(cases, async ({ overrides, asked }) => {
        const file = join(dir, 'cache.json');
        await writeCacheFile(file, 'http://promptops.test', snapshotOf(overrides));
        const resolver = new Resolver();
        resolver.setSnapshot((await readCacheFile(file, 'http://promptops.test'))!);
        check(resolver, overrides, asked);
      }),
      { numRuns: 40 },
    );
  });
});

describe.each(['sse', 'poll'] as const)('override events from the change feed (%s)', (transport) => {
  const clients: PromptopsClient[] = [];
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
  });
  const start = async (feed: ReturnType<typeof fakeFeed>, options: Partial<ClientOptions> = {}) => {
    const client = createClient({
      url: 'http://promptops.test',
      apiKey: 'test',
      fetch: feed.fetch,
      transport,
      snapshotCheckIntervalMs: 0,
      reconnect: { initialDelayMs: 1, maxDelayMs: 5, probeIntervalMs: 0 },
      traces: false,
      ...options,
    });
    clients.push(client);
    await client.ready();
    return client;
  };

  it('applies a set, a change and a pinned override; the cache file keeps them', async () => {
    const cacheFile = join(mkdtempSync(join(tmpdir(), 'promptops-sdk-tenants-')), 'cache.json');
    const feed = fakeFeed(wireSnapshot(10));
    const client = await start(feed, { cacheFile });
    expect(client.get(NAME, { tenant: 'acme' }).overrideSha).toBeNull();

    feed.publish({ type: 'override', seq: 11, name: NAME, tenant: 'acme', override: wireOverride(ACME) });
    await waitFor(() => client.status().cursor === 11, 'the override event');
    expect(client.get(NAME, { tenant: 'acme' }).render({ user: 'Ada' }).text).toBe('Good day Bye Ada (r2)');
    expect(client.get(NAME, { tenant: 'globex' }).overrideSha).toBeNull();

    feed.publish({
      type: 'override',
      seq: 12,
      name: NAME,
      tenant: 'globex',
      override: wireOverride(GLOBEX, { base: v1 }),
    });
    await waitFor(() => client.status().cursor === 12, 'the pinned override event');
    expect(client.get(NAME, { tenant: 'globex' })).toMatchObject({ version: 1, baseSha: v1.sha });
    expect(client.get(NAME, { tenant: 'acme' }).render({ user: 'Ada' }).text).toBe('Good day Bye Ada (r2)');

    feed.publish({ type: 'override', seq: 13, name: NAME, tenant: 'acme', override: null });
    await waitFor(() => client.status().cursor === 13, 'the removal');
    expect(client.get(NAME, { tenant: 'acme' }).overrideSha).toBeNull();

    await client.close();
    const saved = JSON.parse(readFileSync(cacheFile, 'utf8')) as { snapshot: Snapshot };
    expect(Object.keys(saved.snapshot.prompts[NAME]!.overrides!)).toEqual(['globex']);
  });
});
