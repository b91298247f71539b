import type * as NodeFs from 'node:fs/promises';
import type * as NodePath from 'node:path';
import { PromptopsError } from '@promptops/core/errors';

/**
 * node:fs and node:path, imported on first use only: the cache file and a lockfile given as a path are
 * Node features, and importing them at load time would stop the SDK loading in other runtimes.
 */
export const nodeFs = async (feature: string): Promise<{ fs: typeof NodeFs; path: typeof NodePath }> => {
  try {
    const [fs, path] = await Promise.all([import('node:fs/promises'), import('node:path')]);
    return { fs, path };
  } catch (error) {
    throw new PromptopsError(
      'invalid',
      'unsupported_runtime',
      `${feature} needs node:fs, which this runtime lacks (${(error as Error).message})`,
      {
        fix: 'leave cacheFile out, and pass fallback.lockfile as a parsed Lockfile object instead of a path',
      },
    );
  }
};
