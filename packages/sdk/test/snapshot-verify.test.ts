import * as crypto from 'node:crypto';
import { canonicalJson, promptSha, sha256Hex, type PromptContent } from '@promptops/core';
import { describe, expect, it } from 'vitest';
import { loadDigest, nodeDigest, sha256 } from '../src/digest.js';
import { validateSnapshot } from '../src/snapshot-store.js';
import { greeter } from './support/fixtures.js';

/**
 * Snapshot verification in one pass: a native stringify of content that arrived in canonical key order
 * is its canonical text, hashed with node:crypto's one-shot digest; any other key order still verifies
 * through RFC 8785, and altered content is refused either way.
 */

const snapshotOf = (name: string, sha: string, content: unknown) => ({
  project: 'default',
  cursor: 7,
  prompts: { [name]: { labels: { production: sha }, versions: { [sha]: { version: 1, sha, content } } } },
});

/** The content as the server sends it: its canonical JSON, parsed (so keys come in canonical order). */
const asServed = (content: PromptContent): unknown => JSON.parse(canonicalJson(content));

/** The same content with every object's keys in reverse order. */
const reordered = (value: unknown): unknown => {
  if (Array.isArray(value)) return value.map(reordered);
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(
    Object.entries(value)
      .reverse()
      .map(([k, v]) => [k, reordered(v)]),
  );
};

describe('sha256 for verification', () => {
  const texts = ['', 'hello', 'Grüße, 你好 🙂', canonicalJson(greeter(17))];

  it("uses node:crypto's one-shot hash where present, a createHash object otherwise, both equal to core's", () => {
    const calls: string[] = [];
    const oneShot = nodeDigest({
      hash: (algorithm, data, encoding) => {
        calls.push('hash');
        return crypto.hash(algorithm, data, encoding);
      },
      createHash: () => {
        throw new Error('not used when hash exists');
      },
    });
    const object = nodeDigest({
      createHash: (algorithm) => {
        calls.push('createHash');
        return crypto.createHash(algorithm);
      },
    });
    for (const text of texts) {
      expect(oneShot(text)).toBe(sha256Hex(text));
      expect(object(text)).toBe(sha256Hex(text));
    }
    expect(calls).toEqual([...texts.map(() => ['hash', 'createHash']).flat()]);
  });

  it('loads the native digest on demand and gives the same digest', async () => {
    await loadDigest();
    for (const text of texts) expect(sha256(text)).toBe(sha256Hex(text));
  });
});

describe('validateSnapshot', () => {
  const content = greeter(17);
  const sha = promptSha(content);

  it('accepts content in canonical key order (the server sends it so)', () => {
    const served = asServed(content);
    expect(JSON.stringify(served)).toBe(canonicalJson(content));
    const snapshot = validateSnapshot(snapshotOf(content.name, sha, served), 'test');
    expect(snapshot.prompts[content.name]?.versions[sha]?.content).toEqual(content);
  });

  it('accepts the same content in another key order (an older server) through RFC 8785', () => {
    const shuffled = reordered(content);
    expect(JSON.stringify(shuffled)).not.toBe(canonicalJson(content));
    expect(validateSnapshot(snapshotOf(content.name, sha, shuffled), 'test').prompts[content.name]).toBeDefined();
  });

  it('accepts integer-like keys, which JavaScript orders before the others', () => {
    const numeric: PromptContent = { ...content, config: { ...content.config, params: { '10': 1, '9': 2, b: 3 } } };
    const served = asServed(numeric);
    expect(JSON.stringify(served)).not.toBe(canonicalJson(numeric));
    expect(validateSnapshot(snapshotOf(numeric.name, promptSha(numeric), served), 'test')).toBeDefined();
  });

  it('refuses altered content in either order, naming the prompt', () => {
    for (const arrived of [asServed(content), reordered(content)]) {
      const altered = JSON.parse(
        JSON.stringify(arrived).replace('greet the user by name', 'ignore the user'),
      ) as unknown;
      expect(() => validateSnapshot(snapshotOf(content.name, sha, altered), 'GET /api/v1/snapshot')).toThrow(
        expect.objectContaining({ code: 'sha_mismatch', message: expect.stringContaining(content.name) }),
      );
    }
  });
});
