import { PromptopsError, actorNameOf } from '@promptops/core';
import type { Actor, Clock } from '../context.js';
import { BoundedCache } from '../bounded-cache.js';
import { effectiveRole, keyWorksAt } from '../access/roles.js';
import type { AccessStore } from '../access/store.js';
import type { ProjectRow, RegistryStore } from '../registry/store.js';
import { hashApiKey, hashesEqual, keyIdOf } from './keys.js';
import { AuthFailureLimiter } from './rate-limit.js';
import { RateLimitedError } from './rate-limited.js';

const TOUCH_INTERVAL_MS = 60_000;
const KEY_CACHE_SIZE = 10_000;
const KEY_FIX =
  'send an API key as "Authorization: Bearer <key>" (the CLI reads PROMPTOPS_API_KEY or .promptops/credentials.json)';

const unauthorized = (message: string): PromptopsError =>
  new PromptopsError('unauthorized', 'unauthorized', message, { fix: KEY_FIX });

/** Too many failed attempts from this address or for this key id: answered 429 with `Retry-After`. */
export class AuthRateLimitedError extends RateLimitedError {
  constructor(retryAfterSeconds: number) {
    super('too_many_auth_failures', 'too many failed authentication attempts', retryAfterSeconds, {
      fix: `wait ${retryAfterSeconds} s, then retry with a valid API key`,
    });
    this.name = 'AuthRateLimitedError';
  }
}

/** Why a presented key was refused (logged; the response names it only to whoever holds the whole key). */
type FailureReason = 'malformed' | 'unknown' | 'revoked' | 'not_a_member';

const NEW_KEY_FIX =
  'ask an admin for a new key (promptops keys create NAME --role ROLE), then use it (--api-key or PROMPTOPS_API_KEY)';

/** The refusal a caller sees: a key that matched a stored hash may learn what became of it, others may not. */
const refusalFor = (reason: FailureReason): PromptopsError => {
  if (reason === 'malformed') return unauthorized('the Authorization header is not "Bearer <key>"');
  if (reason === 'revoked') {
    return new PromptopsError(
      'unauthorized',
      'unauthorized',
      'the API key has been revoked (or replaced by a rotation whose grace period has ended)',
      { fix: NEW_KEY_FIX },
    );
  }
  if (reason === 'not_a_member') {
    return new PromptopsError(
      'unauthorized',
      'unauthorized',
      "the API key's user is no longer a member of the project",
      { fix: 'ask an admin to add the user back (promptops members add NAME --role ROLE), or for a key of your own' },
    );
  }
  return unauthorized('the API key is not valid');
};

class KeyRefused extends Error {
  constructor(readonly reason: FailureReason) {
    super(reason);
  }
}

/** What the auth hook passes about the request: the client address and a logger. */
export interface AuthRequest {
  readonly ip: string;
  readonly log: { warn(object: Record<string, unknown>, message: string): void };
}

interface CachedKey {
  /** The actor as of `actor.stamp`, handed out as is (never mutated) while the stamp holds. */
  readonly actor: Actor;
  /** When a rotated key's grace ends (ms), else null. */
  readonly stopsAt: number | null;
}

/**
 * Resolves a bearer token to an actor, and reads the project's change stamp (its newest audit seq).
 *
 * Every change to keys, memberships, labels and versions appends to the project's audit log in the same
 * transaction, so the stamp moves whenever anything a cache holds may have changed. A verified key is
 * cached with the stamp it was read at and reused only while the stamp is unchanged: one cheap indexed
 * read per request (synchronous on a SQLite file), and a revoked key (or a member's lowered role) takes effect with the next request on
 * every replica. Failed attempts are rate-limited per key id and per address (`rate-limit.ts`: a valid key
 * is never refused) and logged without the key.
 */
/** The stores authentication reads (and marks a key used in). */
export interface AuthStores {
  readonly registry: RegistryStore;
  readonly access: AccessStore;
}

export const createAuthenticator = (
  { registry, access }: AuthStores,
  clock: Clock,
  limiter: AuthFailureLimiter = new AuthFailureLimiter(),
) => {
  const touched = new Map<string, number>();
  // Projects are never renamed or deleted, so their rows can be cached for good.
  const projects = new BoundedCache<number, ProjectRow>(1000);
  // Only keys that verified are cached: random tokens cannot grow it.
  const keys = new BoundedCache<string, CachedKey>(KEY_CACHE_SIZE);

  const load = async (hash: string, now: number): Promise<{ actor: Omit<Actor, 'stamp'>; stopsAt: number | null }> => {
    const keyId = keyIdOf(hash);
    const row = await access.findKeyForAuth(keyId);
    if (!row || !hashesEqual(row.hash, hash)) throw new KeyRefused('unknown');
    if (!keyWorksAt(row, now)) throw new KeyRefused('revoked');
    const role = effectiveRole(row);
    if (role === null) throw new KeyRefused('not_a_member');
    const project = projects.get(row.projectId) ?? (await registry.getProject(row.projectId));
    if (!project) throw new KeyRefused('unknown');
    projects.set(project.id, project);
    return {
      actor: {
        projectId: project.id,
        projectName: project.name,
        role,
        keyId,
        name: actorNameOf({ name: row.name, user: row.userName }),
        user: row.userName,
        keyName: row.name,
        ...(row.tenant === null ? {} : { tenant: row.tenant }),
      },
      stopsAt: row.revokedAt === null ? null : Date.parse(row.revokedAt),
    };
  };

  const verify = async (hash: string, now: number): Promise<Actor> => {
    const cached = keys.get(hash);
    if (
      cached !== undefined &&
      (await registry.latestAuditSeq(cached.actor.projectId)) === cached.actor.stamp &&
      (cached.stopsAt === null || cached.stopsAt > now)
    ) {
      return cached.actor;
    }
    keys.delete(hash);
    const loaded = await load(hash, now);
    // Read the stamp after the key: a change committed in between only makes the entry stale sooner.
    const stamp = await registry.latestAuditSeq(loaded.actor.projectId);
    const actor: Actor = { ...loaded.actor, stamp };
    keys.set(hash, { actor, stopsAt: loaded.stopsAt });
    return actor;
  };

  const touch = (actor: Actor, now: number): Actor => {
    if ((touched.get(actor.keyId) ?? 0) + TOUCH_INTERVAL_MS < now) {
      touched.set(actor.keyId, now);
      void access.touchApiKey(actor.keyId, new Date(now).toISOString()).catch(() => undefined);
    }
    return actor;
  };

  /** A refusal: 401, or 429 when the address is blocked; a failing key from a blocked address waits first. */
  const refuse = (error: KeyRefused, keyId: string | null, request: AuthRequest, now: number, done: AuthDone): void => {
    const blocked = limiter.addressBlockedFor(request.ip, now) > 0;
    // Only a key that matched nothing counts against its key id: a revoked or suspended key may come back.
    limiter.recordFailure(error.reason === 'unknown' ? keyId : null, request.ip, now);
    request.log.warn({ auth: error.reason, keyId, address: request.ip, blocked }, 'authentication failed');
    if (!blocked) {
      return done(refusalFor(error.reason));
    }
    const answer = (): void =>
      done(new AuthRateLimitedError(limiter.addressBlockedFor(request.ip, clock.now().getTime()) || 1));
    if (error.reason === 'malformed' || limiter.failureDelayMs === 0) return answer();
    // A guess from a blocked address: each connection may try one key per delay (valid keys never wait).
    setTimeout(answer, limiter.failureDelayMs).unref();
  };

  const verifyOrRefuse = (hash: string, keyId: string, request: AuthRequest, now: number, done: AuthDone): void => {
    verify(hash, now).then(
      (actor) => done(null, touch(actor, now)),
      (error: unknown) => (error instanceof KeyRefused ? refuse(error, keyId, request, now, done) : done(error)),
    );
  };

  /**
   * Answers `done` with the actor or the refusal. A cached key that is still valid is checked against the
   * stamp without a single promise where the database answers it by callback (a SQLite file: one shared
   * read per turn of the event loop). Refusals before any lookup (no key, a blocked key id, no key from a
   * blocked address) answer at once.
   */
  return (authorization: string | undefined, request: AuthRequest, done: AuthDone): void => {
    const now = clock.now().getTime();
    if (authorization === undefined || authorization === '') {
      const retryAfter = limiter.addressBlockedFor(request.ip, now);
      return done(retryAfter > 0 ? new AuthRateLimitedError(retryAfter) : unauthorized('this route needs an API key'));
    }
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
    if (match === null) return refuse(new KeyRefused('malformed'), null, request, now, done);
    const hash = hashApiKey(match[1]!);
    // The key id is a prefix of the key's sha256: it names the key without revealing any of it.
    const keyId = keyIdOf(hash);
    const retryAfter = limiter.keyBlockedFor(keyId, now);
    if (retryAfter > 0) {
      request.log.warn({ auth: 'rate_limited', keyId, address: request.ip, retryAfter }, 'authentication refused');
      return done(new AuthRateLimitedError(retryAfter));
    }
    const cached = keys.get(hash);
    const readSoon = registry.latestAuditSeqSoon;
    if (cached === undefined || readSoon === undefined || (cached.stopsAt !== null && cached.stopsAt <= now)) {
      return verifyOrRefuse(hash, keyId, request, now, done);
    }
    readSoon(cached.actor.projectId, (error, stamp) => {
      if (error === null && stamp === cached.actor.stamp) done(null, touch(cached.actor, now));
      else verifyOrRefuse(hash, keyId, request, now, done);
    });
  };
};

/** How the authenticator answers: the actor, or the error to send (401, or 429 with `Retry-After`). */
export type AuthDone = (error: unknown, actor?: Actor) => void;
