import { LangfuseClient } from '@langfuse/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashApiKey, keyIdOf } from '../src/auth/keys.js';
import { DIALECTS, openTestRegistry, textContent, type TestRegistry } from './support/registry.js';

/**
 * The official `@langfuse/client`, pointed at a listening promptops server, reads and compiles prompts
 * (by label, by version, chat and text), creates versions, and gets its not-found path for a missing one.
 */

const GREETER = 'customer_support_greeter';

const greeter = (lines: string) => ({
  name: GREETER,
  type: 'chat',
  config: { provider: 'openai', model: 'gpt-4o-mini', params: { temperature: 0.2 } },
  variables: { user_name: { type: 'string', required: true }, question: { type: 'string', required: true } },
  slots: {},
  messages: [
    { role: 'system', content: lines },
    { role: 'user', content: '{{user_name}} asks: {{question}}' },
  ],
});

const keyId = (key: string): string => keyIdOf(hashApiKey(key));

/** The thrown error's HTTP status, as the Langfuse client reports it. */
const statusOf = async (promise: Promise<unknown>): Promise<{ status: number; body: unknown; name: string }> => {
  try {
    await promise;
  } catch (error) {
    const e = error as { statusCode?: number; body?: unknown; constructor: { name: string } };
    return { status: e.statusCode ?? 0, body: e.body, name: e.constructor.name };
  }
  throw new Error('expected the call to fail');
};

describe.each(DIALECTS)('Langfuse-compatible prompt API (%s)', (dialect) => {
  let registry: TestRegistry;
  let base: string;
  const client = (key: string, publicKey = keyId(key)) =>
    new LangfuseClient({ publicKey, secretKey: key, baseUrl: base });

  beforeAll(async () => {
    registry = await openTestRegistry(dialect);
    base = await registry.app.listen({ host: '127.0.0.1', port: 0 });
    const push = async (name: string, content: unknown, parent: string | null, message: string) => {
      const response = await registry.app.inject({
        method: 'POST',
        url: `/api/v1/prompts/${encodeURIComponent(name)}/versions`,
        headers: { authorization: `Bearer ${registry.keys.admin}` },
        payload: { content, parent, message },
      });
      expect(response.statusCode).toBe(201);
      return (response.json() as { sha: string }).sha;
    };
    const v1 = await push(GREETER, greeter('Always greet the user by name.'), null, 'greet by name');
    await push(GREETER, greeter('Be brief.'), v1, 'wording fix');
    await push(
      'faq/answer',
      textContent('faq/answer', 'Answer {{question}} briefly.', {
        question: { type: 'string', required: true },
      }),
      null,
      '',
    );
    for (const [name, ref] of [
      [GREETER, 'v1'],
      ['faq/answer', 'v1'],
    ] as const) {
      const moved = await registry.app.inject({
        method: 'PUT',
        url: `/api/v1/prompts/${encodeURIComponent(name)}/labels/production`,
        headers: { authorization: `Bearer ${registry.keys.admin}` },
        payload: { ref },
      });
      expect(moved.statusCode).toBe(200);
    }
  });
  afterAll(async () => {
    await registry.close();
  });

  it('fetches and compiles the greeter by label (production by default) and by version', async () => {
    const langfuse = client(registry.keys.viewer);
    const production = await langfuse.prompt.get(GREETER, { label: 'production', cacheTtlSeconds: 0 });
    expect(production.version).toBe(1);
    expect(production.type).toBe('chat');
    expect(production.labels).toEqual(['production']);
    expect(production.config).toEqual({ provider: 'openai', model: 'gpt-4o-mini', temperature: 0.2 });
    expect(production.compile({ user_name: 'Ada', question: 'where is my order?' })).toEqual([
      { role: 'system', content: 'Always greet the user by name.' },
      { role: 'user', content: 'Ada asks: where is my order?' },
    ]);
    expect((await langfuse.prompt.get(GREETER, { cacheTtlSeconds: 0 })).version).toBe(1);
    const v2 = await langfuse.prompt.get(GREETER, { version: 2, cacheTtlSeconds: 0 });
    expect(v2.labels).toEqual(['latest']);
    expect(v2.commitMessage).toBe('wording fix');
    expect(v2.compile({ user_name: 'Ada', question: 'hi' })[0]).toEqual({ role: 'system', content: 'Be brief.' });
  });

  it('fetches and compiles a text prompt whose name has a folder', async () => {
    const prompt = await client(registry.keys.viewer).prompt.get('faq/answer', { label: 'latest' });
    expect(prompt.type).toBe('text');
    expect(prompt.compile({ question: 'refunds' })).toBe('Answer refunds briefly.');
  });

  it("gives a missing prompt, label or version the client's not-found path, in Langfuse's error shape", async () => {
    const langfuse = client(registry.keys.viewer);
    const missing = await statusOf(langfuse.prompt.get('no_such_prompt', { cacheTtlSeconds: 0 }));
    expect(missing).toMatchObject({ status: 404, name: expect.stringMatching(/^_?NotFoundError$/) });
    expect(missing.body).toMatchObject({
      error: 'LangfuseNotFoundError',
      message: expect.stringContaining('no_such_prompt'),
    });
    expect((await statusOf(langfuse.prompt.get(GREETER, { version: 9, cacheTtlSeconds: 0 }))).status).toBe(404);
    expect((await statusOf(langfuse.prompt.get('faq/answer', { label: 'staging' }))).status).toBe(404);
  });

  it('creates versions through the client: labels, tags and commit message read back', async () => {
    const langfuse = client(registry.keys.deployer);
    const created = await langfuse.prompt.create({
      name: 'movie-critic',
      type: 'chat',
      prompt: [{ role: 'system', content: 'Review {{movie}} as a {{criticlevel}} critic.' }],
      config: { model: 'gpt-4o', temperature: 0.7 },
      labels: ['production'],
      tags: ['reviews'],
      commitMessage: 'first cut',
    });
    expect(created).toMatchObject({ name: 'movie-critic', version: 1, tags: ['reviews'], commitMessage: 'first cut' });
    expect([...created.labels].sort()).toEqual(['latest', 'production']);
    const second = await langfuse.prompt.create({ name: 'movie-critic', type: 'text', prompt: 'Rate {{movie}}.' });
    expect(second).toMatchObject({ version: 2, type: 'text', tags: ['reviews'], labels: ['latest'] });
    expect(
      (await langfuse.prompt.get('movie-critic', { cacheTtlSeconds: 0 })).compile({
        movie: 'Dune',
        criticlevel: 'kind',
      }),
    ).toEqual([{ role: 'system', content: 'Review Dune as a kind critic.' }]);
    const list = await langfuse.api.prompts.list({ name: 'movie-critic' });
    expect(list.data).toEqual([
      expect.objectContaining({
        name: 'movie-critic',
        type: 'text',
        versions: [1, 2],
        labels: ['latest', 'production'],
        tags: ['reviews'],
      }),
    ]);
    expect(list.meta).toEqual({ page: 1, limit: 50, totalItems: 1, totalPages: 1 });
    const paged = await langfuse.api.prompts.list({ limit: 2, page: 2 });
    expect(paged.meta).toMatchObject({ page: 2, limit: 2, totalItems: 3, totalPages: 2 });
    expect(paged.data.map((p) => p.name)).toEqual(['movie-critic']);
  });

  it('refuses what has no counterpart with a message naming it, and labels from a key that may not move them', async () => {
    const placeholder = await statusOf(
      client(registry.keys.deployer).prompt.create({
        name: 'chatty',
        type: 'chat',
        prompt: [{ type: 'placeholder', name: 'history' } as never, { role: 'user', content: 'hi' }],
      }),
    );
    expect(placeholder.status).toBe(400);
    expect(placeholder.body).toMatchObject({
      code: 'langfuse_unsupported',
      message: expect.stringContaining('placeholder "history"'),
    });
    const editor = await statusOf(
      client(registry.keys.editor).prompt.create({ name: 'chatty', prompt: 'hi', labels: ['production'] }),
    );
    expect(editor.status).toBe(403);
    expect(
      (
        await registry.app.inject({
          url: '/api/v1/prompts/chatty',
          headers: { authorization: `Bearer ${registry.keys.admin}` },
        })
      ).statusCode,
    ).toBe(404);
  });

  it("refuses a public key that is not the secret key's id", async () => {
    const refused = await statusOf(
      client(registry.keys.viewer, 'pk-lf-wrong').prompt.get(GREETER, { cacheTtlSeconds: 0 }),
    );
    expect(refused.status).toBe(401);
    expect(refused.body).toMatchObject({ code: 'langfuse_key_mismatch', error: 'UnauthorizedError' });
  });
});
