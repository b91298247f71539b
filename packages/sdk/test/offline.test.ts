import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createLockfile, formatLockfile, type PromptopsError } from '@promptops/core';
import { createClient, type PromptopsClient } from '../src/index.js';
import { greeter, textPrompt, versionOf } from './support/fixtures.js';
import { startServer } from '../../server/src/index.js';
import { testDatabase } from '../../server/test/support/databases.js';
import { ADMIN_KEY, api, freePort, waitFor } from './support/server.js';

/** The server is down when the app starts: the client serves its lockfile or in-code defaults. */

const v17 = versionOf(greeter(17), 17);
const faq = versionOf(textPrompt('faq', 'Answer briefly: {{question}}'), 3);
const lock = createLockfile({
  customer_support_greeter: { sha: v17.sha, version: 17, label: 'production', content: v17.content },
  faq: { sha: faq.sha, version: 3, label: null, content: faq.content },
  not_embedded: { sha: faq.sha.replace(/^./, 'f'), version: 1, label: 'production' },
});

const writeLock = (text = formatLockfile(lock)): string => {
  const path = join(mkdtempSync(join(tmpdir(), 'promptops-sdk-lock-')), 'promptops.lock');
  writeFileSync(path, text);
  return path;
};

const clients: PromptopsClient[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.close()));
});

const downUrl = async (): Promise<string> => `http://127.0.0.1:${await freePort()}`;

const offlineClient = async (fallback: Parameters<typeof createClient>[0]['fallback'], url?: string) => {
  const errors: PromptopsError[] = [];
  const client = createClient({
    url: url ?? (await downUrl()),
    apiKey: ADMIN_KEY,
    ...(fallback === undefined ? {} : { fallback }),
    onError: (error) => errors.push(error),
    reconnect: { initialDelayMs: 20, maxDelayMs: 100 },
  });
  clients.push(client);
  return { client, errors };
};

describe('server down at start', () => {
  it('serves the lockfile (--embed) with source fallback and the release sha', async () => {
    const { client, errors } = await offlineClient({ lockfile: writeLock() });
    await client.ready();
    const prompt = client.get('customer_support_greeter');
    expect(prompt).toMatchObject({
      name: 'customer_support_greeter',
      version: 17,
      sha: v17.sha,
      label: 'production',
      variant: 'base',
      source: 'fallback',
      releaseSha: lock.releaseSha,
    });
    expect(prompt.render({ user_name: 'Ada', question: 'Where is my order?' })).toMatchObject({ type: 'chat' });
    // Locked without a label: this build ships it for any label.
    expect(client.get('faq', { label: 'staging' })).toMatchObject({ version: 3, label: 'staging', source: 'fallback' });
    // Pins the lockfile holds resolve too.
    expect(client.get(`customer_support_greeter@${v17.sha.slice(0, 7)}`)).toMatchObject({ version: 17, label: null });
    expect(client.get('customer_support_greeter@v17').sha).toBe(v17.sha);
    expect(errors.map((e) => e.code)).toEqual(expect.arrayContaining(['server_unreachable', 'lockfile_not_embedded']));
    expect(client.status()).toMatchObject({ state: 'ready', snapshotFrom: 'none', connected: false });
  });

  it('names the prompt, the label and what is available when it cannot serve a request', async () => {
    const { client } = await offlineClient({ lockfile: writeLock() });
    await client.ready();
    expect(() => client.get('customer_support_greeter', { label: 'staging' })).toThrow(
      expect.objectContaining({
        code: 'prompt_not_found',
        message: expect.stringMatching(
          /'customer_support_greeter' with label 'staging' not found.*has labels: production/,
        ),
      }),
    );
    expect(() => client.get('nope')).toThrow(
      expect.objectContaining({
        code: 'prompt_not_found',
        message: expect.stringContaining('known prompts: customer_support_greeter, faq'),
      }),
    );
    expect(() => client.get('customer_support_greeter@0000000')).toThrow(
      expect.objectContaining({ message: expect.stringContaining('prefetch') }),
    );
    expect(() => client.get('customer_support_greeter@NOT A REF')).toThrow(
      expect.objectContaining({ code: 'invalid_ref' }),
    );
  });

  it('serves a Lockfile object and in-code defaults even before ready()', async () => {
    const defaults = { welcome: textPrompt('welcome', 'Welcome! {{question}}') };
    const { client } = await offlineClient({ lockfile: lock, prompts: defaults });
    expect(client.get('customer_support_greeter')).toMatchObject({ source: 'fallback', releaseSha: lock.releaseSha });
    expect(client.get('welcome', { label: 'canary' })).toMatchObject({
      version: 0,
      source: 'fallback',
      label: 'canary',
    });
    await client.ready();
    expect(client.get('welcome').render({ question: 'hi' })).toEqual({ type: 'text', text: 'Welcome! hi' });
  });

  it('rejects ready() only when there is nothing at all to serve', async () => {
    const { client } = await offlineClient(undefined);
    await expect(client.ready()).rejects.toMatchObject({
      code: 'nothing_to_serve',
      message: expect.stringContaining('cannot reach'),
    });
    expect(() => client.get('customer_support_greeter')).toThrow(
      expect.objectContaining({ code: 'prompt_not_found', message: expect.stringContaining('no prompts are loaded') }),
    );
  });

  it('refuses a tampered lockfile and says why', async () => {
    const tampered = formatLockfile(lock).replace('Always greet the user by name.', 'Never greet anyone.');
    const { client, errors } = await offlineClient({ lockfile: writeLock(tampered) });
    await expect(client.ready()).rejects.toMatchObject({ code: 'nothing_to_serve' });
    expect(errors.map((e) => e.code)).toContain('lockfile_tampered');
  });

  it('does not wait forever on a server that accepts connections and never answers', async () => {
    const blackHole = createServer(() => undefined);
    await new Promise<void>((resolve) => blackHole.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(blackHole.address() as AddressInfo).port}`;
      const errors: PromptopsError[] = [];
      const client = createClient({
        url,
        apiKey: ADMIN_KEY,
        fallback: { lockfile: lock },
        requestTimeoutMs: 300,
        onError: (e) => errors.push(e),
      });
      clients.push(client);
      await client.ready(); // the black hole never answers: ready() ends by the request timeout
      expect(client.get('customer_support_greeter').source).toBe('fallback');
      expect(errors.find((e) => e.code === 'server_timeout')?.message).toContain('did not answer within 300 ms');
      await client.close();
    } finally {
      blackHole.close();
    }
  });

  it('rejects invalid options and invalid in-code defaults at once', () => {
    expect(() => createClient({ url: 'ftp://x', apiKey: 'k' })).toThrow(
      expect.objectContaining({ code: 'invalid_options' }),
    );
    expect(() => createClient({ url: 'http://x', apiKey: '' })).toThrow(/apiKey/);
    const broken = { ...textPrompt('welcome', 'Hi {{undeclared}}') };
    expect(() => createClient({ url: 'http://x', apiKey: 'k', fallback: { prompts: { welcome: broken } } })).toThrow(
      expect.objectContaining({ code: 'invalid_prompt' }),
    );
  });

  it('switches to the registry once the server comes up', async () => {
    const port = await freePort();
    const { client } = await offlineClient({ lockfile: lock }, `http://127.0.0.1:${port}`);
    await client.ready();
    expect(client.get('customer_support_greeter').source).toBe('fallback');

    // Now a server comes up on the URL the client was given.
    const late = await startServer({
      port,
      db: await testDatabase('sqlite'),
      dataDir: mkdtempSync(join(tmpdir(), 'promptops-sdk-late-')),
      initAdminKey: ADMIN_KEY,
      print: () => undefined,
    });
    try {
      const registry = api(late.url);
      const v18 = versionOf(greeter(18), 1);
      await registry.push(v18.content, null);
      await registry.promote('customer_support_greeter', 'production', 'v1');
      await waitFor(
        () => client.get('customer_support_greeter').source === 'snapshot',
        'the registry snapshot',
        15_000,
      );
      expect(client.get('customer_support_greeter')).toMatchObject({
        sha: v18.sha,
        version: 1,
        releaseSha: lock.releaseSha,
      });
      expect(client.status()).toMatchObject({ snapshotFrom: 'server' });
    } finally {
      await client.close();
      await late.close();
    }
  });
});
