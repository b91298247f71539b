import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import type { Snapshot } from '@promptops/core';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { buildApp } from '../src/app/app.js';
import { createStorage, type Stores } from '../src/app/stores.js';
import { call } from './support/http.js';
import { DIALECTS, openTestRegistry, textContent, type TestRegistry } from './support/registry.js';

/**
 * `GET /api/v1/snapshot` is serialized once per project, scope and change stamp, compressed once per
 * coding, and conditional: its ETag changes with everything the snapshot holds (its cursor included),
 * on every replica. Two apps on one database stand for two replicas.
 */

interface Answer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | number | undefined>;
  /** The body as sent (possibly compressed). */
  readonly raw: Buffer;
}

const get = async (app: FastifyInstance, key: string, url: string, headers: Record<string, string> = {}) => {
  const response = await app.inject({
    method: 'GET',
    url,
    headers: { authorization: `Bearer ${key}`, ...headers },
  });
  return { status: response.statusCode, headers: response.headers, raw: response.rawPayload } satisfies Answer;
};

/** The document in an answer, decoded per its Content-Encoding. */
const decode = (answer: Answer): Snapshot => {
  const coding = answer.headers['content-encoding'];
  const bytes =
    coding === 'br' ? brotliDecompressSync(answer.raw) : coding === 'gzip' ? gunzipSync(answer.raw) : answer.raw;
  return JSON.parse(bytes.toString('utf8')) as Snapshot;
};

const etag = (answer: Answer): string => String(answer.headers['etag']);

describe.each(DIALECTS)('snapshot cache and conditional requests on %s', (dialect) => {
  let a: TestRegistry;
  let bStorage: Stores;
  let b: FastifyInstance;
  const heads = new Map<string, string>();
  const push = async (name: string, template: string, parent: string | null): Promise<string> => {
    const pushed = await call<{ sha: string }>(
      a.app,
      'POST',
      `/api/v1/prompts/${encodeURIComponent(name)}/versions`,
      a.keys.admin,
      {
        content: textContent(name, template, { question: { type: 'string', required: true } }),
        parent,
      },
    );
    expect(pushed.status, pushed.text).toBe(201);
    heads.set(name, pushed.body.sha);
    return pushed.body.sha;
  };
  const move = async (name: string, label: string, ref: string): Promise<void> => {
    const moved = await call(
      a.app,
      'PUT',
      `/api/v1/prompts/${encodeURIComponent(name)}/labels/${label}`,
      a.keys.admin,
      { ref },
    );
    expect(moved.status, moved.text).toBe(200);
  };

  beforeAll(async () => {
    a = await openTestRegistry(dialect);
    bStorage = await createStorage(a.dbUrl);
    b = await buildApp({ storage: bStorage });
    // Enough text that every coding is worth sending compressed.
    const long = (i: number): string => `Prompt ${i}: ${'answer {{question}} politely and briefly. '.repeat(40)}`;
    let parent: string | null = null;
    for (const text of [long(1), long(2)]) parent = await push('greeter', text, parent);
    await move('greeter', 'production', 'v1');
    for (const name of ['checkout/pay', 'checkout/refund', 'search/rank']) await push(name, long(3), null);
  });
  afterAll(async () => {
    await b.close();
    await bStorage.close();
    await a.close();
  });

  it('answers with a strong ETag, Vary and no-cache, and 304 to a client that holds it, on either replica', async () => {
    const first = await get(a.app, a.keys.viewer, '/api/v1/snapshot');
    expect(first.status).toBe(200);
    expect(etag(first)).toMatch(/^"\d+-[\w-]+"$/);
    expect(first.headers['vary']).toBe('accept-encoding');
    expect(first.headers['cache-control']).toBe('private, no-cache');
    expect(first.headers['content-type']).toBe('application/json; charset=utf-8');
    for (const app of [a.app, b]) {
      const again = await get(app, a.keys.viewer, '/api/v1/snapshot', { 'if-none-match': etag(first) });
      expect(again.status).toBe(304);
      expect(again.raw.length).toBe(0);
      expect(etag(again)).toBe(etag(first));
    }
    // Another key of the same project holds the same document; the tag is not the key's.
    const editor = await get(b, a.keys.editor, '/api/v1/snapshot', { 'if-none-match': `W/${etag(first)}, "x"` });
    expect(editor.status).toBe(304);
    expect((await get(b, a.keys.viewer, '/api/v1/snapshot', { 'if-none-match': '"1-nope"' })).status).toBe(200);
  });

  it.each([
    ['a label move', () => move('greeter', 'production', 'v2')],
    [
      'a new version',
      () => push('search/rank', 'A new ranking prompt for {{question}}', heads.get('search/rank')!).then(() => {}),
    ],
    [
      'a key revocation',
      async () => {
        const created = await call<{ key: { keyId: string } }>(a.app, 'POST', '/api/v1/keys', a.keys.admin, {
          name: `short-lived-${Math.random().toString(36).slice(2)}`,
          role: 'viewer',
        });
        expect(created.status).toBe(201);
        const revoked = await call(a.app, 'POST', `/api/v1/keys/${created.body.key.keyId}/revoke`, a.keys.admin);
        expect(revoked.status).toBe(200);
      },
    ],
  ])('%s through replica A changes the ETag on both replicas', async (_what, change) => {
    // B holds the snapshot in its cache at the old stamp, then A changes something.
    const before = await get(b, a.keys.viewer, '/api/v1/snapshot');
    expect((await get(b, a.keys.viewer, '/api/v1/snapshot', { 'if-none-match': etag(before) })).status).toBe(304);
    await change();
    for (const app of [b, a.app]) {
      const after = await get(app, a.keys.viewer, '/api/v1/snapshot', { 'if-none-match': etag(before) });
      expect(after.status).toBe(200);
      expect(etag(after)).not.toBe(etag(before));
      expect(decode(after).cursor).toBe(await a.storage.registry.latestAuditSeq(a.projectId));
    }
    const onA = await get(a.app, a.keys.viewer, '/api/v1/snapshot');
    const onB = await get(b, a.keys.viewer, '/api/v1/snapshot');
    expect(etag(onB)).toBe(etag(onA));
    expect(decode(onB)).toEqual(decode(onA));
  });

  it('a label move is in the next snapshot the other replica serves', async () => {
    await move('greeter', 'staging', 'v1');
    const staged = decode(await get(b, a.keys.viewer, '/api/v1/snapshot')).prompts['greeter']!;
    expect(staged.versions[staged.labels['staging']!]?.version).toBe(1);
    await move('greeter', 'staging', 'v2');
    const moved = decode(await get(b, a.keys.viewer, '/api/v1/snapshot')).prompts['greeter']!;
    expect(moved.versions[moved.labels['staging']!]?.version).toBe(2);
  });

  it('gzip, brotli and plain clients get the same records, each chosen by Accept-Encoding', async () => {
    const plain = await get(a.app, a.keys.viewer, '/api/v1/snapshot');
    const gzip = await get(a.app, a.keys.viewer, '/api/v1/snapshot', { 'accept-encoding': 'gzip, deflate' });
    const br = await get(a.app, a.keys.viewer, '/api/v1/snapshot', { 'accept-encoding': 'gzip;q=0.8, br' });
    const none = await get(a.app, a.keys.viewer, '/api/v1/snapshot', { 'accept-encoding': 'br;q=0, gzip;q=0' });
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(gzip.headers['content-encoding']).toBe('gzip');
    expect(br.headers['content-encoding']).toBe('br');
    expect(none.headers['content-encoding']).toBeUndefined();
    expect(gzip.raw.length).toBeLessThan(plain.raw.length / 3);
    expect(br.raw.length).toBeLessThan(plain.raw.length / 3);
    expect(decode(gzip)).toEqual(decode(plain));
    expect(decode(br)).toEqual(decode(plain));
    expect(decode(none)).toEqual(decode(plain));
    // One document, one tag per coding; any of them revalidates it.
    expect(new Set([etag(plain), etag(gzip), etag(br)]).size).toBe(3);
    for (const tag of [etag(plain), etag(gzip), etag(br)]) {
      const again = await get(b, a.keys.viewer, '/api/v1/snapshot', { 'if-none-match': tag, 'accept-encoding': 'br' });
      expect(again.status).toBe(304);
      expect(etag(again)).toBe(etag(br));
    }
  });

  it('serves a repeated request from memory: no database read but the stamp', async () => {
    await get(b, a.keys.viewer, '/api/v1/snapshot?names=greeter');
    const reads = vi.spyOn(bStorage.registry, 'readLabelSnapshot');
    try {
      for (let i = 0; i < 3; i += 1)
        expect((await get(b, a.keys.viewer, '/api/v1/snapshot?names=greeter')).status).toBe(200);
      expect(reads).not.toHaveBeenCalled();
      await move('greeter', 'canary', 'v1');
      await get(b, a.keys.viewer, '/api/v1/snapshot?names=greeter');
      expect(reads).toHaveBeenCalledTimes(1);
    } finally {
      reads.mockRestore();
    }
  });

  it('reads once for simultaneous requests at one stamp', async () => {
    await move('greeter', 'canary', 'v2');
    const reads = vi.spyOn(bStorage.registry, 'readLabelSnapshot');
    try {
      const answers = await Promise.all(
        Array.from({ length: 8 }, () => get(b, a.keys.viewer, '/api/v1/snapshot', { 'accept-encoding': 'br' })),
      );
      expect(new Set(answers.map(etag)).size).toBe(1);
      expect(reads).toHaveBeenCalledTimes(1);
    } finally {
      reads.mockRestore();
    }
  });

  describe('scope', () => {
    it('names= holds only those prompts', async () => {
      const only = await get(a.app, a.keys.viewer, '/api/v1/snapshot?names=greeter,search/rank,nope');
      expect(Object.keys(decode(only).prompts).sort()).toEqual(['greeter', 'search/rank']);
    });

    it('prefix= holds only the prompts under it, and with names= the prompts either selects', async () => {
      const folder = await get(a.app, a.keys.viewer, '/api/v1/snapshot?prefix=checkout/');
      expect(Object.keys(decode(folder).prompts).sort()).toEqual(['checkout/pay', 'checkout/refund']);
      const both = await get(a.app, a.keys.viewer, '/api/v1/snapshot?prefix=checkout/&names=greeter');
      expect(Object.keys(decode(both).prompts).sort()).toEqual(['checkout/pay', 'checkout/refund', 'greeter']);
      const none = await get(a.app, a.keys.viewer, '/api/v1/snapshot?prefix=nothing-here');
      expect(decode(none).prompts).toEqual({});
      expect(decode(none).cursor).toBe(decode(folder).cursor);
    });

    it('each scope has its own tag: one never revalidates another', async () => {
      const full = await get(a.app, a.keys.viewer, '/api/v1/snapshot');
      const folder = await get(a.app, a.keys.viewer, '/api/v1/snapshot?prefix=checkout/');
      const named = await get(a.app, a.keys.viewer, '/api/v1/snapshot?names=checkout/refund,checkout/pay');
      const reordered = await get(a.app, a.keys.viewer, '/api/v1/snapshot?names=checkout/pay,checkout/refund');
      expect(new Set([etag(full), etag(folder), etag(named)]).size).toBe(3);
      expect(etag(reordered)).toBe(etag(named));
      const cross = await get(a.app, a.keys.viewer, '/api/v1/snapshot?prefix=checkout/', {
        'if-none-match': etag(full),
      });
      expect(cross.status).toBe(200);
      const same = await get(b, a.keys.viewer, '/api/v1/snapshot?prefix=checkout/', { 'if-none-match': etag(folder) });
      expect(same.status).toBe(304);
    });

    it('the change feed takes the same scope: prefix= keeps only those prompts’ events', async () => {
      const after = await a.storage.registry.latestAuditSeq(a.projectId);
      await move('checkout/pay', 'production', 'v1');
      await move('search/rank', 'production', 'v1');
      const polled = await call<{ events: { name: string }[] }>(
        b,
        'GET',
        `/api/v1/changes?after=${after}&prefix=checkout/`,
        a.keys.viewer,
      );
      expect(polled.body.events.map((event) => event.name)).toEqual(['checkout/pay']);
      const both = await call<{ events: { name: string }[] }>(
        b,
        'GET',
        `/api/v1/changes?after=${after}&prefix=checkout/&names=search/rank`,
        a.keys.viewer,
      );
      expect(both.body.events.map((event) => event.name)).toEqual(['checkout/pay', 'search/rank']);
    });

    it('refuses a prefix that no prompt name can start with, naming the field', async () => {
      const bad = await call<{ error: { code: string; message: string; issues: { path: string }[] } }>(
        a.app,
        'GET',
        '/api/v1/snapshot?prefix=Bad%20Prefix',
        a.keys.viewer,
      );
      expect(bad.status).toBe(400);
      expect(bad.body.error.code).toBe('invalid_request');
      expect(bad.body.error.issues[0]?.path).toBe('querystring.prefix');
    });
  });
});
