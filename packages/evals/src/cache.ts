import { readFileSync } from 'node:fs';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { contentSha, type EvalProviderConfig } from '@promptops/core';

/**
 * The result cache: a provider's answer to one rendered input is paid for once.
 *
 * Key = sha256 of the canonical JSON of `{ kind: "output", v, prompt: <prompt version sha>, vars,
 * provider: { id, model, params } }`, where params leaves out what does not change the answer
 * (`apiKeyEnv`, `timeoutMs`, `maxRetries`, `pricing`) and keeps `baseUrl` (another server is another model).
 * The prompt sha and the vars decide the rendered input; assertions are not in the key, so editing an
 * assertion re-scores the stored output without a call, and editing a case's vars re-runs that case only.
 * Judge verdicts are cached the same way under `{ kind: "judge", judge: <judge prompt sha>, rubric, output,
 * provider }`. Entries hold the output, the latency of the original call and the token usage; cost is
 * recomputed from usage with the current prices.
 *
 * On disk: one small JSON file per entry, `<dir>/<key[0..2]>/<key>.json`, written to a temporary name
 * and renamed, so concurrent runs never see half an entry and no lock or database is needed.
 */

export interface CachedResult {
  readonly output: string;
  readonly latencyMs: number;
  readonly usage: { readonly inputTokens: number | null; readonly outputTokens: number | null };
}

export interface ResultCache {
  get(key: string): Promise<CachedResult | undefined>;
  set(key: string, value: CachedResult): Promise<void>;
}

export const DEFAULT_CACHE_DIR = '.promptops/cache/evals';

const IGNORED_PARAMS = new Set(['apiKeyEnv', 'timeoutMs', 'maxRetries', 'pricing']);
const CACHE_VERSION = 1;

const providerIdentity = (provider: EvalProviderConfig): unknown => ({
  id: provider.id,
  model: provider.model,
  params: Object.fromEntries(Object.entries(provider.params).filter(([key]) => !IGNORED_PARAMS.has(key))),
});

export const outputCacheKey = (input: {
  readonly promptSha: string;
  readonly vars: Readonly<Record<string, unknown>>;
  readonly provider: EvalProviderConfig;
}): string =>
  contentSha({
    kind: 'output',
    v: CACHE_VERSION,
    prompt: input.promptSha,
    vars: input.vars,
    provider: providerIdentity(input.provider),
  });

export const judgeCacheKey = (input: {
  readonly judgeSha: string;
  readonly rubric: string;
  readonly output: string;
  readonly provider: EvalProviderConfig;
}): string =>
  contentSha({
    kind: 'judge',
    v: CACHE_VERSION,
    judge: input.judgeSha,
    rubric: input.rubric,
    output: input.output,
    provider: providerIdentity(input.provider),
  });

const isCachedResult = (value: unknown): value is CachedResult => {
  if (value === null || typeof value !== 'object') return false;
  const entry = value as Record<string, unknown>;
  const usage = entry.usage as Record<string, unknown> | undefined;
  const tokens = (v: unknown): boolean => v === null || typeof v === 'number';
  return (
    typeof entry.output === 'string' &&
    typeof entry.latencyMs === 'number' &&
    usage !== null &&
    typeof usage === 'object' &&
    tokens(usage.inputTokens) &&
    tokens(usage.outputTokens)
  );
};

export const createMemoryCache = (): ResultCache & { readonly size: () => number } => {
  const entries = new Map<string, CachedResult>();
  return {
    get: (key) => Promise.resolve(entries.get(key)),
    set: (key, value) => {
      entries.set(key, value);
      return Promise.resolve();
    },
    size: () => entries.size,
  };
};

/** A cache in a folder; a missing, unreadable or foreign entry is a miss, never an error. */
export const createFileCache = (dir: string): ResultCache => {
  const pathOf = (key: string): string => join(dir, key.slice(0, 2), `${key}.json`);
  let sequence = 0;
  return {
    // A synchronous read: entries are a few hundred bytes, and a rerun reads hundreds of them, where the
    // four thread-pool round trips of an asynchronous read (open, stat, read, close) cost more than reading.
    get(key) {
      try {
        const value = JSON.parse(readFileSync(pathOf(key), 'utf8')) as unknown;
        return Promise.resolve(isCachedResult(value) ? value : undefined);
      } catch {
        return Promise.resolve(undefined);
      }
    },
    async set(key, value) {
      const path = pathOf(key);
      await mkdir(join(dir, key.slice(0, 2)), { recursive: true });
      sequence += 1;
      const temporary = `${path}.${process.pid}.${sequence}.tmp`;
      await writeFile(temporary, JSON.stringify(value));
      await rename(temporary, path);
    },
  };
};
