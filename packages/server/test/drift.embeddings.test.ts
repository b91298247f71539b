import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { StoredDriftReport } from '@promptops/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { embeddingsSettingsFrom, type EmbeddingsSettings } from '../src/drift/embeddings.js';
import { describeEachDatabase } from './support/databases.js';
import { openTestRegistry, textContent, type TestRegistry } from './support/registry.js';
import { ingest } from './support/traces.js';

/**
 * Embedding similarity in drift reports, from a local server speaking OpenAI's `/v1/embeddings` with
 * deterministic vectors: the cosine between a shadow rollout's paired outputs, the distance between two
 * versions' mean embeddings (live), batched, with the key sent; a provider that fails or never answers is
 * a note in a report that is still built.
 */

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = Record<string, any>;

const KEY = 'sk-embed-test-secret';
const NAMES = 'ana bo chen dara eli fay gus hana ivo jun kai lea mo nia oto pia quin rui sol tam'.split(' ');
const vars = { user_name: { type: 'string', required: true } };

/** A greeting by name points one way, an anonymous one another; the length adds a little. */
const vectorOf = (text: string): number[] => [/^Hi [a-z]+!/.test(text) ? 1 : 0, text.startsWith('Hello') ? 1 : 0, 0.1];

const readBody = async (request: IncomingMessage): Promise<Json> => {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return JSON.parse(Buffer.concat(chunks).toString('utf8')) as Json;
};

describe('embeddingsSettingsFrom', () => {
  it('is none by default, and refuses a URL without a model or a bad timeout', () => {
    expect(embeddingsSettingsFrom({})).toBeUndefined();
    expect(
      embeddingsSettingsFrom({
        PROMPTOPS_EMBEDDINGS_URL: 'http://localhost:11434/v1',
        PROMPTOPS_EMBEDDINGS_MODEL: 'nomic-embed-text',
        PROMPTOPS_EMBEDDINGS_TIMEOUT_MS: '5000',
      }),
    ).toEqual({ url: 'http://localhost:11434/v1', model: 'nomic-embed-text', timeoutMs: 5000 });
    expect(() => embeddingsSettingsFrom({ PROMPTOPS_EMBEDDINGS_URL: 'http://localhost:11434/v1' })).toThrow(
      /PROMPTOPS_EMBEDDINGS_MODEL/,
    );
    expect(() =>
      embeddingsSettingsFrom({
        PROMPTOPS_EMBEDDINGS_URL: 'http://localhost:11434/v1',
        PROMPTOPS_EMBEDDINGS_MODEL: 'm',
        PROMPTOPS_EMBEDDINGS_TIMEOUT_MS: 'soon',
      }),
    ).toThrow(/PROMPTOPS_EMBEDDINGS_TIMEOUT_MS/);
  });
});

describeEachDatabase('drift reports with embeddings (%s)', (dialect) => {
  let provider: Server;
  let base: string;
  const requests: { path: string; model: string; inputs: number; auth: string | undefined }[] = [];
  const registries: Record<string, TestRegistry> = {};
  const rollouts: Record<string, string> = {};
  const shas: string[] = [];

  const call = async (registry: TestRegistry, key: string, method: 'POST' | 'PUT', url: string, body: unknown) => {
    const response = await registry.app.inject({
      method,
      url,
      headers: { authorization: `Bearer ${key}` },
      payload: body as Json,
    });
    return { status: response.statusCode, body: response.json<Json>() };
  };

  /** v1 and v2 of the greeter, a shadow rollout of v2 with 20 recorded pairs, 12 live traces of each. */
  const seed = async (registry: TestRegistry): Promise<string> => {
    const { editor, deployer } = registry.keys;
    let parent: string | null = null;
    shas.length = 0;
    for (const template of ['Greet {{user_name}} by name.', 'Greet the user. ({{user_name}})']) {
      const pushed = await call(registry, editor, 'POST', '/api/v1/prompts/greeter/versions', {
        content: textContent('greeter', template, vars),
        parent,
      });
      parent = pushed.body['sha'] as string;
      shas.push(parent);
    }
    await call(registry, deployer, 'PUT', '/api/v1/prompts/greeter/labels/production', { ref: 'v1' });
    const started = await call(registry, deployer, 'POST', '/api/v1/prompts/greeter/rollouts', {
      label: 'production',
      candidate: 'v2',
      mode: 'shadow',
      stepDuration: '1h',
    });
    const id = started.body['id'] as string;
    const at = new Date().toISOString();
    const events = NAMES.flatMap((user, i) => [
      {
        id: `b-${i}`,
        prompt: { name: 'greeter' },
        rollout: { id, arm: 'baseline' },
        variables: { user_name: user },
        output: `Hi ${user}! Is there anything else I can help with?`,
        startedAt: at,
      },
      {
        id: `s-${i}`,
        prompt: { name: 'greeter' },
        rollout: { id, arm: 'candidate' },
        shadowOf: `b-${i}`,
        output: 'Hello there! Is there anything else I can help with?',
        startedAt: at,
      },
      ...(i < 12
        ? [1, 2].map((version) => ({
            id: `live-${version}-${i}`,
            prompt: { name: 'greeter', version, sha: shas[version - 1] },
            variables: { user_name: user },
            output: version === 1 ? `Hi ${user}! How can I help?` : `Hello, how can I help ${user}?`,
            startedAt: at,
          }))
        : []),
    ]);
    const response = await ingest(registry.app, editor, { events });
    expect(response.json<Json>()['rejected']).toEqual([]);
    return id;
  };

  const open = async (name: string, settings: EmbeddingsSettings) => {
    registries[name] = await openTestRegistry(dialect, { app: { drift: { embeddings: settings } } });
    rollouts[name] = await seed(registries[name]);
  };

  beforeAll(async () => {
    provider = createServer((request, response) => {
      void readBody(request).then((body) => {
        const path = request.url ?? '';
        requests.push({
          path,
          model: body['model'],
          inputs: body['input'].length,
          auth: request.headers.authorization,
        });
        if (path.startsWith('/slow/')) return; // never answers
        if (path.startsWith('/broken/')) {
          response.writeHead(500, { 'content-type': 'application/json' });
          response.end(JSON.stringify({ error: { message: `upstream exploded for ${KEY}` } }));
          return;
        }
        const inputs = body['input'] as string[];
        response.writeHead(200, { 'content-type': 'application/json' });
        response.end(
          JSON.stringify({
            object: 'list',
            model: body['model'],
            // Answered in reverse: the client orders by index.
            data: inputs.map((text, index) => ({ object: 'embedding', index, embedding: vectorOf(text) })).reverse(),
            usage: { prompt_tokens: 1, total_tokens: 1 },
          }),
        );
      });
    });
    await new Promise<void>((resolve) => provider.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(provider.address() as AddressInfo).port}`;
    await open('ok', { url: `${base}/v1`, model: 'toy-embed', apiKey: KEY, batchSize: 8 });
    await open('broken', { url: `${base}/broken/v1`, model: 'toy-embed', apiKey: KEY });
    await open('slow', { url: `${base}/slow/v1`, model: 'toy-embed', timeoutMs: 300 });
  });
  afterAll(async () => {
    for (const registry of Object.values(registries)) await registry.close();
    provider.closeAllConnections();
    await new Promise((resolve) => provider.close(resolve));
  });

  const report = async (name: string, body: Json): Promise<StoredDriftReport> => {
    const registry = registries[name]!;
    const created = await call(registry, registry.keys.editor, 'POST', '/api/v1/drift', body);
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    return created.body as StoredDriftReport;
  };

  it('paired: the cosine between the two outputs of each shadow pair, asked in batches with the key', async () => {
    requests.length = 0;
    const stored = await report('ok', { prompt: 'greeter', source: 'shadow', rollout: rollouts['ok'] });
    // Named greeting [1, 0, 0.1] against anonymous [0, 1, 0.1]: cosine 0.01 / 1.01.
    expect(stored.report.embedding).toEqual({
      status: 'computed',
      model: 'toy-embed',
      note: null,
      paired: { measure: 'cosine', mean: 0.00990099, median: 0.00990099, lowest: 0.00990099 },
      unpaired: null,
    });
    // 20 distinct baseline outputs and 1 shadow output, 8 a request.
    expect(requests.map((r) => r.inputs)).toEqual([8, 8, 5]);
    expect(requests.every((r) => r.path === '/v1/embeddings' && r.model === 'toy-embed')).toBe(true);
    expect(requests[0]!.auth).toBe(`Bearer ${KEY}`);
  });

  it('unpaired: the distance between the versions’ mean embeddings against the permutation null', async () => {
    const stored = await report('ok', { prompt: 'greeter', a: 'v1', b: 'v2', source: 'live', window: '1h' });
    expect(stored.report.n).toMatchObject({ a: 12, b: 12 });
    expect(stored.report.embedding?.unpaired).toMatchObject({
      measure: 'mean-embedding-distance',
      distance: Math.round(Math.SQRT2 * 1e5) / 1e5,
      drifted: true,
    });
  });

  it('a failing provider is a note in the report, its key redacted', async () => {
    const stored = await report('broken', { prompt: 'greeter', source: 'shadow', rollout: rollouts['broken'] });
    expect(stored.report.verdict).toMatch(/^v2 drifted/);
    expect(stored.report.embedding).toMatchObject({ status: 'skipped', model: 'toy-embed', paired: null });
    expect(stored.report.embedding!.note).toMatch(/HTTP 500/);
    expect(JSON.stringify(stored)).not.toContain(KEY);
  });

  it('a provider that never answers times out into a note', async () => {
    const stored = await report('slow', { prompt: 'greeter', source: 'shadow', rollout: rollouts['slow'] });
    expect(stored.report.embedding).toMatchObject({ status: 'skipped' });
    expect(stored.report.embedding!.note).toMatch(/timed out after 300 ms/);
  });
});
