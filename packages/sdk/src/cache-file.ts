import { PromptopsError } from '@promptops/core/errors';
import { type Snapshot } from '@promptops/core/resolve';
import { loadDigest } from './digest.js';
import { nodeFs } from './node-fs.js';
import { validateSnapshot } from './snapshot-store.js';

/**
 * The on-disk snapshot cache: lets a restarted process serve before (or without) the server. Written
 * atomically (temp file + rename) so a crash never leaves half a file; read back with every version's
 * sha verified, so a tampered or corrupt cache is refused whole. It keeps the snapshot's ETag, so a
 * restarted client revalidates it with one conditional request (304: still current). Node only: node:fs is imported on use,
 * so the SDK still loads in runtimes without it.
 */

export const CACHE_FORMAT = 'promptops-sdk-cache';
export const CACHE_FORMAT_VERSION = 1;

interface CacheDocument {
  readonly format: typeof CACHE_FORMAT;
  readonly formatVersion: typeof CACHE_FORMAT_VERSION;
  /** The server this snapshot came from: a cache of another server is not used. */
  readonly url: string;
  readonly savedAt: string;
  /** The server's ETag for exactly this snapshot; absent once change events moved it on. */
  readonly etag?: string;
  readonly snapshot: Snapshot;
}

export interface CacheEntry {
  /** Verified: every version's content hashes to its sha. */
  readonly snapshot: Snapshot;
  readonly etag: string | undefined;
}

/** The cached snapshot, or undefined when there is no file or it belongs to another server. */
export const readCacheFile = async (path: string, url: string): Promise<Snapshot | undefined> =>
  (await readCacheEntry(path, url))?.snapshot;

/**
 * The cached snapshot and its ETag, or undefined when there is no file or it belongs to another server.
 * `onEtag` hears the ETag as soon as the file is parsed, before its shas are checked, so a revalidation
 * can be on its way meanwhile.
 */
export const readCacheEntry = async (
  path: string,
  url: string,
  onEtag?: (etag: string | undefined) => void,
): Promise<CacheEntry | undefined> => {
  const { fs } = await nodeFs('cacheFile');
  let text: string;
  try {
    text = await fs.readFile(path, 'utf8');
  } catch (error) {
    if ((error as { code?: string }).code === 'ENOENT') return undefined;
    throw new PromptopsError(
      'invalid',
      'cache_unreadable',
      `cannot read cache file ${path}: ${(error as Error).message}`,
    );
  }
  let doc: Partial<CacheDocument>;
  try {
    doc = JSON.parse(text) as Partial<CacheDocument>;
  } catch {
    throw new PromptopsError('invalid', 'invalid_snapshot', `cache file ${path} is not valid JSON`, {
      fix: 'delete it; the client rewrites it from the server',
    });
  }
  if (doc.format !== CACHE_FORMAT || doc.formatVersion !== CACHE_FORMAT_VERSION) {
    throw new PromptopsError(
      'invalid',
      'invalid_snapshot',
      `${path} is not a promptops SDK cache file (format ${CACHE_FORMAT} v${CACHE_FORMAT_VERSION})`,
      {
        fix: 'point cacheFile at a file the SDK owns, or delete it',
      },
    );
  }
  if (doc.url !== url) return undefined;
  const etag = typeof doc.etag === 'string' ? doc.etag : undefined;
  onEtag?.(etag);
  await loadDigest();
  return { snapshot: validateSnapshot(doc.snapshot, `cache file ${path}`), etag };
};

export const writeCacheFile = async (path: string, url: string, snapshot: Snapshot, etag?: string): Promise<void> => {
  const {
    fs: { mkdir, rename, rm, writeFile },
    path: { dirname },
  } = await nodeFs('cacheFile');
  const doc: CacheDocument = {
    format: CACHE_FORMAT,
    formatVersion: CACHE_FORMAT_VERSION,
    url,
    savedAt: new Date().toISOString(),
    ...(etag === undefined ? {} : { etag }),
    snapshot,
  };
  const temp = `${path}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  await mkdir(dirname(path), { recursive: true });
  try {
    await writeFile(temp, JSON.stringify(doc), { mode: 0o600 });
    await rename(temp, path);
  } catch (error) {
    await rm(temp, { force: true });
    throw new PromptopsError(
      'internal',
      'cache_write_failed',
      `cannot write cache file ${path}: ${(error as Error).message}`,
    );
  }
};
