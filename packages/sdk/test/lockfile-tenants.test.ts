import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import {
  createLockfile,
  effectivePrompt,
  formatLockfile,
  overrideSha,
  parseOverride,
  promptSha,
  type LockOverride,
  type PromptContent,
  type PromptOverride,
} from '@promptops/core';
import { createClient, type PromptopsClient } from '../src/index.js';
import { buildFallback, defaultsFrom, verifyLockfile } from '../src/fallback.js';
import { Resolver } from '../src/resolver.js';
import { ADMIN_KEY, freePort } from './support/server.js';

/**
 * The lockfile pins each tenant's override, so with the server unreachable the SDK serves a tenant its
 * own effective prompt (verified by sha), every other tenant the shared prompt, and nobody another's text.
 */

const NAME = 'greeter';
const content = (revision: number): PromptContent => ({
  name: NAME,
  type: 'text',
  template: `{{> greeting}} {{user}} {{> closing}} (r${revision})`,
  config: { provider: 'openai', model: 'gpt-4o-mini', params: {} },
  variables: { user: { type: 'string', required: true } },
  slots: { greeting: 'Hello', closing: 'Bye' },
});
const v1 = content(1);
const v2 = content(2);
const ACME = { slots: { greeting: 'Good day' }, params: { temperature: 0.1 } };

const locked = (override: PromptOverride, base: LockOverride['base'] = null): LockOverride => ({
  version: 1,
  sha: overrideSha(parseOverride(override)),
  label: 'production',
  override,
  base,
});

const lockText = (overrides: Record<string, LockOverride>): string =>
  formatLockfile(
    createLockfile({ [NAME]: { sha: promptSha(v2), version: 2, label: 'production', content: v2, overrides } }),
  );

const clients: PromptopsClient[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.close()));
});

describe('the lockfile fallback and tenant overrides', () => {
  it('serves acme its override and globex the shared prompt with only the lockfile', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'promptops-sdk-lock-tenants-')), 'promptops.lock');
    writeFileSync(path, lockText({ acme: locked(ACME) }));
    const client = createClient({
      url: `http://127.0.0.1:${await freePort()}`,
      apiKey: ADMIN_KEY,
      fallback: { lockfile: path },
      onError: () => undefined,
      reconnect: { initialDelayMs: 20, maxDelayMs: 100 },
    });
    clients.push(client);
    await client.ready();

    const expected = effectivePrompt(v2, parseOverride(ACME));
    const acme = client.get(NAME, { tenant: 'acme' });
    expect(acme).toMatchObject({
      source: 'fallback',
      tenant: 'acme',
      version: 2,
      sha: expected.sha,
      baseSha: promptSha(v2),
      overrideSha: locked(ACME).sha,
    });
    expect(acme.render({ user: 'Ann' })).toMatchObject({ text: 'Good day Ann Bye (r2)' });
    expect(acme.content.config.params).toEqual({ temperature: 0.1 });

    const globex = client.get(NAME, { tenant: 'globex' });
    expect(globex).toMatchObject({ source: 'fallback', tenant: 'globex', sha: promptSha(v2), overrideSha: null });
    expect(globex.render({ user: 'Ann' })).toMatchObject({ text: 'Hello Ann Bye (r2)' });
    // A pin by sha gets no override, from the lockfile as from the registry.
    expect(client.get(NAME, { tenant: 'acme', sha: promptSha(v2) }).overrideSha).toBeNull();
  });

  it('serves a pinned base with its own version; an override of another label does not apply', () => {
    const resolver = new Resolver();
    const lock = verifyLockfile(
      JSON.parse(
        lockText({
          acme: locked(ACME, { version: 1, sha: promptSha(v1), content: v1 }),
          initech: { ...locked(ACME), label: 'staging' },
        }),
      ),
    );
    resolver.setFallback(buildFallback(lock, new Map()));
    expect(resolver.get(NAME, { tenant: 'acme' })).toMatchObject({
      version: 1,
      baseSha: promptSha(v1),
      sha: effectivePrompt(v1, parseOverride(ACME)).sha,
    });
    expect(resolver.get(NAME, { tenant: 'initech' })).toMatchObject({ sha: promptSha(v2), overrideSha: null });
  });

  it('in-code defaults never serve an override, even with a lockfile override for the name', () => {
    const resolver = new Resolver();
    const lock = verifyLockfile(
      JSON.parse(
        formatLockfile(
          createLockfile({
            [NAME]: {
              sha: promptSha(v2),
              version: 2,
              label: 'staging',
              content: v2,
              overrides: { acme: locked(ACME) },
            },
          }),
        ),
      ),
    );
    resolver.setFallback(buildFallback(lock, defaultsFrom({ [NAME]: v1 })));
    expect(resolver.get(NAME, { tenant: 'acme' })).toMatchObject({ sha: promptSha(v1), overrideSha: null });
  });

  it('no tenant ever resolves another tenant’s override from the lockfile (property)', () => {
    const tenant = fc.stringMatching(/^[a-z][a-z0-9-]{0,6}$/);
    const override = fc.record(
      { slots: fc.dictionary(fc.constantFrom('greeting', 'closing'), fc.string({ maxLength: 12 }), { maxKeys: 2 }) },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(
        fc.dictionary(tenant, override, { maxKeys: 6 }),
        fc.array(tenant, { maxLength: 6 }),
        (overrides, asked) => {
          const resolver = new Resolver();
          const lock = verifyLockfile(
            JSON.parse(lockText(Object.fromEntries(Object.entries(overrides).map(([t, o]) => [t, locked(o)])))),
          );
          resolver.setFallback(buildFallback(lock, new Map()));
          for (const who of [...Object.keys(overrides), ...asked, 'constructor', '__proto__', 'toString']) {
            const mine = Object.hasOwn(overrides, who) ? effectivePrompt(v2, parseOverride(overrides[who])) : undefined;
            const served = resolver.get(NAME, { tenant: who });
            expect(served.tenant).toBe(who);
            expect(served.sha).toBe(mine?.sha ?? promptSha(v2));
            expect(served.content).toEqual(mine?.content ?? v2);
            expect(served.overrideSha).toBe(mine?.overrideSha ?? null);
          }
        },
      ),
      { numRuns: 150 },
    );
  });
});
