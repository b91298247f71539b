import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createLockfile, formatLockfile } from '@promptops/core';
import { createClient, type PromptopsClient } from '../src/index.js';
import { greeter, textPrompt, versionOf } from './support/fixtures.js';
import { ADMIN_KEY, freePort, startTestServer, type TestServer } from './support/server.js';

/**
 * When the server was unreachable and the lockfile cannot serve a prompt, the error
 * names that cause, not "promote a version".
 */

const v17 = versionOf(greeter(17), 17);
const faq = versionOf(textPrompt('faq', 'Answer briefly: {{question}}'), 3);
const lockPath = (): string => {
  const lock = createLockfile({
    customer_support_greeter: { sha: v17.sha, version: 17, label: 'production', content: v17.content },
    not_embedded: { sha: faq.sha, version: 3, label: 'production' },
  });
  const path = join(mkdtempSync(join(tmpdir(), 'promptops-sdk-lock-')), 'promptops.lock');
  writeFileSync(path, formatLockfile(lock));
  return path;
};

const clients: PromptopsClient[] = [];
const servers: TestServer[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.close()));
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

const client = (url: string, lockfile: string): PromptopsClient => {
  const created = createClient({
    url,
    apiKey: ADMIN_KEY,
    fallback: { lockfile },
    onError: () => undefined,
    reconnect: { initialDelayMs: 20, maxDelayMs: 100 },
  });
  clients.push(created);
  return created;
};

const thrown = (get: () => unknown): { code: string; message: string; fix: string } => {
  try {
    get();
  } catch (error) {
    return error as { code: string; message: string; fix: string };
  }
  throw new Error('expected get() to throw');
};

describe('a prompt neither the server nor the lockfile can serve', () => {
  it('names the unreachable server and the lockfile that lacks the prompt', async () => {
    const url = `http://127.0.0.1:${await freePort()}`;
    const lockfile = lockPath();
    const app = client(url, lockfile);
    await app.ready();
    const error = thrown(() => app.get('summarize_ticket'));
    expect(error.code).toBe('prompt_not_found');
    expect(error.message).toContain(`the server ${url} could not be reached`);
    expect(error.message).toContain(`the lockfile ${lockfile} has no entry for 'summarize_ticket'`);
    expect(error.fix).not.toContain('promote');
    expect(error.fix).toContain('promptops lock --embed');
    expect(error.fix).toContain('PROMPTOPS_URL');
  });

  it('names a lock entry without content, and a label the lockfile does not pin', async () => {
    const url = `http://127.0.0.1:${await freePort()}`;
    const lockfile = lockPath();
    const app = client(url, lockfile);
    await app.ready();
    const bare = thrown(() => app.get('not_embedded'));
    expect(bare.message).toContain('could not be reached');
    expect(bare.message).toContain(`the lockfile ${lockfile} names 'not_embedded' without its content`);
    expect(bare.fix).not.toContain('promote');
    const staging = thrown(() => app.get('customer_support_greeter', { label: 'staging' }));
    expect(staging.message).toContain('could not be reached');
    expect(staging.message).toContain(`the lockfile ${lockfile} pins 'customer_support_greeter' for production only`);
    expect(staging.fix).not.toContain('promote');
  });

  it('still says to promote a version when the server answered and the label is missing', async () => {
    const server = await startTestServer('sqlite');
    servers.push(server);
    const app = client(server.url, lockPath());
    await app.ready();
    const error = thrown(() => app.get('summarize_ticket'));
    expect(error.message).not.toContain('could not be reached');
    expect(error.fix).toContain('promptops promote summarize_ticket');
  });
});
