import { DEFAULT_LABEL, outcome, parseRef, resolveFromSnapshot, snapshotFromLockfile } from './common.js';
import type { ExpectedError, Lockfile, Resolution, Snapshot } from './common.js';

/** A `get` as the SDKs take it: a name (or NAME@REF) and a label (absent: production). */
export interface Get {
  readonly name: string;
  readonly label?: string;
}

export interface ExpectedResolution {
  readonly name: string;
  readonly version: number;
  readonly sha: string;
  readonly label: string | null;
  readonly source: 'snapshot' | 'fallback';
}

export type ResolutionVector =
  { readonly get: Get; readonly expected: ExpectedResolution } | { readonly get: Get; readonly error: ExpectedError };

const NOT_FOUND: ExpectedError = { code: 'prompt_not_found' };

const fromResolution = (found: Resolution, source: ExpectedResolution['source']): ExpectedResolution => ({
  name: found.name,
  version: found.version,
  sha: found.sha,
  label: found.label,
  source,
});

/**
 * The lockfile fallback as the SDKs serve it: an entry locked from a label answers that label; an entry
 * locked by version or sha (label null) is what the build ships, so it answers any label; pins (`@v17`,
 * `@<sha prefix>`) answer when they name the entry.
 */
const fromLockfile = (lock: Lockfile, get: Get): Resolution | undefined => {
  const label = get.label ?? DEFAULT_LABEL;
  const found = resolveFromSnapshot(snapshotFromLockfile(lock), get.name, { label });
  if (found !== undefined) return found;
  const at = get.name.indexOf('@');
  const name = at === -1 ? get.name : get.name.slice(0, at);
  const entry = Object.hasOwn(lock.prompts, name) ? lock.prompts[name] : undefined;
  if (entry?.content === undefined || entry.label !== null) return undefined;
  const answer = (resolvedLabel: string | null): Resolution => ({
    name,
    version: entry.version,
    sha: entry.sha,
    label: resolvedLabel,
    content: entry.content!,
    variant: 'base',
    rolloutId: null,
    shadow: null,
  });
  if (at === -1) return answer(label);
  const ref = parseRef(get.name.slice(at + 1));
  if (ref.kind === 'label') return answer(ref.label);
  const matches = ref.kind === 'sha' ? entry.sha.startsWith(ref.prefix) : entry.version === ref.version;
  return matches ? answer(null) : undefined;
};

/** What `get` answers: the snapshot first, then the lockfile; a miss is `prompt_not_found`. */
export const expectGet = (get: Get, snapshot: Snapshot | undefined, lock?: Lockfile): ResolutionVector => {
  const result = outcome(() => {
    const label = get.label ?? DEFAULT_LABEL;
    const live = snapshot === undefined ? undefined : resolveFromSnapshot(snapshot, get.name, { label });
    if (live !== undefined) return fromResolution(live, 'snapshot');
    const fallback = lock === undefined ? undefined : fromLockfile(lock, get);
    return fallback === undefined ? undefined : fromResolution(fallback, 'fallback');
  });
  if (result.error !== undefined) return { get, error: result.error };
  return result.value === undefined ? { get, error: NOT_FOUND } : { get, expected: result.value };
};
