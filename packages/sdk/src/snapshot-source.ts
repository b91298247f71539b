import { PromptopsError } from '@promptops/core/errors';
import { type Snapshot } from '@promptops/core/resolve';
import { loadDigest } from './digest.js';
import type { Http, Revalidated } from './http.js';
import { validateSnapshot } from './snapshot-store.js';

/** Which prompts a client holds: those named, and those whose name starts with `prefix`. */
export interface SnapshotScope {
  readonly names?: readonly string[];
  readonly prefix?: string;
}

const invalidScope = (message: string): PromptopsError =>
  new PromptopsError('invalid', 'invalid_options', `createClient: scope.${message}`, {
    fix: "pass scope: { names: ['a', 'b'] } and/or { prefix: 'checkout/' }, or leave scope out for every prompt",
  });

/** `&names=…&prefix=…` for the snapshot and the change feed; empty for the whole project. */
export const scopeQuery = (scope: SnapshotScope | undefined): string => {
  if (scope === undefined) return '';
  const { names, prefix } = scope;
  if (names !== undefined && (!Array.isArray(names) || !names.every((name) => typeof name === 'string'))) {
    throw invalidScope('names must be an array of prompt names');
  }
  if (prefix !== undefined && (typeof prefix !== 'string' || prefix === '')) {
    throw invalidScope('prefix must be a non-empty string');
  }
  return (
    (names === undefined ? '' : `&names=${names.map(encodeURIComponent).join(',')}`) +
    (prefix === undefined ? '' : `&prefix=${encodeURIComponent(prefix)}`)
  );
};

/**
 * Where the client's snapshots come from: `GET /api/v1/snapshot`, compressed, and conditional on the
 * ETag of the snapshot the client holds. The ETag is sent only while the client holds exactly that
 * snapshot (same cursor: no change event applied since), so a 304 says the held snapshot is the
 * server's current one. A 200 is verified before anything of it is used, reusing the versions already
 * held (content-addressed: the same sha is the same content) so only new ones are hashed.
 */
export class SnapshotSource {
  #validator: { readonly etag: string; readonly cursor: number } | undefined;
  /** A request sent before its snapshot was verified (a cache file's), for the next `fetch` to use. */
  #early: { readonly etag: string | undefined; readonly answer: Promise<Revalidated<unknown>> } | undefined;

  private readonly path: string;

  constructor(
    private readonly http: Http,
    /** `scopeQuery`'s `&…` parameters, also for the stream and the long-poll. */
    readonly scope = '',
  ) {
    this.path = `/api/v1/snapshot${scope === '' ? '' : `?${scope.slice(1)}`}`;
  }

  /** The ETag of `snapshot` when the server gave one for exactly it (for the cache file). */
  etagOf(snapshot: Snapshot): string | undefined {
    return this.#validator?.cursor === snapshot.cursor ? this.#validator.etag : undefined;
  }

  /** A snapshot the client holds with the ETag it was served with (from the cache file). */
  remember(snapshot: Snapshot, etag: string | undefined): void {
    this.#validator = etag === undefined ? undefined : { etag, cursor: snapshot.cursor };
  }

  /**
   * Sends the conditional request for a snapshot about to be verified (a cache file's), so the network
   * round trip runs while its shas are checked; the next `fetch` takes the answer.
   */
  prefetch(etag: string | undefined, signal: AbortSignal): void {
    const answer = this.http.revalidate<unknown>(this.path, etag, signal);
    answer.catch(() => undefined); // `fetch` sees the failure; nobody else must
    this.#early = { etag, answer };
  }

  /** The server's snapshot, verified; `held` itself when the server answers that it is current (304). */
  async fetch(held: Snapshot, signal: AbortSignal): Promise<Snapshot> {
    const etag = this.etagOf(held);
    const early = this.#early;
    this.#early = undefined;
    const [first] = await Promise.all([
      early?.answer ?? this.http.revalidate<unknown>(this.path, etag, signal),
      loadDigest(), // node:crypto's digest for the verification, loaded while the request runs
    ]);
    // A 304 to the early request says nothing when what it named is not what we hold (a refused cache).
    const answer =
      first === undefined && early !== undefined && early.etag !== etag
        ? await this.http.revalidate<unknown>(this.path, etag, signal)
        : first;
    if (answer === undefined) return held;
    const snapshot = validateSnapshot(answer.data, `GET ${this.http.baseUrl}${this.path}`, held);
    this.#validator = answer.etag === null ? undefined : { etag: answer.etag, cursor: snapshot.cursor };
    return snapshot;
  }
}
