import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolveFromSnapshot } from '@promptops/core';
import { readCacheFile, writeCacheFile } from '../src/cache-file.js';
import { validateSnapshot } from '../src/snapshot-store.js';
import { greeter, versionOf } from './support/fixtures.js';

const URL_A = 'http://127.0.0.1:4680';
const v17 = versionOf(greeter(17), 17);
const snapshot = validateSnapshot(
  {
    project: 'default',
    cursor: 42,
    prompts: { customer_support_greeter: { labels: { production: v17.sha }, versions: { [v17.sha]: v17 } } },
  },
  'test',
);

const tempFile = (): string => join(mkdtempSync(join(tmpdir(), 'promptops-sdk-cache-')), 'nested', 'snapshot.json');

describe('cache file', () => {
  it('round-trips a snapshot, writing atomically (no temp file left behind)', async () => {
    const file = tempFile();
    await writeCacheFile(file, URL_A, snapshot);
    expect(readdirSync(join(file, '..'))).toEqual(['snapshot.json']);
    const back = await readCacheFile(file, URL_A);
    expect(back?.cursor).toBe(42);
    expect(resolveFromSnapshot(back!, 'customer_support_greeter')?.sha).toBe(v17.sha);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toMatchObject({
      format: 'promptops-sdk-cache',
      formatVersion: 1,
      url: URL_A,
    });
  });

  it('returns nothing for a missing file or a cache of another server', async () => {
    const file = tempFile();
    expect(await readCacheFile(file, URL_A)).toBeUndefined();
    await writeCacheFile(file, URL_A, snapshot);
    expect(await readCacheFile(file, 'http://other:4680')).toBeUndefined();
  });

  it('refuses a tampered file: content that no longer hashes to its sha', async () => {
    const file = tempFile();
    await writeCacheFile(file, URL_A, snapshot);
    const text = readFileSync(file, 'utf8');
    expect(text).toContain('Always greet the user by name.');
    writeFileSync(file, text.replace('Always greet the user by name.', 'Never greet the user.'));
    await expect(readCacheFile(file, URL_A)).rejects.toMatchObject({
      code: 'sha_mismatch',
      message: expect.stringContaining('does not hash'),
    });
  });

  it('refuses a truncated or foreign file with a clear error', async () => {
    const file = tempFile();
    await writeCacheFile(file, URL_A, snapshot);
    writeFileSync(file, readFileSync(file, 'utf8').slice(0, 100));
    await expect(readCacheFile(file, URL_A)).rejects.toMatchObject({
      code: 'invalid_snapshot',
      message: expect.stringContaining('not valid JSON'),
    });
    writeFileSync(file, '{"hello":"world"}');
    await expect(readCacheFile(file, URL_A)).rejects.toMatchObject({
      message: expect.stringContaining('not a promptops SDK cache file'),
    });
  });
});
