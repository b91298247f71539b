import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';

// `npm ci` prints an EBADENGINE warning for every installed package whose `engines.node` excludes the
// running Node; the README promises Node 20, so every package in the lockfile must accept the lowest
// Node version that the root package.json declares.
const root = fileURLToPath(new URL('../../../', import.meta.url));
const require = createRequire(root);
const semver = require('semver') as {
  minVersion: (range: string) => { version: string } | null;
  satisfies: (version: string, range: string) => boolean;
};

interface LockEntry {
  readonly version?: string;
  readonly engines?: { readonly node?: string } | readonly string[];
}

const readJson = <T>(file: string): T => JSON.parse(readFileSync(`${root}${file}`, 'utf8')) as T;

describe('installed packages and the declared Node version', () => {
  const declared = readJson<{ engines: { node: string } }>('package.json').engines.node;
  const lowest = semver.minVersion(declared)?.version ?? '';

  it('declares a Node 20 floor', () => {
    expect(semver.satisfies(lowest, '^20')).toBe(true);
  });

  it('every package in package-lock.json accepts the lowest declared Node version', () => {
    const packages = readJson<{ packages: Record<string, LockEntry> }>('package-lock.json').packages;
    const refusing = Object.entries(packages)
      .map(([path, entry]) => {
        const node = Array.isArray(entry.engines) ? undefined : (entry.engines as { node?: string })?.node;
        return { path, version: entry.version, node };
      })
      .filter((p) => typeof p.node === 'string' && !semver.satisfies(lowest, p.node))
      .map((p) => `${p.path}@${p.version} wants node ${p.node}`);
    expect(refusing, `declared node ${declared}`).toEqual([]);
  });

  it("fastify's inject still sends cookies (light-my-request serialises them with cookie)", async () => {
    const app = Fastify();
    app.get('/echo', async (request) => ({ cookie: request.headers.cookie ?? null }));
    try {
      const one = await app.inject({ method: 'GET', url: '/echo', cookies: { a: '1', b: 'x y;z' } });
      expect(one.json()).toEqual({ cookie: 'a=1; b=x%20y%3Bz' });
      const scoped = await app.inject({
        method: 'GET',
        url: '/echo',
        cookies: [
          { name: 'kept', value: 'v', path: '/' },
          { name: 'dropped', value: 'w', path: '/elsewhere' },
        ],
      });
      expect(scoped.json()).toEqual({ cookie: 'kept=v' });
    } finally {
      await app.close();
    }
  });
});
